"""In-memory users, sessions and notes: the app's stand-in for a database."""

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str
    password: str


@dataclass
class Note:
    id: str
    owner_id: str
    title: str
    body: str
    pinned: bool = False
    created_at: str = field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat()
    )


USERS = [
    User(id="usr_1", email="ada@example.com", name="Ada Lovelace", password="lovelace"),
    User(id="usr_2", email="grace@example.com", name="Grace Hopper", password="cobol"),
]
SESSIONS: dict[str, str] = {}
NOTES: list[Note] = []


def verify_login(email: str, password: str) -> User | None:
    for user in USERS:
        if user.email == email.strip().lower() and secrets.compare_digest(
            user.password, password
        ):
            return user
    return None


def start_session(user_id: str) -> str:
    session_id = secrets.token_urlsafe(24)
    SESSIONS[session_id] = user_id
    return session_id


def end_session(session_id: str | None) -> None:
    if session_id:
        SESSIONS.pop(session_id, None)


def user_for_session(session_id: str | None) -> User | None:
    user_id = SESSIONS.get(session_id or "")
    return next((u for u in USERS if u.id == user_id), None)


def notes_of(user_id: str) -> list[Note]:
    return [n for n in NOTES if n.owner_id == user_id]


def create_note(user_id: str, title: str, body: str) -> Note:
    note = Note(id=f"note_{len(NOTES) + 1}", owner_id=user_id, title=title, body=body)
    NOTES.append(note)
    return note


def set_pinned(user_id: str, note_id: str, pinned: bool) -> Note | None:
    for note in NOTES:
        if note.id == note_id and note.owner_id == user_id:
            note.pinned = pinned
            return note
    return None
