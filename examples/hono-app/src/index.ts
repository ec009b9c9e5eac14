import { serve } from '@hono/node-server'
import { Hono, type Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import * as store from './store.js'
import { readingList, signedOut } from './views.js'

type Env = { Variables: { user: store.User | undefined } }

const app = new Hono<Env>()

// Authentication: the session cookie from /login puts the user on the context.
app.use('*', async (c, next) => {
  const sid = getCookie(c, 'sid')
  c.set('user', sid ? store.userForSession(sid) : undefined)
  await next()
})

async function credentials(c: Context<Env>) {
  const form = await c.req.parseBody()
  return {
    email: String(form.email ?? '').trim().toLowerCase(),
    password: String(form.password ?? ''),
  }
}

app.get('/', (c) => {
  const user = c.get('user')
  return c.html(user ? readingList(user, store.listLinks(user.id)) : signedOut())
})

app.post('/signup', async (c) => {
  const { email, password } = await credentials(c)
  if (!email || !password) return c.html(signedOut('Email and password are required'), 400)
  const user = store.createUser(email, password)
  if (!user) return c.html(signedOut('That email is taken'), 409)
  setCookie(c, 'sid', store.startSession(user.id), { httpOnly: true, sameSite: 'Lax', path: '/' })
  return c.redirect('/')
})

app.post('/login', async (c) => {
  const { email, password } = await credentials(c)
  const user = store.verifyLogin(email, password)
  if (!user) return c.html(signedOut('Wrong email or password'), 401)
  setCookie(c, 'sid', store.startSession(user.id), { httpOnly: true, sameSite: 'Lax', path: '/' })
  return c.redirect('/')
})

app.post('/logout', (c) => {
  const sid = getCookie(c, 'sid')
  if (sid) store.endSession(sid)
  deleteCookie(c, 'sid', { path: '/' })
  return c.redirect('/')
})

app.post('/links', async (c) => {
  const user = c.get('user')
  if (!user) return c.html(signedOut('Sign in first'), 401)
  const form = await c.req.parseBody()
  const url = String(form.url ?? '').trim()
  if (!URL.canParse(url)) return c.text('A link needs a valid URL', 400)
  store.saveLink(user.id, url, String(form.title ?? '').trim())
  return c.redirect('/')
})

app.post('/links/:id/archive', (c) => {
  const user = c.get('user')
  if (!user) return c.html(signedOut('Sign in first'), 401)
  const link = store.archiveLink(user.id, c.req.param('id'))
  if (!link) return c.text('No such link', 404)
  return c.redirect('/')
})

// The JSON API the page's scripts (and other clients) use.
app.get('/api/me', (c) => {
  const user = c.get('user')
  if (!user) return c.json({ error: 'Sign in first' }, 401)
  return c.json({ id: user.id, email: user.email })
})

app.get('/api/links', (c) => {
  const user = c.get('user')
  if (!user) return c.json({ error: 'Sign in first' }, 401)
  return c.json(store.listLinks(user.id))
})

// A route that fails, as real ones sometimes do.
app.get('/api/digest', () => {
  throw new Error('The digest service is unavailable')
})

const port = Number(process.env.PORT ?? 3000)
serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info) => {
  console.log(`Listening on http://127.0.0.1:${info.port}`)
})
