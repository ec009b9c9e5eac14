import { Form, redirect, useActionData, useNavigation, type ActionFunctionArgs } from 'react-router'
import { login } from '../auth'

export async function loginAction({ request }: ActionFunctionArgs) {
  const form = await request.formData()
  try {
    await login(String(form.get('email') ?? ''), String(form.get('password') ?? ''))
  } catch {
    return { error: 'Wrong email or password' }
  }
  return redirect('/')
}

export function LoginPage() {
  const result = useActionData<typeof loginAction>()
  const navigation = useNavigation()
  return (
    <section>
      <h1>Sign in</h1>
      <Form method="post">
        <label>
          Email <input name="email" type="email" required />
        </label>
        <label>
          Password <input name="password" type="password" required />
        </label>
        {result?.error ? <p role="alert">{result.error}</p> : null}
        <button type="submit" disabled={navigation.state === 'submitting'}>
          Sign in
        </button>
      </Form>
    </section>
  )
}
