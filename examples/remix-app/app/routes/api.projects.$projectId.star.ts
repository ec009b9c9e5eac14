import type { ActionFunctionArgs } from "@remix-run/node";
import { setStarred } from "../lib/db.server";
import { requireUser } from "../sessions.server";

export async function action({ request, params }: ActionFunctionArgs) {
  const user = await requireUser(request);
  const body: { starred?: unknown } = await request.json();
  const project = await setStarred(user.id, params.projectId ?? "", body.starred === true);
  if (!project) {
    return Response.json({ error: "No such project" }, { status: 404 });
  }
  return Response.json({ starred: project.starred });
}
