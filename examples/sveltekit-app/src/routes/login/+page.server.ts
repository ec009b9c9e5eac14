import { fail, redirect } from '@sveltejs/kit';
import { createSession, SESSION_COOKIE, verifyLogin } from '$lib/server/db';
import type { Actions } from './$types';

export const actions = {
  default: async ({ request, cookies }) => {
    const form = await request.formData();
    const email = String(form.get('email') ?? '');
    const user = await verifyLogin(email, String(form.get('password') ?? ''));
    if (!user) {
      return fail(400, { email, error: 'Wrong email or password' });
    }
    cookies.set(SESSION_COOKIE, await createSession(user.id), {
      path: '/',
      httpOnly: true,
      sameSite: 'lax'
    });
    redirect(303, '/projects');
  }
} satisfies Actions;
