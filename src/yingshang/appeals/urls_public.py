"""Pages: 诉求 (public)."""
urlpatterns: list = []
