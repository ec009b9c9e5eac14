import Koa from 'koa'
import Router from '@koa/router'
import { bodyParser } from '@koa/bodyparser'
import * as store from './lib/store.js'
import { habitList, signedOut } from './lib/views.js'

export const app = new Koa()
// Signs the session cookie; set SESSION_KEYS in production.
app.keys = (process.env.SESSION_KEYS ?? 'dev-only-session-key').split(',')

// Errors: a JSON or page answer for the user, and the error on to app.on('error').
app.use(async (ctx, next) => {
  try {
    await next()
  } catch (err) {
    ctx.status = err.status ?? 500
    ctx.body = ctx.status >= 500 ? { error: 'Something went wrong' } : { error: err.message }
    if (ctx.status >= 500) ctx.app.emit('error', err, ctx)
  }
})

app.use(bodyParser())

// Authentication: the signed session cookie from /login puts the user on ctx.state.
app.use(async (ctx, next) => {
  const sid = ctx.cookies.get('sid', { signed: true })
  ctx.state.user = sid ? store.userForSession(sid) : null
  await next()
})

const router = new Router()

function credentials(ctx) {
  const { email, password } = ctx.request.body ?? {}
  return { email: String(email ?? '').trim().toLowerCase(), password: String(password ?? '') }
}

function startSession(ctx, user) {
  ctx.cookies.set('sid', store.startSession(user.id), { signed: true, httpOnly: true, sameSite: 'lax' })
  ctx.redirect('/')
}

function requireUser(ctx) {
  if (!ctx.state.user) ctx.throw(401, 'Sign in first')
  return ctx.state.user
}

router.get('/', (ctx) => {
  const user = ctx.state.user
  ctx.body = user ? habitList(user, store.listHabits(user.id)) : signedOut()
})

router.post('/signup', (ctx) => {
  const { email, password } = credentials(ctx)
  if (!email || !password) ctx.throw(400, 'Email and password are required')
  const user = store.createUser(email, password)
  if (!user) ctx.throw(409, 'That email is taken')
  startSession(ctx, user)
})

router.post('/login', (ctx) => {
  const { email, password } = credentials(ctx)
  const user = store.verifyLogin(email, password)
  if (!user) ctx.throw(401, 'Wrong email or password')
  startSession(ctx, user)
})

router.post('/logout', (ctx) => {
  const sid = ctx.cookies.get('sid', { signed: true })
  if (sid) store.endSession(sid)
  ctx.cookies.set('sid', null)
  ctx.redirect('/')
})

router.post('/habits', (ctx) => {
  const user = requireUser(ctx)
  const name = String(ctx.request.body?.name ?? '').trim()
  if (!name) ctx.throw(400, 'A habit needs a name')
  store.addHabit(user.id, name)
  ctx.redirect('/')
})

router.post('/habits/:id/check-in', (ctx) => {
  const user = requireUser(ctx)
  const habit = store.checkIn(user.id, ctx.params.id)
  if (!habit) ctx.throw(404, 'No such habit')
  ctx.redirect('/')
})

// The JSON API the page's scripts (and other clients) use.
router.get('/api/me', (ctx) => {
  const user = requireUser(ctx)
  ctx.body = { id: user.id, email: user.email }
})

router.get('/api/habits', (ctx) => {
  ctx.body = store.listHabits(requireUser(ctx).id)
})

// A route that fails, as real ones sometimes do.
router.get('/api/export', () => {
  throw new Error('The export service is unavailable')
})

app.use(router.routes()).use(router.allowedMethods())
