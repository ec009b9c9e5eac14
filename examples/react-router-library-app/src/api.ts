// Stands in for the app's backend: the same calls a REST client would make, with
// the data kept in localStorage so the sample runs without a server.

export interface User {
  id: string
  email: string
  name: string
}

export interface Note {
  id: string
  text: string
  pinned: boolean
}

const ACCOUNTS = [{ id: 'usr_1', email: 'ada@example.com', name: 'Ada', password: 'lovelace' }]

const pause = () => new Promise((resolve) => setTimeout(resolve, 150))

function notesKey(userId: string) {
  return `team-notes:notes:${userId}`
}

function load(userId: string): Note[] {
  const raw = localStorage.getItem(notesKey(userId))
  return raw ? (JSON.parse(raw) as Note[]) : []
}

function save(userId: string, notes: Note[]) {
  localStorage.setItem(notesKey(userId), JSON.stringify(notes))
}

export async function login(email: string, password: string): Promise<User> {
  await pause()
  const account = ACCOUNTS.find((a) => a.email === email.trim().toLowerCase())
  if (!account || account.password !== password) {
    throw new Error('Wrong email or password')
  }
  return { id: account.id, email: account.email, name: account.name }
}

export async function listNotes(userId: string): Promise<Note[]> {
  await pause()
  return load(userId)
}

export async function createNote(userId: string, text: string): Promise<Note> {
  await pause()
  if (!text.trim()) throw new Error('A note needs some text')
  const note = { id: `nt_${crypto.randomUUID().slice(0, 8)}`, text: text.trim(), pinned: false }
  save(userId, [...load(userId), note])
  return note
}

export async function setPinned(userId: string, noteId: string, pinned: boolean): Promise<Note> {
  await pause()
  const notes = load(userId)
  const note = notes.find((n) => n.id === noteId)
  if (!note) throw new Error('No such note')
  note.pinned = pinned
  save(userId, notes)
  return note
}
