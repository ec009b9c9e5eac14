import { Injectable } from '@angular/core'

export interface User {
  id: string
  email: string
}

@Injectable({ providedIn: 'root' })
export class ApiService {
  async login(email: string, _password: string): Promise<User> {
    return { id: 'u1', email }
  }
  async logout(): Promise<void> {}
  async createProject(name: string): Promise<{ id: string; name: string }> {
    return { id: 'p1', name }
  }
}
