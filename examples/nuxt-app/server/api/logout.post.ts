export default defineEventHandler((event) => {
  const id = getCookie(event, SESSION_COOKIE)
  if (id) closeSession(id)
  deleteCookie(event, SESSION_COOKIE, { path: '/' })
  return { ok: true }
})
