export default defineEventHandler(async (event) => {
  const { email, password } = await readBody<{ email?: string; password?: string }>(event)
  const account = verifyLogin(email ?? '', password ?? '')
  if (!account) {
    throw createError({ statusCode: 401, statusMessage: 'Wrong email or password' })
  }
  setCookie(event, SESSION_COOKIE, openSession(account.id), { httpOnly: true, sameSite: 'lax', path: '/' })
  const user = { id: account.id, email: account.email, name: account.name }
  return { user }
})
