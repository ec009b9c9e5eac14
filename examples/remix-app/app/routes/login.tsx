import type { ActionFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, useActionData, useNavigation } from "@remix-run/react";
import { verifyLogin } from "../lib/db.server";
import { commitSession, getSession } from "../sessions.server";

export const meta: MetaFunction = () => [{ title: "Sign in · Tracker" }];

export async function action({ request }: ActionFunctionArgs) {
  const form = await request.formData();
  const email = String(form.get("email") ?? "");
  const password = String(form.get("password") ?? "");
  const user = await verifyLogin(email, password);
  if (!user) {
    return data({ error: "Wrong email or password" }, { status: 400 });
  }
  const session = await getSession(request.headers.get("Cookie"));
  session.set("userId", user.id);
  return redirect("/projects", {
    headers: { "Set-Cookie": await commitSession(session) },
  });
}

export default function Login() {
  const actionData = useActionData<typeof action>();
  const navigation = useNavigation();
  return (
    <section>
      <h1>Sign in</h1>
      <Form method="post">
        <label>
          Email <input name="email" type="email" required />
        </label>
        <label>
          Password <input name="password" type="password" required />
        </label>
        {actionData?.error ? <p role="alert">{actionData.error}</p> : null}
        <button type="submit" disabled={navigation.state === "submitting"}>
          Sign in
        </button>
      </Form>
    </section>
  );
}
