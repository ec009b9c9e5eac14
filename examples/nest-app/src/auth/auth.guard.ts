import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common'
import { AuthService, type User } from './auth.service'

export interface AuthedRequest {
  headers: Record<string, string | string[] | undefined>
  user?: User
}

export function bearerToken(request: AuthedRequest): string {
  const header = request.headers.authorization
  return typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : ''
}

// Puts the signed-in user on the request, or answers 401.
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(private readonly auth: AuthService) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<AuthedRequest>()
    const user = this.auth.userForToken(bearerToken(request))
    if (!user) throw new UnauthorizedException('Sign in first')
    request.user = user
    return true
  }
}
