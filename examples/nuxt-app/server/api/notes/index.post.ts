export default defineEventHandler(async (event) => {
  const user = requireUser(event)
  const { title, body } = await readBody<{ title?: string; body?: string }>(event)
  if (!title?.trim()) {
    throw createError({ statusCode: 400, statusMessage: 'A note needs a title' })
  }
  const note = createNote(user.id, title.trim(), (body ?? '').trim())
  setResponseStatus(event, 201)
  return note
})
