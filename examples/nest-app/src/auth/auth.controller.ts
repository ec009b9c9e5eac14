import { BadRequestException, Body, Controller, Get, HttpCode, Post, Req, UseGuards } from '@nestjs/common'
import { AuthGuard, type AuthedRequest, bearerToken } from './auth.guard'
import { AuthService } from './auth.service'

interface Credentials {
  email?: string
  password?: string
}

function credentials(body: Credentials) {
  const email = String(body.email ?? '').trim().toLowerCase()
  const password = String(body.password ?? '')
  if (!email || !password) throw new BadRequestException('Email and password are required')
  return { email, password }
}

@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('signup')
  signup(@Body() body: Credentials) {
    const { email, password } = credentials(body)
    return this.auth.signup(email, password)
  }

  @Post('login')
  @HttpCode(200)
  login(@Body() body: Credentials) {
    const { email, password } = credentials(body)
    return this.auth.login(email, password)
  }

  @Post('logout')
  @HttpCode(200)
  logout(@Req() request: AuthedRequest) {
    this.auth.logout(bearerToken(request))
    return { ok: true }
  }

  @Get('me')
  @UseGuards(AuthGuard)
  me(@Req() request: AuthedRequest) {
    const user = request.user!
    return { id: user.id, email: user.email }
  }
}
