import type { APIRoute } from 'astro';
import { subscribe } from '../../lib/db';

export const POST: APIRoute = async ({ request }) => {
  const body: { email?: unknown } = await request.json();
  const email = typeof body.email === 'string' ? body.email : '';
  if (!email.includes('@')) {
    return Response.json({ error: 'Give an email address' }, { status: 400 });
  }
  const added = await subscribe(email);
  return Response.json({ subscribed: true }, { status: added ? 201 : 200 });
};
