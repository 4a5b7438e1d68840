"""Email through the outbox: a message is a background job recorded with its change.

A review assignment, a kill-switch notice, a KPI alert and the weekly review are part
of the change that causes them: recorded in the same transaction (a rolled-back change
tells no one), sent by a worker after the commit (a request never waits on the mail
server) and retried with back-off while the mail server is down (nothing is lost).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

from opsai.jobs import enqueue_on_commit

# Subjects are one line; a longer one is a bug upstream, not something to send.
SUBJECT_MAX = 200


def mail_on_commit(
    *, subject: str, body: str, recipients: Iterable[str], html: str | None = None
) -> None:
    """Record an email to ``recipients`` as an outbox job; a worker sends it after commit."""
    to = sorted({address for address in recipients if address})
    if not to:
        return
    enqueue_on_commit(
        "opsai.tasks.email_send",
        subject=" ".join(subject.split())[:SUBJECT_MAX],
        body=body,
        recipients=to,
        html=html,
    )


def absolute_url(path: str) -> str:
    """``path`` (``/usecases/7/``) as a link that works from an email: on the address the
    server is really on (``settings.SITE_URL``, which ``make run`` sets from its PORT)."""
    return f"{settings.SITE_URL}/{path.lstrip('/')}"
