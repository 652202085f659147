"""Pages: 诉求 (case)."""
urlpatterns: list = []
