// An in-memory store standing in for the app's database.
import { randomUUID } from 'node:crypto'

const users = new Map() // id -> { id, email, password }
const sessions = new Map() // session id -> user id
const habits = [] // { id, userId, name, streak }

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
  const id = sessions.get(sid)
  return id ? users.get(id) ?? null : null
}

export function endSession(sid) {
  sessions.delete(sid)
}

export function listHabits(userId) {
  return habits.filter((h) => h.userId === userId)
}

export function addHabit(userId, name) {
  const habit = { id: randomUUID(), userId, name, streak: 0 }
  habits.push(habit)
  return habit
}

export function checkIn(userId, id) {
  const habit = habits.find((h) => h.id === id && h.userId === userId)
  if (habit) habit.streak += 1
  return habit ?? null
}
