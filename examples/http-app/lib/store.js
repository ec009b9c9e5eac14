// An in-memory store standing in for the app's database.
import { randomUUID } from 'node:crypto'

const users = new Map() // id -> { id, email, password }
const sessions = new Map() // session id -> user id
const polls = [] // { id, userId, question, votes: { yes, no } }

export function createUser(email, password) {
  if ([...users.values()].some((u) => u.email === email)) return null
  const user = { id: randomUUID(), email, password }
  users.set(user.id, user)
  return user
}

export function verifyLogin(email, password) {
  const user = [...users.values()].find((u) => u.email === email)
  return user && user.password === password ? user : null
}

export function startSession(userId) {
  const sid = randomUUID()
  sessions.set(sid, userId)
  return sid
}

export function userForSession(sid) {
  const id = sid ? sessions.get(sid) : undefined
  return id ? users.get(id) ?? null : null
}

export function endSession(sid) {
  sessions.delete(sid)
}

export function listPolls() {
  return polls
}

export function createPoll(userId, question) {
  const poll = { id: randomUUID(), userId, question, votes: { yes: 0, no: 0 } }
  polls.push(poll)
  return poll
}

export function vote(id, answer) {
  const poll = polls.find((p) => p.id === id)
  if (!poll || !(answer in poll.votes)) return null
  poll.votes[answer] += 1
  return poll
}
