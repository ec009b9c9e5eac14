"""In-memory users and bookmarks: the app's stand-in for a database."""

import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str
    password: str


@dataclass
class Bookmark:
    id: str
    owner_id: str
    url: str
    title: str
    archived: bool = False


USERS = [
    User(id="usr_1", email="ada@example.com", name="Ada Lovelace", password="lovelace"),
    User(id="usr_2", email="grace@example.com", name="Grace Hopper", password="cobol"),
]
BOOKMARKS: list[Bookmark] = []


def verify_login(email: str, password: str) -> User | None:
    for user in USERS:
        if user.email == email.strip().lower() and secrets.compare_digest(
            user.password, password
        ):
            return user
    return None


def user_by_id(user_id: str | None) -> User | None:
    return next((u for u in USERS if u.id == user_id), None)


def bookmarks_of(user_id: str) -> list[Bookmark]:
    return [b for b in BOOKMARKS if b.owner_id == user_id]


def add_bookmark(user_id: str, url: str, title: str) -> Bookmark:
    bookmark = Bookmark(
        id=f"bm_{len(BOOKMARKS) + 1}", owner_id=user_id, url=url, title=title or url
    )
    BOOKMARKS.append(bookmark)
    return bookmark


def archive(user_id: str, bookmark_id: str) -> Bookmark | None:
    for bookmark in BOOKMARKS:
        if bookmark.id == bookmark_id and bookmark.owner_id == user_id:
            bookmark.archived = True
            return bookmark
    return None
