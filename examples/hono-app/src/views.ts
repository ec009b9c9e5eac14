import { html } from 'hono/html'
import type { Link, User } from './store.js'

function layout(body: unknown) {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>Reading list</title>
      </head>
      <body>
        <h1>Reading list</h1>
        ${body}
      </body>
    </html>`
}

export function signedOut(message?: string) {
  return layout(html`
    ${message ? html`<p role="alert">${message}</p>` : ''}
    <form method="post" action="/login">
      <input name="email" type="email" placeholder="Email" required />
      <input name="password" type="password" placeholder="Password" required />
      <button>Sign in</button>
      <button formaction="/signup">Sign up</button>
    </form>
  `)
}

export function readingList(user: User, links: Link[]) {
  return layout(html`
    <p>Signed in as ${user.email}</p>
    <form method="post" action="/logout"><button>Sign out</button></form>
    <form method="post" action="/links">
      <input name="url" type="url" placeholder="https://…" required />
      <input name="title" placeholder="Title" />
      <button>Save</button>
    </form>
    <ul>
      ${links.map(
        (link) => html`<li>
          <a href="${link.url}">${link.title || link.url}</a>
          <form method="post" action="/links/${link.id}/archive"><button>Archive</button></form>
        </li>`,
      )}
    </ul>
  `)
}
