export default defineEventHandler((event) => {
  return { user: sessionUser(event) ?? null }
})
