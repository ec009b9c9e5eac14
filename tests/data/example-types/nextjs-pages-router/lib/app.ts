import type { NextApiRequest } from 'next'

export type User = { id: string; email: string }
export type SignupValues = { email: string; password: string; plan: string }
export declare function requireUser(req: NextApiRequest): Promise<User>
export declare function createOrder(
  userId: string,
  items: unknown,
): Promise<{ id: string; items: unknown[] }>
export declare function signUp(values: SignupValues): Promise<User>
