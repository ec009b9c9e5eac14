import { error } from '@sveltejs/kit';
import { projectReport } from '$lib/server/db';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ locals }) => {
  if (!locals.user) error(401, 'Sign in first');
  return new Response(await projectReport(locals.user.id), {
    headers: { 'content-type': 'text/csv' }
  });
};
