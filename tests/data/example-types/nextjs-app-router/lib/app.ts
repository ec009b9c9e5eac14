export type User = { id: string; email: string }
export declare function requireUser(request: Request): Promise<User>
export declare const db: {
  project: {
    create(args: { data: { name: string; ownerId: string } }): Promise<{ id: string; name: string }>
  }
}
