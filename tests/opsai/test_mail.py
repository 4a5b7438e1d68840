"""Email goes through the outbox: recorded with its change, sent by a worker, retried."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.db import transaction

from opsai.mail import mail_on_commit
from opsai.models import OutboxJob

EMAIL = "opsai.tasks.email_send"


@pytest.mark.django_db
def test_an_email_is_a_job_recorded_with_its_change_and_nothing_is_sent_in_the_request(
    run_outbox: Any,
) -> None:
    mail_on_commit(
        subject="Review   assigned\\n", body="Please look", recipients=["a@x.org", "", "a@x.org"]
    )
    job = OutboxJob.objects.get(task_name=EMAIL)
    assert job.kwargs["recipients"] == ["a@x.org"]  # blanks and duplicates dropped
    assert mail.outbox == []
    assert run_outbox(EMAIL) == 1
    (message,) = mail.outbox
    assert (message.to, message.body) == (["a@x.org"], "Please look")
    assert OutboxJob.objects.get(pk=job.pk).state == "done"


@pytest.mark.django_db
def test_a_rolled_back_change_records_no_email() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        mail_on_commit(subject="Paused", body="…", recipients=["oncall@x.org"])
        raise RuntimeError("the change failed")
    assert not OutboxJob.objects.filter(task_name=EMAIL).exists()


@pytest.mark.django_db
def test_nobody_to_tell_records_nothing() -> None:
    mail_on_commit(subject="Paused", body="…", recipients=["", ""])
    assert not OutboxJob.objects.filter(task_name=EMAIL).exists()


@pytest.fixture
def refusing_smtp() -> Iterator[tuple[int, list[int]]]:
    """A real TCP server on 127.0.0.1 that accepts and hangs up at once: a broken mail
    server. Yields its port and a list that counts the connections it refused."""
    refused: list[int] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            refused.append(1)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], refused
    stop.set()
    thread.join()
    server.close()


@pytest.mark.django_db
def test_a_mail_server_outage_is_retried_instead_of_losing_the_email(
    settings: Any, refusing_smtp: tuple[int, list[int]]
) -> None:
    """The task retries on SMTP and socket errors (a worker re-queues it with back-off,
    keeping its outbox job *sent*); run eagerly here, every retry happens at once, so
    the broken server sees the first try and each retry before the task gives up."""
    from opsai.tasks import email_send

    port, refused = refusing_smtp
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    result = email_send.apply(
        kwargs={"subject": "s", "body": "b", "recipients": ["a@x.org"], "html": None}
    )
    assert result.state == "FAILURE"
    assert len(refused) == email_send.max_retries + 1 > 1
