export type User = { id: string; email: string }
export declare function sendInvite(form: FormData): Promise<{ role: string }>
export declare const api: {
  login(email: string, password: string): Promise<User>
  logout(): Promise<void>
}
