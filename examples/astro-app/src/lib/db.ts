// An in-memory store standing in for the site's database and session table.

/** The cookie that holds the session id. */
export const SESSION_COOKIE = 'session';

export type User = { id: string; email: string; name: string };
export type Post = { slug: string; title: string; summary: string };

const users: (User & { password: string })[] = [
  { id: 'usr_1', email: 'ada@example.com', name: 'Ada Lovelace', password: 'lovelace' },
];
const sessions = new Map<string, string>();
const subscribers = new Set<string>();

export const posts: Post[] = [
  { slug: 'engines', title: 'Notes on the Analytical Engine', summary: 'What the engine might do beyond numbers.' },
  { slug: 'bernoulli', title: 'Computing Bernoulli numbers', summary: 'A step-by-step program, note G.' },
];

export async function verifyLogin(email: string, password: string): Promise<User | null> {
  const user = users.find((u) => u.email === email.trim().toLowerCase());
  if (!user || user.password !== password) return null;
  return { id: user.id, email: user.email, name: user.name };
}

export async function createSession(userId: string): Promise<string> {
  const id = crypto.randomUUID();
  sessions.set(id, userId);
  return id;
}

export async function deleteSession(id: string): Promise<void> {
  sessions.delete(id);
}

export async function userForSession(id: string): Promise<User | null> {
  const user = users.find((u) => u.id === sessions.get(id));
  return user ? { id: user.id, email: user.email, name: user.name } : null;
}

/** Adds `email` to the newsletter; false when it was already there. */
export async function subscribe(email: string): Promise<boolean> {
  const key = email.trim().toLowerCase();
  if (subscribers.has(key)) return false;
  subscribers.add(key);
  return true;
}
