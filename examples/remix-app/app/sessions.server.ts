import { createCookieSessionStorage, redirect } from "@remix-run/node";
import { findUser, type User } from "./lib/db.server";

type SessionData = { userId: string };

const { getSession, commitSession, destroySession } =
  createCookieSessionStorage<SessionData>({
    cookie: {
      name: "__session",
      httpOnly: true,
      sameSite: "lax",
      path: "/",
      secrets: [process.env.SESSION_SECRET ?? "dev-only-secret"],
      secure: process.env.NODE_ENV === "production",
    },
  });

export { getSession, commitSession, destroySession };

/** The signed-in user, or null. */
export async function currentUser(request: Request): Promise<User | null> {
  const session = await getSession(request.headers.get("Cookie"));
  const userId = session.get("userId");
  return userId ? findUser(userId) : null;
}

/** The signed-in user; anyone else is sent to the login page. */
export async function requireUser(request: Request): Promise<User> {
  const user = await currentUser(request);
  if (!user) throw redirect("/login");
  return user;
}
