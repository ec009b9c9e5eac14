export interface User {
  id: string
  email: string
  name: string
}

/** The signed-in user (read from the session cookie on the server render), login and logout. */
export function useAuth() {
  const user = useState<User | null>('user', () => null)

  async function refresh() {
    const { user: current } = await $fetch('/api/me', { headers: useRequestHeaders(['cookie']) })
    user.value = current
  }

  async function login(email: string, password: string) {
    const { user: signedIn } = await $fetch('/api/login', { method: 'POST', body: { email, password } })
    user.value = signedIn
    return signedIn
  }

  async function logout() {
    await $fetch('/api/logout', { method: 'POST' })
    user.value = null
  }

  return { user, refresh, login, logout }
}
