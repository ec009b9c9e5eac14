// What an auth middleware (passport and the like) adds to Express's request.
declare global {
  namespace Express {
    interface Request {
      user?: { id: string }
    }
  }
}

export {}
