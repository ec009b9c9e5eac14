import { Injectable, NotFoundException } from '@nestjs/common'
import { randomUUID } from 'node:crypto'

export interface Issue {
  id: string
  userId: string
  title: string
  closed: boolean
}

@Injectable()
export class IssuesService {
  private readonly issues: Issue[] = []

  list(userId: string) {
    return this.issues.filter((i) => i.userId === userId)
  }

  open(userId: string, title: string) {
    const issue = { id: randomUUID(), userId, title, closed: false }
    this.issues.push(issue)
    return issue
  }

  close(userId: string, id: string) {
    const issue = this.issues.find((i) => i.id === id && i.userId === userId)
    if (!issue) throw new NotFoundException('No such issue')
    issue.closed = true
    return issue
  }
}
