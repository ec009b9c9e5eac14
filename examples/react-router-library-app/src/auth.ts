import * as api from './api'
import type { User } from './api'

const STORAGE_KEY = 'team-notes:user'

let current: User | null = null

/** The signed-in user, or null. */
export function currentUser(): User | null {
  return current
}

/** Reads the session a previous visit stored. */
export function restoreSession() {
  const raw = localStorage.getItem(STORAGE_KEY)
  if (raw) {
    current = JSON.parse(raw) as User
  }
}

export async function login(email: string, password: string): Promise<User> {
  const user = await api.login(email, password)
  localStorage.setItem(STORAGE_KEY, JSON.stringify(user))
  current = user
  return user
}

export function logout() {
  localStorage.removeItem(STORAGE_KEY)
  current = null
}
