"""Bookmarks: a small Flask app with a session login, an HTML form and a JSON API."""

import os
from dataclasses import asdict
from functools import wraps

from flask import Flask, abort, g, jsonify, redirect, render_template_string, request, session, url_for

import store

app = Flask(__name__)
app.secret_key = os.environ.get("FLASK_SECRET_KEY", "dev-only-change-me")

LAYOUT = """<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>{{ title }} · Bookmarks</title></head>
  <body>
    <header>
      <a href="{{ url_for('home') }}">Bookmarks</a>
      {% if g.user %}
        · {{ g.user.name }}
        <form method="post" action="{{ url_for('logout') }}" style="display:inline">
          <button type="submit">Sign out</button>
        </form>
      {% else %}
        · <a href="{{ url_for('login') }}">Sign in</a>
      {% endif %}
    </header>
    <main><h1>{{ title }}</h1>{{ body | safe }}</main>
  </body>
</html>"""

LOGIN_FORM = """{% if error %}<p role="alert">{{ error }}</p>{% endif %}
<form method="post">
  <label>Email <input name="email" type="email" required></label>
  <label>Password <input name="password" type="password" required></label>
  <button type="submit">Sign in</button>
</form>"""

BOOKMARKS = """<ul>
{% for b in bookmarks %}
  <li data-id="{{ b.id }}"><a href="{{ b.url }}">{{ b.title }}</a>{% if b.archived %} (archived){% endif %}</li>
{% else %}
  <li>No bookmarks yet.</li>
{% endfor %}
</ul>
<form method="post">
  <label>URL <input name="url" type="url" required></label>
  <label>Title <input name="title"></label>
  <button type="submit">Add bookmark</button>
</form>"""


def page(title: str, body: str, **values):
    inner = render_template_string(body, **values)
    return render_template_string(LAYOUT, title=title, body=inner)


@app.before_request
def load_user():
    g.user = store.user_by_id(session.get("user_id"))


def login_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.user is None:
            if request.path.startswith("/api/"):
                abort(401)
            return redirect(url_for("login"))
        return view(*args, **kwargs)

    return wrapped


@app.get("/")
def home():
    body = "<p>Keep the links worth keeping.</p>"
    if g.user:
        body += '<p><a href="/bookmarks">Your bookmarks</a></p>'
    return page("Welcome", body)


@app.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return page("Sign in", LOGIN_FORM)
    user = store.verify_login(request.form.get("email", ""), request.form.get("password", ""))
    if user is None:
        return page("Sign in", LOGIN_FORM, error="Wrong email or password"), 401
    session.clear()
    session["user_id"] = user.id
    return redirect(url_for("bookmarks"))


@app.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("home"))


@app.route("/bookmarks", methods=["GET", "POST"])
@login_required
def bookmarks():
    if request.method == "POST":
        url = request.form.get("url", "").strip()
        if not url.startswith(("http://", "https://")):
            return page("Your bookmarks", BOOKMARKS, bookmarks=store.bookmarks_of(g.user.id)), 400
        store.add_bookmark(g.user.id, url, request.form.get("title", "").strip())
        return redirect(url_for("bookmarks"))
    return page("Your bookmarks", BOOKMARKS, bookmarks=store.bookmarks_of(g.user.id))


@app.get("/api/bookmarks")
@login_required
def list_bookmarks():
    return jsonify([asdict(b) for b in store.bookmarks_of(g.user.id)])


@app.post("/api/bookmarks/<bookmark_id>/archive")
@login_required
def archive_bookmark(bookmark_id: str):
    bookmark = store.archive(g.user.id, bookmark_id)
    if bookmark is None:
        abort(404)
    return jsonify(asdict(bookmark))


@app.get("/api/health")
def health():
    return jsonify(ok=True)
