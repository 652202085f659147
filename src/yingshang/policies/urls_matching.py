"""Pages: 政策匹配."""
urlpatterns: list = []
