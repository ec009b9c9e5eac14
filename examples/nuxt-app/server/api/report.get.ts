// The weekly report is not built yet: this route fails, as unfinished code does.
export default defineEventHandler((event) => {
  requireUser(event)
  throw new Error('the weekly report is not implemented')
})
