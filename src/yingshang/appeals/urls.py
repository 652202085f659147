"""Pages: 诉求."""
app_name = "appeals"
urlpatterns: list = []
