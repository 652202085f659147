"""Pages: 申报与兑现."""
urlpatterns: list = []
