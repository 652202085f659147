"""Pages: 诉求 (kpis)."""
urlpatterns: list = []
