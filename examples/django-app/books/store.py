"""The reading list, in memory: the app's stand-in for a books table."""

from dataclasses import dataclass


@dataclass
class Book:
    id: str
    owner_id: int
    title: str
    author: str
    finished: bool = False


BOOKS: list[Book] = []


def books_of(owner_id: int) -> list[Book]:
    return [b for b in BOOKS if b.owner_id == owner_id]


def add_book(owner_id: int, title: str, author: str) -> Book:
    book = Book(id=f"book_{len(BOOKS) + 1}", owner_id=owner_id, title=title, author=author)
    BOOKS.append(book)
    return book


def finish(owner_id: int, book_id: str) -> Book | None:
    for book in BOOKS:
        if book.id == book_id and book.owner_id == owner_id:
            book.finished = True
            return book
    return None
