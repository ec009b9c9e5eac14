// Server-rendered pages. Everything the user typed is escaped.
const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function layout(body) {
  return `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8" /><title>Polls</title></head>
  <body>
    <h1>Polls</h1>
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

export function pollList(user, polls) {
  const items = polls
    .map(
      (p) => `<li>${escape(p.question)} (yes ${p.votes.yes}, no ${p.votes.no})
        <form method="post" action="/polls/${p.id}/vote">
          <button name="answer" value="yes">Yes</button>
          <button name="answer" value="no">No</button>
        </form>
      </li>`,
    )
    .join('')
  return layout(`
    <p>Signed in as ${escape(user.email)}</p>
    <form method="post" action="/logout"><button>Sign out</button></form>
    <form method="post" action="/polls">
      <input name="question" placeholder="Ask a yes/no question" required />
      <button>Create poll</button>
    </form>
    <ul>${items}</ul>`)
}
