export interface User {
  id: string
  email: string
}

export const api = {
  async signIn(email: string, _password: string): Promise<User> {
    return { id: 'u1', email }
  },
  async signOut(): Promise<void> {},
  async createProject(name: string): Promise<{ id: string; name: string }> {
    return { id: 'p1', name }
  },
}
