import { ref } from 'vue'
import * as api from './api'
import type { User } from './api'

const STORAGE_KEY = 'reading-list:user'

/** The signed-in user, or null. */
export const currentUser = ref<User | null>(null)

/** Reads the session a previous visit stored. */
export function restoreSession() {
  const raw = localStorage.getItem(STORAGE_KEY)
  if (raw) {
    currentUser.value = JSON.parse(raw) as User
  }
}

export async function login(email: string, password: string): Promise<User> {
  const user = await api.login(email, password)
  localStorage.setItem(STORAGE_KEY, JSON.stringify(user))
  currentUser.value = user
  return user
}

export function logout() {
  localStorage.removeItem(STORAGE_KEY)
  currentUser.value = null
}
