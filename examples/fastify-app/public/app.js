let token = localStorage.getItem('token')

async function api(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    headers: {
      'Content-Type': 'application/json',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
  })
  const body = await res.json()
  if (!res.ok) throw new Error(body.error ?? `Request failed: ${res.status}`)
  return body
}

async function render() {
  document.querySelector('#login').hidden = Boolean(token)
  document.querySelector('#add').hidden = !token
  document.querySelector('#logout').hidden = !token
  const list = document.querySelector('#todos')
  list.replaceChildren()
  if (!token) return
  for (const todo of await api('/api/todos')) {
    const item = document.createElement('li')
    item.textContent = `${todo.done ? '✓' : '•'} ${todo.title}`
    list.append(item)
  }
}

document.querySelector('#login').addEventListener('submit', async (event) => {
  event.preventDefault()
  const form = new FormData(event.currentTarget)
  const mode = event.submitter?.value === 'signup' ? 'signup' : 'login'
  try {
    const { token: issued } = await api(`/api/${mode}`, {
      method: 'POST',
      body: JSON.stringify({ email: form.get('email'), password: form.get('password') }),
    })
    token = issued
    localStorage.setItem('token', token)
    await render()
  } catch (err) {
    alert(err.message)
  }
})

document.querySelector('#add').addEventListener('submit', async (event) => {
  event.preventDefault()
  const form = new FormData(event.currentTarget)
  await api('/api/todos', { method: 'POST', body: JSON.stringify({ title: form.get('title') }) })
  event.currentTarget.reset()
  await render()
})

document.querySelector('#logout').addEventListener('click', async () => {
  await api('/api/logout', { method: 'POST' })
  token = null
  localStorage.removeItem('token')
  await render()
})

render()
