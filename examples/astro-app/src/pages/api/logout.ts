import type { APIRoute } from 'astro';
import { deleteSession, SESSION_COOKIE } from '../../lib/db';

export const POST: APIRoute = async ({ cookies, redirect }) => {
  const session = cookies.get(SESSION_COOKIE)?.value;
  if (session) await deleteSession(session);
  cookies.delete(SESSION_COOKIE, { path: '/' });
  return redirect('/', 303);
};
