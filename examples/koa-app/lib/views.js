// Server-rendered pages. Everything the user typed is escaped.
const escape = (text) =>
  String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function layout(body) {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Habits</title>
  </head>
  <body>
    <h1>Habits</h1>
    ${body}
  </body>
</html>`
}

export function signedOut(message) {
  return layout(`
    ${message ? `<p role="alert">${escape(message)}</p>` : ''}
    <form method="post" action="/login">
      <input name="email" type="email" placeholder="Email" required />
      <input name="password" type="password" placeholder="Password" required />
      <button>Sign in</button>
      <button formaction="/signup">Sign up</button>
    </form>`)
}

export function habitList(user, habits) {
  const items = habits
    .map(
      (h) => `<li>${escape(h.name)} (${h.streak} days)
        <form method="post" action="/habits/${h.id}/check-in"><button>Done today</button></form>
      </li>`,
    )
    .join('')
  return layout(`
    <p>Signed in as ${escape(user.email)}</p>
    <form method="post" action="/logout"><button>Sign out</button></form>
    <form method="post" action="/habits">
      <input name="name" placeholder="A new habit" required />
      <button>Add</button>
    </form>
    <ul>${items}</ul>`)
}
