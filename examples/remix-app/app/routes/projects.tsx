import { useState } from "react";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { createProject, listProjects, type Project } from "../lib/db.server";
import { requireUser } from "../sessions.server";

export const meta: MetaFunction = () => [{ title: "Projects · Tracker" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await requireUser(request);
  return { projects: await listProjects(user.id) };
}

export async function action({ request }: ActionFunctionArgs) {
  const user = await requireUser(request);
  const form = await request.formData();
  const name = String(form.get("name") ?? "").trim();
  if (!name) {
    return data({ error: "Give the project a name" }, { status: 400 });
  }
  const project = await createProject(user.id, name);
  return { project };
}

function StarButton({ project }: { project: Project }) {
  const [starred, setStarred] = useState(project.starred);
  const [error, setError] = useState<string | null>(null);

  async function toggle() {
    try {
      const res = await fetch(`/api/projects/${project.id}/star`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ starred: !starred }),
      });
      if (!res.ok) throw new Error(`Star failed with ${res.status}`);
      const body: { starred: boolean } = await res.json();
      setStarred(body.starred);
    } catch (err) {
      setError("Could not update the star, try again");
    }
  }

  return (
    <>
      <button type="button" onClick={toggle} aria-pressed={starred}>
        {starred ? "★" : "☆"}
      </button>
      {error ? <span role="alert">{error}</span> : null}
    </>
  );
}

export default function Projects() {
  const { projects } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  return (
    <section>
      <h1>Your projects</h1>
      <ul>
        {projects.map((project) => (
          <li key={project.id}>
            {project.name} <StarButton project={project} />
          </li>
        ))}
      </ul>
      <Form method="post">
        <label>
          New project <input name="name" required />
        </label>
        {actionData && "error" in actionData ? <p role="alert">{actionData.error}</p> : null}
        <button type="submit">Create</button>
      </Form>
    </section>
  );
}
