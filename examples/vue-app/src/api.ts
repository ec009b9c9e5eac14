// Stands in for the app's backend: the same calls a REST client would make, with
// the data kept in localStorage so the sample runs without a server.

export interface User {
  id: string
  email: string
  name: string
}

export interface Book {
  id: string
  title: string
  author: string
  finished: boolean
}

const ACCOUNTS = [{ id: 'usr_1', email: 'ada@example.com', name: 'Ada', password: 'lovelace' }]

const pause = () => new Promise((resolve) => setTimeout(resolve, 150))

function booksKey(userId: string) {
  return `reading-list:books:${userId}`
}

function load(userId: string): Book[] {
  const raw = localStorage.getItem(booksKey(userId))
  return raw ? (JSON.parse(raw) as Book[]) : []
}

function save(userId: string, books: Book[]) {
  localStorage.setItem(booksKey(userId), JSON.stringify(books))
}

export async function login(email: string, password: string): Promise<User> {
  await pause()
  const account = ACCOUNTS.find((a) => a.email === email.trim().toLowerCase())
  if (!account || account.password !== password) {
    throw new Error('Wrong email or password')
  }
  return { id: account.id, email: account.email, name: account.name }
}

export async function listBooks(userId: string): Promise<Book[]> {
  await pause()
  return load(userId)
}

export async function addBook(userId: string, title: string, author: string): Promise<Book> {
  await pause()
  if (!title.trim()) throw new Error('A book needs a title')
  const book = { id: `bk_${crypto.randomUUID().slice(0, 8)}`, title: title.trim(), author: author.trim(), finished: false }
  save(userId, [...load(userId), book])
  return book
}

export async function finishBook(userId: string, bookId: string): Promise<Book> {
  await pause()
  const books = load(userId)
  const book = books.find((b) => b.id === bookId)
  if (!book) throw new Error('No such book')
  book.finished = true
  save(userId, books)
  return book
}
