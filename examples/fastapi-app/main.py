"""Notes: a small FastAPI app with a session login, an HTML form and a JSON API."""

from html import escape
from typing import Annotated

from dotenv import load_dotenv
from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

import store

load_dotenv()

app = FastAPI(title="Notes")

SESSION_COOKIE = "notes_session"


class PinRequest(BaseModel):
    pinned: bool


def current_user(request: Request) -> store.User | None:
    return store.user_for_session(request.cookies.get(SESSION_COOKIE))


def require_user(request: Request) -> store.User:
    user = current_user(request)
    if user is None:
        raise HTTPException(status_code=401, detail="Sign in first")
    return user


def page(title: str, body: str, user: store.User | None, status_code: int = 200) -> HTMLResponse:
    if user:
        nav = (
            f'<a href="/notes">Notes</a> · {escape(user.name)} '
            '<form method="post" action="/logout" style="display:inline">'
            '<button type="submit">Sign out</button></form>'
        )
    else:
        nav = '<a href="/login">Sign in</a>'
    return HTMLResponse(
        f"""<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>{escape(title)} · Notes</title></head>
  <body>
    <header><a href="/">Notes</a> <nav>{nav}</nav></header>
    <main><h1>{escape(title)}</h1>{body}</main>
  </body>
</html>""",
        status_code=status_code,
    )


def login_form(error: str | None = None) -> str:
    message = f'<p role="alert">{escape(error)}</p>' if error else ""
    return f"""{message}
<form method="post" action="/login">
  <label>Email <input name="email" type="email" required></label>
  <label>Password <input name="password" type="password" required></label>
  <button type="submit">Sign in</button>
</form>"""


@app.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    user = current_user(request)
    body = "<p>Write things down. Pin what matters.</p>"
    if user is None:
        body += '<p><a href="/login">Sign in</a> to see your notes.</p>'
    return page("Welcome", body, user)


@app.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return page("Sign in", login_form(), current_user(request))


@app.post("/login")
def login(
    email: Annotated[str, Form()], password: Annotated[str, Form()]
) -> Response:
    user = store.verify_login(email, password)
    if user is None:
        return page("Sign in", login_form("Wrong email or password"), None, 401)
    session_id = store.start_session(user.id)
    response = RedirectResponse("/notes", status_code=303)
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="lax")
    return response


@app.post("/logout")
def logout(request: Request) -> RedirectResponse:
    store.end_session(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@app.get("/notes", response_class=HTMLResponse)
def notes_page(request: Request) -> Response:
    user = current_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    items = "".join(
        f'<li data-id="{n.id}">{"📌 " if n.pinned else ""}<strong>{escape(n.title)}</strong>'
        f" {escape(n.body)}</li>"
        for n in store.notes_of(user.id)
    )
    body = f"""<ul>{items or "<li>No notes yet.</li>"}</ul>
<form method="post" action="/notes">
  <label>Title <input name="title" required maxlength="120"></label>
  <label>Note <textarea name="body"></textarea></label>
  <button type="submit">Add note</button>
</form>"""
    return page("Your notes", body, user)


@app.post("/notes")
def create_note(
    user: Annotated[store.User, Depends(require_user)],
    title: Annotated[str, Form(max_length=120)],
    body: Annotated[str, Form()] = "",
) -> RedirectResponse:
    store.create_note(user.id, title.strip(), body.strip())
    return RedirectResponse("/notes", status_code=303)


@app.get("/api/notes")
def list_notes(user: Annotated[store.User, Depends(require_user)]) -> list[dict]:
    return [vars(n) for n in store.notes_of(user.id)]


@app.post("/api/notes/{note_id}/pin")
def pin_note(
    note_id: str,
    pin: PinRequest,
    user: Annotated[store.User, Depends(require_user)],
) -> dict:
    note = store.set_pinned(user.id, note_id, pin.pinned)
    if note is None:
        raise HTTPException(status_code=404, detail="No such note")
    return vars(note)


@app.get("/api/health")
def health() -> dict:
    return {"ok": True}
