// An in-memory store standing in for the app's database.
import { randomUUID } from 'node:crypto'

export type User = { id: string; email: string; password: string }
export type Link = { id: string; userId: string; url: string; title: string; archived: boolean }

const users = new Map<string, User>()
const sessions = new Map<string, string>() // session id -> user id
const links: Link[] = []

export function createUser(email: string, password: string): User | null {
  if ([...users.values()].some((u) => u.email === email)) return null
  const user = { id: randomUUID(), email, password }
  users.set(user.id, user)
  return user
}

export function verifyLogin(email: string, password: string): User | null {
  const user = [...users.values()].find((u) => u.email === email)
  return user && user.password === password ? user : null
}

export function startSession(userId: string): string {
  const sid = randomUUID()
  sessions.set(sid, userId)
  return sid
}

export function userForSession(sid: string): User | undefined {
  const id = sessions.get(sid)
  return id ? users.get(id) : undefined
}

export function endSession(sid: string) {
  sessions.delete(sid)
}

export function listLinks(userId: string): Link[] {
  return links.filter((l) => l.userId === userId && !l.archived)
}

export function saveLink(userId: string, url: string, title: string): Link {
  const link = { id: randomUUID(), userId, url, title, archived: false }
  links.push(link)
  return link
}

export function archiveLink(userId: string, id: string): Link | null {
  const link = links.find((l) => l.id === id && l.userId === userId)
  if (link) link.archived = true
  return link ?? null
}
