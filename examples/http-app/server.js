import http from 'node:http'
import { cookies, html, json, readForm, redirect } from './lib/http.js'
import { pollList, signedOut } from './lib/pages.js'
import * as store from './lib/store.js'

const session = (sid) => ({ 'set-cookie': `sid=${sid}; HttpOnly; SameSite=Lax; Path=/` })

async function route(req, res) {
  const { pathname } = new URL(req.url, 'http://localhost')
  const user = req.user

  if (req.method === 'GET' && pathname === '/') {
    return html(res, 200, user ? pollList(user, store.listPolls()) : signedOut())
  }
  if (req.method === 'POST' && pathname === '/signup') {
    const { email = '', password = '' } = await readForm(req)
    if (!email || !password) return html(res, 400, signedOut('Email and password are required'))
    const created = store.createUser(email.trim().toLowerCase(), password)
    if (!created) return html(res, 409, signedOut('That email is taken'))
    return redirect(res, '/', session(store.startSession(created.id)))
  }
  if (req.method === 'POST' && pathname === '/login') {
    const { email = '', password = '' } = await readForm(req)
    const found = store.verifyLogin(email.trim().toLowerCase(), password)
    if (!found) return html(res, 401, signedOut('Wrong email or password'))
    return redirect(res, '/', session(store.startSession(found.id)))
  }
  if (req.method === 'POST' && pathname === '/logout') {
    store.endSession(cookies(req).sid)
    return redirect(res, '/', { 'set-cookie': 'sid=; Max-Age=0; Path=/' })
  }
  if (req.method === 'GET' && pathname === '/api/me') {
    if (!user) return json(res, 401, { error: 'Sign in first' })
    return json(res, 200, { id: user.id, email: user.email })
  }
  if (req.method === 'GET' && pathname === '/api/polls') {
    return json(res, 200, store.listPolls())
  }
  // A route that fails, as real ones sometimes do.
  if (req.method === 'GET' && pathname === '/api/results.csv') {
    throw new Error('The results export is unavailable')
  }

  if (!user) return html(res, 401, signedOut('Sign in first'))
  if (req.method === 'POST' && pathname === '/polls') {
    const { question = '' } = await readForm(req)
    if (!question.trim()) return html(res, 400, signedOut('A poll needs a question'))
    store.createPoll(user.id, question.trim())
    return redirect(res, '/')
  }
  const voting = pathname.match(/^\/polls\/([^/]+)\/vote$/)
  if (req.method === 'POST' && voting) {
    const { answer = '' } = await readForm(req)
    const poll = store.vote(voting[1], answer)
    if (!poll) return json(res, 404, { error: 'No such poll or answer' })
    return redirect(res, '/')
  }
  return json(res, 404, { error: 'Not found' })
}

const server = http.createServer(async (req, res) => {
  // Authentication: the session cookie from /login puts the user on the request.
  req.user = store.userForSession(cookies(req).sid)
  try {
    await route(req, res)
  } catch (err) {
    console.error(err)
    if (!res.headersSent) json(res, 500, { error: 'Something went wrong' })
  }
})

const port = Number(process.env.PORT ?? 3000)
server.listen(port, '127.0.0.1', () => {
  console.log(`Listening on http://127.0.0.1:${port}`)
})
