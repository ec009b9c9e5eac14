import { redirect } from '@sveltejs/kit';
import { deleteSession, SESSION_COOKIE } from '$lib/server/db';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = () => {
  redirect(303, '/');
};

export const actions = {
  default: async ({ cookies }) => {
    const session = cookies.get(SESSION_COOKIE);
    if (session) await deleteSession(session);
    cookies.delete(SESSION_COOKIE, { path: '/' });
    redirect(303, '/');
  }
} satisfies Actions;
