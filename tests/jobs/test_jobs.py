import time

import pytest
from django.test import override_settings

from tests.jobs import probe
from yingshang import jobs


@pytest.fixture
def only_probe_jobs(monkeypatch):
    """A registry holding just the probe jobs, so the runner thread does no database work."""
    registry = {name: entry for name, entry in jobs.REGISTRY.items() if name.startswith("tests.")}
    monkeypatch.setattr(jobs, "REGISTRY", registry)
    probe.CALLS.clear()
    probe.RAN.clear()
    yield registry
    jobs.stop_inprocess_runner()


def test_core_delivery_is_registered_as_a_periodic_job():
    periodic = {entry.name: entry.every for entry in jobs.periodic_jobs()}
    assert periodic["core.deliver_outbox"] == 10
    assert "tests.record" not in periodic


def test_celery_app_turns_every_job_into_a_task_and_periodic_ones_into_the_beat_schedule():
    from yingshang.celery import app

    app.finalize()
    assert "core.deliver_outbox" in app.tasks
    entry = app.conf.beat_schedule["core.deliver_outbox"]
    assert (entry["task"], entry["schedule"]) == ("core.deliver_outbox", 10)


def test_without_a_runner_enqueue_runs_synchronously(only_probe_jobs):
    jobs.enqueue("tests.record", 1, flag=True)
    assert probe.CALLS == [("MainThread", (1,), {"flag": True})]


def test_unknown_job_names_fail_in_the_caller():
    with pytest.raises(KeyError, match="未注册"):
        jobs.enqueue("tests.no_such_job")


def test_in_process_runner_executes_queued_jobs_and_survives_failures(only_probe_jobs):
    only_probe_jobs.pop("tests.tick")
    runner = jobs.start_inprocess_runner(tick=0.05)
    assert jobs.start_inprocess_runner() is runner  # started once
    jobs.enqueue("tests.explode")
    jobs.enqueue("tests.record", "after failure")
    assert probe.RAN.wait(5)
    assert probe.CALLS == [("yingshang-jobs", ("after failure",), {})]
    jobs.stop_inprocess_runner()
    assert not runner.is_alive()


def test_in_process_runner_runs_periodic_jobs_repeatedly(only_probe_jobs):
    jobs.start_inprocess_runner(tick=0.01)
    deadline = time.monotonic() + 5
    while probe.CALLS.count(("tick",)) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert probe.CALLS.count(("tick",)) >= 3


@pytest.mark.django_db
def test_enqueue_on_commit_runs_only_after_commit(only_probe_jobs, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        jobs.enqueue_on_commit("tests.record", "committed")
        assert probe.CALLS == []
    assert probe.CALLS == [("MainThread", ("committed",), {})]


def test_celery_backend_publishes_to_the_broker(only_probe_jobs, monkeypatch):
    from yingshang.celery import app

    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, args, kwargs: sent.append((name, args, kwargs)))
    with override_settings(YINGSHANG_JOBS="celery"):
        jobs.enqueue("tests.record", 5)
    assert sent == [("tests.record", (5,), {})] and probe.CALLS == []
