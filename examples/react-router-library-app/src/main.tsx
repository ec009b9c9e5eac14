import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { createBrowserRouter, RouterProvider } from 'react-router'
import { restoreSession } from './auth'
import { Root, RootError } from './routes/Root'
import { LoginPage, loginAction } from './routes/Login'
import { NotesPage, notesAction, notesLoader } from './routes/Notes'

const router = createBrowserRouter([
  {
    path: '/',
    element: <Root />,
    errorElement: <RootError />,
    children: [
      { index: true, element: <NotesPage />, loader: notesLoader, action: notesAction },
      { path: 'login', element: <LoginPage />, action: loginAction },
    ],
  },
])

restoreSession()

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <RouterProvider router={router} />
  </StrictMode>,
)
