import { Module } from '@nestjs/common'
import { AppController } from './app.controller'
import { AuthController } from './auth/auth.controller'
import { AuthService } from './auth/auth.service'
import { IssuesController } from './issues/issues.controller'
import { IssuesService } from './issues/issues.service'

@Module({
  controllers: [AppController, AuthController, IssuesController],
  providers: [AuthService, IssuesService],
})
export class AppModule {}
