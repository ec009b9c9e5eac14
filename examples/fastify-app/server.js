import Fastify from 'fastify'
import fastifyStatic from '@fastify/static'
import { fileURLToPath } from 'node:url'
import * as store from './lib/store.js'

const app = Fastify({ logger: true })

app.register(fastifyStatic, {
  root: fileURLToPath(new URL('./public', import.meta.url)),
})

// Authentication: a bearer token from /api/login puts the user on the request.
app.decorateRequest('user', null)
app.addHook('onRequest', async (request) => {
  const header = request.headers.authorization ?? ''
  if (header.startsWith('Bearer ')) {
    request.user = store.userForToken(header.slice('Bearer '.length))
  }
})

function requireUser(request, reply) {
  if (!request.user) {
    reply.code(401).send({ error: 'Sign in first' })
    return null
  }
  return request.user
}

app.post('/api/signup', async (request, reply) => {
  const { email, password } = request.body ?? {}
  if (!email || !password) return reply.code(400).send({ error: 'Email and password are required' })
  const user = store.createUser(String(email).toLowerCase(), String(password))
  if (!user) return reply.code(409).send({ error: 'That email is taken' })
  return reply.code(201).send({ token: store.issueToken(user.id), user: { id: user.id, email: user.email } })
})

app.post('/api/login', async (request, reply) => {
  const { email, password } = request.body ?? {}
  const user = store.verifyLogin(String(email ?? '').toLowerCase(), String(password ?? ''))
  if (!user) return reply.code(401).send({ error: 'Wrong email or password' })
  return { token: store.issueToken(user.id), user: { id: user.id, email: user.email } }
})

app.post('/api/logout', async (request) => {
  const header = request.headers.authorization ?? ''
  store.revokeToken(header.slice('Bearer '.length))
  return { ok: true }
})

app.get('/api/todos', async (request, reply) => {
  const user = requireUser(request, reply)
  if (!user) return reply
  return store.listTodos(user.id)
})

app.post('/api/todos', async (request, reply) => {
  const user = requireUser(request, reply)
  if (!user) return reply
  const title = String(request.body?.title ?? '').trim()
  if (!title) return reply.code(400).send({ error: 'A to-do needs a title' })
  const todo = store.addTodo(user.id, title)
  return reply.code(201).send(todo)
})

app.post('/api/todos/:id/complete', async (request, reply) => {
  const user = requireUser(request, reply)
  if (!user) return reply
  const todo = store.completeTodo(user.id, request.params.id)
  if (!todo) return reply.code(404).send({ error: 'No such to-do' })
  return todo
})

// A route that fails, as real ones sometimes do.
app.get('/api/report', async () => {
  throw new Error('The report service is unavailable')
})

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
