// The little a framework would otherwise do: bodies, cookies and answers.

export async function readForm(req) {
  let body = ''
  for await (const chunk of req) body += chunk
  return Object.fromEntries(new URLSearchParams(body))
}

export function cookies(req) {
  const pairs = (req.headers.cookie ?? '').split(';').map((c) => c.trim().split('='))
  return Object.fromEntries(pairs.filter(([name]) => name))
}

export function html(res, status, page) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(page)
}

export function json(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value))
}

export function redirect(res, location, headers = {}) {
  res.writeHead(302, { location, ...headers }).end()
}
