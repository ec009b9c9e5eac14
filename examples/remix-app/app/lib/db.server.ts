// An in-memory store standing in for the app's database.

export type User = { id: string; email: string; name: string; password: string };
export type Project = { id: string; ownerId: string; name: string; starred: boolean };

const users: User[] = [
  { id: "usr_1", email: "ada@example.com", name: "Ada Lovelace", password: "lovelace" },
];
const projects: Project[] = [
  { id: "prj_1", ownerId: "usr_1", name: "Analytical Engine", starred: false },
];

export async function findUser(id: string): Promise<User | null> {
  return users.find((u) => u.id === id) ?? null;
}

export async function verifyLogin(email: string, password: string): Promise<User | null> {
  const user = users.find((u) => u.email === email.trim().toLowerCase());
  return user && user.password === password ? user : null;
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
