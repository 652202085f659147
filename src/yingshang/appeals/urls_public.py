"""Pages: 诉求 (public board, no login)."""
from django.urls import path

from yingshang.appeals import views_public as views

urlpatterns = [
    path("board/", views.board, name="board"),
    path("board/<str:number>/", views.board_detail, name="board_detail"),
]
