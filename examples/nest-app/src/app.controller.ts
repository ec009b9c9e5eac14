import { Controller, Get, Header } from '@nestjs/common'

// The page: forms that call the JSON API with the token from sign-in.
const PAGE = `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8" /><title>Issues</title></head>
  <body>
    <h1>Issues</h1>
    <form id="login">
      <input name="email" type="email" placeholder="Email" required />
      <input name="password" type="password" placeholder="Password" required />
      <button value="login">Sign in</button>
      <button value="signup">Sign up</button>
    </form>
    <form id="open" hidden>
      <input name="title" placeholder="What is wrong?" required />
      <button>Open issue</button>
    </form>
    <ul id="issues"></ul>
    <script>
      let token = sessionStorage.getItem('token')
      const api = async (path, body) => {
        const res = await fetch(path, {
          method: body ? 'POST' : 'GET',
          headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token },
          body: body && JSON.stringify(body),
        })
        if (!res.ok) throw new Error((await res.json()).message)
        return res.json()
      }
      async function render() {
        document.querySelector('#login').hidden = !!token
        document.querySelector('#open').hidden = !token
        const list = document.querySelector('#issues')
        list.replaceChildren()
        if (!token) return
        for (const issue of await api('/issues')) {
          const li = document.createElement('li')
          li.textContent = (issue.closed ? '✓ ' : '• ') + issue.title
          list.append(li)
        }
      }
      document.querySelector('#login').addEventListener('submit', async (e) => {
        e.preventDefault()
        const form = Object.fromEntries(new FormData(e.currentTarget))
        const mode = e.submitter?.value === 'signup' ? 'signup' : 'login'
        token = (await api('/auth/' + mode, form)).token
        sessionStorage.setItem('token', token)
        render()
      })
      document.querySelector('#open').addEventListener('submit', async (e) => {
        e.preventDefault()
        await api('/issues', Object.fromEntries(new FormData(e.currentTarget)))
        e.currentTarget.reset()
        render()
      })
      render()
    </script>
  </body>
</html>`

@Controller()
export class AppController {
  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  page() {
    return PAGE
  }
}
