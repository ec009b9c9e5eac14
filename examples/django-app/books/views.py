from dataclasses import asdict

from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import store


def page(request, title, body, status=200):
    if request.user.is_authenticated:
        nav = format_html(
            '{} <form method="post" action="/logout/" style="display:inline">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<button type="submit">Sign out</button></form>',
            request.user.get_full_name(),
            get_token(request),
        )
    else:
        nav = format_html('<a href="/login/">Sign in</a>')
    html = format_html(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>{} · Reading list</title></head><body>"
        '<header><a href="/">Reading list</a> · {}</header><main><h1>{}</h1>{}</main>'
        "</body></html>",
        title,
        nav,
        title,
        body,
    )
    return HttpResponse(html, status=status)


def home(request):
    return page(request, "Welcome", format_html("<p>Books you are reading, and the ones you finished.</p>"))


def login_form(request, error=None):
    return format_html(
        '{}<form method="post"><input type="hidden" name="csrfmiddlewaretoken" value="{}">'
        '<label>Email <input name="email" type="email" required></label>'
        '<label>Password <input name="password" type="password" required></label>'
        '<button type="submit">Sign in</button></form>',
        format_html('<p role="alert">{}</p>', error) if error else "",
        get_token(request),
    )


@require_http_methods(["GET", "POST"])
def login_view(request):
    if request.method == "GET":
        return page(request, "Sign in", login_form(request))
    user = authenticate(
        request,
        username=request.POST.get("email", "").strip().lower(),
        password=request.POST.get("password", ""),
    )
    if user is None:
        return page(request, "Sign in", login_form(request, "Wrong email or password"), 401)
    login(request, user)
    return redirect("books")


@require_POST
def logout_view(request):
    logout(request)
    return redirect("home")


@login_required
@require_http_methods(["GET", "POST"])
def books(request):
    if request.method == "POST":
        title = request.POST.get("title", "").strip()
        if title:
            store.add_book(request.user.pk, title, request.POST.get("author", "").strip())
        return redirect("books")
    items = format_html_join(
        "",
        '<li data-id="{}">{} <em>{}</em>{}</li>',
        (
            (b.id, b.title, b.author, " (finished)" if b.finished else "")
            for b in store.books_of(request.user.pk)
        ),
    )
    body = format_html(
        '<ul>{}</ul><form method="post">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
        '<label>Title <input name="title" required></label>'
        '<label>Author <input name="author"></label>'
        '<button type="submit">Add book</button></form>',
        items or format_html("<li>Nothing on the list yet.</li>"),
        get_token(request),
    )
    return page(request, "Your reading list", body)


@require_GET
def list_books(request):
    if not request.user.is_authenticated:
        return JsonResponse({"error": "Sign in first"}, status=401)
    return JsonResponse([asdict(b) for b in store.books_of(request.user.pk)], safe=False)


@require_POST
def finish_book(request, book_id):
    if not request.user.is_authenticated:
        return JsonResponse({"error": "Sign in first"}, status=401)
    book = store.finish(request.user.pk, book_id)
    if book is None:
        raise Http404("No such book")
    return JsonResponse(asdict(book))


@require_GET
def health(request):
    return JsonResponse({"ok": True})
