// An in-memory store standing in for the app's database.
import { randomUUID } from 'node:crypto'

export interface Account {
  id: string
  email: string
  name: string
  password: string
}

export interface Note {
  id: string
  ownerId: string
  title: string
  body: string
}

const accounts: Account[] = [{ id: 'usr_1', email: 'ada@example.com', name: 'Ada', password: 'lovelace' }]
const sessions = new Map<string, string>()
const notes: Note[] = []

export function verifyLogin(email: string, password: string) {
  const account = accounts.find((a) => a.email === email.trim().toLowerCase())
  return account && account.password === password ? account : undefined
}

export function openSession(userId: string) {
  const id = randomUUID()
  sessions.set(id, userId)
  return id
}

export function closeSession(id: string) {
  sessions.delete(id)
}

export function accountForSession(id: string | undefined) {
  const userId = id ? sessions.get(id) : undefined
  return accounts.find((a) => a.id === userId)
}

export function notesOf(ownerId: string) {
  return notes.filter((n) => n.ownerId === ownerId)
}

export function createNote(ownerId: string, title: string, body: string) {
  const note = { id: `note_${randomUUID().slice(0, 8)}`, ownerId, title, body }
  notes.push(note)
  return note
}
