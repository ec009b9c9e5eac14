import { defineMiddleware } from 'astro:middleware';
import { SESSION_COOKIE, userForSession } from './lib/db';

// Every request learns who is signed in from the session cookie.
export const onRequest = defineMiddleware(async (context, next) => {
  const session = context.cookies.get(SESSION_COOKIE)?.value;
  context.locals.user = session ? await userForSession(session) : null;
  return next();
});
