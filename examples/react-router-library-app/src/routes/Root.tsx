import { isRouteErrorResponse, Link, Outlet, useNavigate, useRouteError } from 'react-router'
import { currentUser, logout } from '../auth'

export function Root() {
  const navigate = useNavigate()
  const user = currentUser()

  function onLogout() {
    logout()
    navigate('/login')
  }

  return (
    <>
      <header>
        <Link to="/">Team notes</Link>
        {user ? (
          <button type="button" onClick={onLogout}>
            Sign out {user.name}
          </button>
        ) : (
          <Link to="/login">Sign in</Link>
        )}
      </header>
      <main>
        <Outlet />
      </main>
    </>
  )
}

export function RootError() {
  const error = useRouteError()
  const message = isRouteErrorResponse(error) && error.status === 404 ? 'Page not found' : 'Something went wrong'
  return (
    <main>
      <h1>{message}</h1>
      <Link to="/">Back to your notes</Link>
    </main>
  )
}
