import type { Handle } from '@sveltejs/kit';
import { SESSION_COOKIE, userForSession } from '$lib/server/db';

// Every request learns who is signed in from the session cookie.
export const handle: Handle = async ({ event, resolve }) => {
  const session = event.cookies.get(SESSION_COOKIE);
  event.locals.user = session ? await userForSession(session) : null;
  return resolve(event);
};
