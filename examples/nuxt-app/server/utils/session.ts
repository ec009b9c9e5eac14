import type { H3Event } from 'h3'

export const SESSION_COOKIE = 'notes_session'

/** The signed-in account as the client may see it, or undefined. */
export function sessionUser(event: H3Event) {
  const account = accountForSession(getCookie(event, SESSION_COOKIE))
  return account ? { id: account.id, email: account.email, name: account.name } : undefined
}

/** The signed-in account, or a 401. */
export function requireUser(event: H3Event) {
  const user = sessionUser(event)
  if (!user) {
    throw createError({ statusCode: 401, statusMessage: 'Sign in first' })
  }
  return user
}
