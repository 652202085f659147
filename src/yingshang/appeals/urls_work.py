"""Pages: 诉求 (work)."""
urlpatterns: list = []
