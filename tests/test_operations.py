"""Operations' endpoints: liveness, readiness (JSON, nothing secret), Prometheus metrics for allowed addresses
only, and JSON log lines carrying the request id, the user id and the ledger transaction."""

import io
import json
import logging

import pytest
import structlog
from django.urls import reverse
from django_q.tasks import async_task

from accounts import ledger
from accounts.roles import Role

pytestmark = pytest.mark.django_db


def test_liveness_and_readiness_answer_json_without_a_sign_in(client, settings):
    assert client.get(reverse("health_live")).json() == {"status": "ok"}
    response = client.get(reverse("health_ready"))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    body = response.content.decode()
    assert all(name in body for name in ("Database", "Cache", "Broker", "DiskSpace"))
    assert settings.DATABASES["default"]["PASSWORD"] not in body if settings.DATABASES["default"].get(
        "PASSWORD") else True


def test_readiness_fails_when_the_broker_is_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    response = client.get(reverse("health_ready"))
    assert response.status_code == 500 and "broker unreachable" in response.content.decode()
    assert "127.0.0.1:1" not in response.content.decode()  # the address is not shown


def test_metrics_answer_the_monitoring_only(client, settings):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    ledger.issue_allowances(vintage=2026, quantity=10, idempotency_key="metrics-issue")
    text = client.get(reverse("metrics")).content.decode()
    assert "django_http_requests_latency_seconds_by_view_method" in text
    assert 'django_db_execute_total{alias="default",vendor="postgresql"}' in text  # the database's queries
    assert "gxregistry_ledger_transactions" in text and "gxregistry_jobs_queued" in text
    assert "\ngxregistry_ledger_reconciliation_clean " not in text  # no value before the first reconciliation
    async_task("accounts.tasks.reconcile_and_alert")  # in the test settings: runs at once, its result kept
    text = client.get(reverse("metrics")).content.decode()
    assert "gxregistry_ledger_reconciliation_clean 1.0" in text and "gxregistry_ledger_reconciliation_age_seconds" in text
    assert "gxregistry_jobs_unfinished 0.0" in text
    assert client.get(reverse("metrics"), REMOTE_ADDR="203.0.113.9").status_code == 404


def test_a_request_logs_json_lines_with_its_request_id_and_user_id_never_the_email(
        client, make_user, signed_in, django_capture_on_commit_callbacks):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processor=structlog.processors.JSONRenderer(), foreign_pre_chain=[structlog.contextvars.merge_contextvars]))
    loggers = [logging.getLogger("django_structlog"), logging.getLogger("accounts.ledger.booking")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        user = make_user(Role.VIEWER)
        signed_in(user)
        client.get(reverse("dashboard"))
        with django_capture_on_commit_callbacks(execute=True):
            ledger.issue_allowances(vintage=2026, quantity=5, idempotency_key="log-issue")
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    finished = [line for line in lines if line.get("event") == "request_finished"
                and line.get("request", "").endswith("/dashboard/")]
    assert finished and finished[-1]["user_id"] == user.pk and finished[-1]["request_id"]
    assert user.email not in stream.getvalue()
    booked = [line for line in lines if line.get("event") == "ledger_transaction_booked"]
    assert booked and isinstance(booked[-1]["ledger_transaction"], int)


def test_a_mail_server_that_is_down_delays_the_email_not_the_act(settings, django_capture_on_commit_callbacks,
                                                                 mailoutbox):
    from django.utils import timezone

    from gxregistry import jobs, notifications
    from gxregistry.models import Job

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens there
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify([("rep@example.jp", "ja")], subject="Approve the transfer", body="A transfer waits.",
                             params={}, path="/dashboard/")
    job = Job.objects.get(key__startswith="mail-")
    assert job.finished_at is None and "ConnectionRefused" in job.error and not mailoutbox
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # the server is back
    assert jobs.resume_lost(started_before=timezone.now()) == 1
    job.refresh_from_db()
    assert job.finished_at is not None and job.attempts == 2
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["rep@example.jp"]


def test_administrators_see_the_background_jobs_in_the_back_office(client, make_user, signed_in):
    from gxregistry import jobs

    jobs.enqueue("gxregistry.notifications.deliver", [], key="mail-shown-in-the-back-office")
    signed_in(make_user(Role.REGISTRY_ADMINISTRATOR))
    page = client.get(reverse("admin:gxregistry_job_changelist"))
    assert page.status_code == 200 and "mail-shown-in-the-back-office" in page.content.decode()
    assert client.get(reverse("admin:gxregistry_job_add")).status_code == 403  # read-only: jobs are not made here
