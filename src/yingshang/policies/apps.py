from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "yingshang.policies"
    label = "policies"
    verbose_name = "惠企政策"

    def ready(self) -> None:
        # Connects the enterprises_changed receiver and registers the jobs in every process (web, worker, CLI).
        from yingshang.policies import jobs  # noqa: F401
