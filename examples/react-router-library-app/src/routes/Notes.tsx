import { useState } from 'react'
import { Form, redirect, useActionData, useLoaderData, type ActionFunctionArgs } from 'react-router'
import * as api from '../api'
import type { Note } from '../api'
import { currentUser } from '../auth'

export async function notesLoader() {
  const user = currentUser()
  if (!user) return redirect('/login')
  return { notes: await api.listNotes(user.id) }
}

export async function notesAction({ request }: ActionFunctionArgs) {
  const user = currentUser()
  if (!user) return redirect('/login')
  const form = await request.formData()
  const text = String(form.get('text') ?? '').trim()
  if (!text) return { error: 'Write something first' }
  const note = await api.createNote(user.id, text)
  return { note }
}

function PinButton({ note }: { note: Note }) {
  const [pinned, setPinned] = useState(note.pinned)
  const [error, setError] = useState<string | null>(null)

  async function toggle() {
    const user = currentUser()
    if (!user) return
    try {
      const updated = await api.setPinned(user.id, note.id, !pinned)
      setPinned(updated.pinned)
      setError(null)
    } catch (err) {
      setError('Could not pin the note, try again')
    }
  }

  return (
    <>
      <button type="button" onClick={toggle} aria-pressed={pinned}>
        {pinned ? 'Unpin' : 'Pin'}
      </button>
      {error ? <span role="alert">{error}</span> : null}
    </>
  )
}

export function NotesPage() {
  const { notes } = useLoaderData<{ notes: Note[] }>()
  const result = useActionData<typeof notesAction>()
  return (
    <section>
      <h1>Your notes</h1>
      <ul>
        {notes.map((note) => (
          <li key={note.id}>
            {note.text} <PinButton note={note} />
          </li>
        ))}
      </ul>
      <Form method="post">
        <label>
          New note <input name="text" required />
        </label>
        {result && 'error' in result ? <p role="alert">{result.error}</p> : null}
        <button type="submit">Add</button>
      </Form>
    </section>
  )
}
