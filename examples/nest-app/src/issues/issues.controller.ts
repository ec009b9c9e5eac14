import { BadRequestException, Body, Controller, Get, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common'
import { AuthGuard, type AuthedRequest } from '../auth/auth.guard'
import { IssuesService } from './issues.service'

@Controller('issues')
@UseGuards(AuthGuard)
export class IssuesController {
  constructor(private readonly issues: IssuesService) {}

  @Get()
  list(@Req() request: AuthedRequest) {
    return this.issues.list(request.user!.id)
  }

  @Post()
  open(@Req() request: AuthedRequest, @Body() body: { title?: string }) {
    const title = String(body.title ?? '').trim()
    if (!title) throw new BadRequestException('An issue needs a title')
    return this.issues.open(request.user!.id, title)
  }

  @Post(':id/close')
  @HttpCode(200)
  close(@Req() request: AuthedRequest, @Param('id') id: string) {
    return this.issues.close(request.user!.id, id)
  }

  // A route that fails, as real ones sometimes do.
  @Get('export')
  export() {
    throw new Error('The export service is unavailable')
  }
}
