"""Pages: 政策库."""
urlpatterns: list = []
