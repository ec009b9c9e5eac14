// An in-memory store standing in for the app's database and session table.

/** The cookie that holds the session id. */
export const SESSION_COOKIE = 'session';

export type User = { id: string; email: string; name: string };
export type Project = { id: string; ownerId: string; name: string; starred: boolean };

const users: (User & { password: string })[] = [
  { id: 'usr_1', email: 'ada@example.com', name: 'Ada Lovelace', password: 'lovelace' }
];
const projects: Project[] = [
  { id: 'prj_1', ownerId: 'usr_1', name: 'Analytical Engine', starred: false }
];
const sessions = new Map<string, string>();

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

export async function listProjects(ownerId: string): Promise<Project[]> {
  return projects.filter((p) => p.ownerId === ownerId);
}

export async function createProject(ownerId: string, name: string): Promise<Project> {
  const project = { id: `prj_${projects.length + 1}`, ownerId, name, starred: false };
  projects.push(project);
  return project;
}

export async function setStarred(ownerId: string, id: string, starred: boolean): Promise<Project | null> {
  const project = projects.find((p) => p.id === id && p.ownerId === ownerId);
  if (project) project.starred = starred;
  return project ?? null;
}

/** A CSV summary of the user's projects. */
export async function projectReport(ownerId: string): Promise<string> {
  const rows = (await listProjects(ownerId)).map((p) => [p.id, p.name, String(p.starred)]);
  // TODO: the export format is still being decided.
  throw new Error(`Project report is not implemented yet (${rows.length} rows)`);
}
