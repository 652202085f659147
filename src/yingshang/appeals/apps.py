from django.apps import AppConfig


class AppealsConfig(AppConfig):
    name = "yingshang.appeals"
    label = "appeals"
    verbose_name = "诉求闭环"

    def ready(self) -> None:
        # Registers the holiday-notice hook that recomputes provisional deadlines, in every process.
        from yingshang.appeals import deadlines  # noqa: F401
