export declare const db: {
  todos: { create(data: { title: string; userId?: string }): Promise<{ id: string }> }
  users: { create(data: unknown): Promise<{ id: string; email: string }> }
}
