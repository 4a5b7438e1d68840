"""API tokens: django-rest-knox's token (only a hash of the key is stored), named and timed."""

from __future__ import annotations

import uuid

from django.db import models
from knox.models import AbstractAuthToken


class ApiToken(AbstractAuthToken):
    """A person's API token: knox keeps the key's SHA-512 digest, never the key.

    ``KNOX_TOKEN_MODEL`` points knox here, so knox's ``TokenAuthentication`` checks these
    rows (digest, expiry, an active user). On top of knox's fields: a name the person
    chose, when the token was last used, and ``uid``, the public handle pages and the
    audit trail use (the digest is the primary key, too long for an audit row's object id).
    """

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"
