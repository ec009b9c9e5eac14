// An in-memory store standing in for the app's database.
import { randomUUID } from 'node:crypto'

const users = new Map() // id -> { id, email, password }
const tokens = new Map() // token -> user id
const todos = [] // { id, userId, title, done }

export function createUser(email, password) {
  const existing = [...users.values()].find((u) => u.email === email)
  if (existing) return null
  const user = { id: randomUUID(), email, password }
  users.set(user.id, user)
  return user
}

export function verifyLogin(email, password) {
  const user = [...users.values()].find((u) => u.email === email)
  return user && user.password === password ? user : null
}

export function issueToken(userId) {
  const token = randomUUID()
  tokens.set(token, userId)
  return token
}

export function userForToken(token) {
  const id = tokens.get(token)
  return id ? users.get(id) ?? null : null
}

export function revokeToken(token) {
  tokens.delete(token)
}

export function listTodos(userId) {
  return todos.filter((t) => t.userId === userId)
}

export function addTodo(userId, title) {
  const todo = { id: randomUUID(), userId, title, done: false }
  todos.push(todo)
  return todo
}

export function completeTodo(userId, id) {
  const todo = todos.find((t) => t.id === id && t.userId === userId)
  if (todo) todo.done = true
  return todo ?? null
}
