from django.urls import path

from books import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("books/", views.books, name="books"),
    path("api/books/", views.list_books, name="list_books"),
    path("api/books/<str:book_id>/finish/", views.finish_book, name="finish_book"),
    path("api/health/", views.health, name="health"),
]
