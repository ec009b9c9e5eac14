import { error, json } from '@sveltejs/kit';
import { setStarred } from '$lib/server/db';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = async ({ request, params, locals }) => {
  if (!locals.user) error(401, 'Sign in first');
  const body: { starred?: unknown } = await request.json();
  const project = await setStarred(locals.user.id, params.id, body.starred === true);
  if (!project) error(404, 'No such project');
  return json({ starred: project.starred });
};
