import { ConflictException, Injectable, UnauthorizedException } from '@nestjs/common'
import { randomUUID } from 'node:crypto'

export interface User {
  id: string
  email: string
  password: string
}

// Users and tokens in memory, standing in for the app's database.
@Injectable()
export class AuthService {
  private readonly users = new Map<string, User>()
  private readonly tokens = new Map<string, string>() // token -> user id

  signup(email: string, password: string) {
    if ([...this.users.values()].some((u) => u.email === email)) {
      throw new ConflictException('That email is taken')
    }
    const user = { id: randomUUID(), email, password }
    this.users.set(user.id, user)
    return this.session(user)
  }

  login(email: string, password: string) {
    const user = [...this.users.values()].find((u) => u.email === email)
    if (!user || user.password !== password) {
      throw new UnauthorizedException('Wrong email or password')
    }
    return this.session(user)
  }

  logout(token: string) {
    this.tokens.delete(token)
  }

  userForToken(token: string): User | undefined {
    const id = this.tokens.get(token)
    return id ? this.users.get(id) : undefined
  }

  private session(user: User) {
    const token = randomUUID()
    this.tokens.set(token, user.id)
    return { token, user: { id: user.id, email: user.email } }
  }
}
