import { fail, redirect } from '@sveltejs/kit';
import { createProject, listProjects } from '$lib/server/db';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals }) => {
  if (!locals.user) redirect(303, '/login');
  return { projects: await listProjects(locals.user.id) };
};

export const actions = {
  create: async ({ request, locals }) => {
    if (!locals.user) redirect(303, '/login');
    const form = await request.formData();
    const name = String(form.get('name') ?? '').trim();
    if (!name) {
      return fail(400, { error: 'Give the project a name' });
    }
    const project = await createProject(locals.user.id, name);
    return { project };
  }
} satisfies Actions;
