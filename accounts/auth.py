"""API authentication by token: knox's, plus when each token was last used."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication as KnoxTokenAuthentication

from accounts.models import ApiToken
from accounts.services import api_token_mark_used


class TokenAuthentication(KnoxTokenAuthentication):
    """``Authorization: Token <key>``, checked by knox against the stored digest.

    knox refuses an unknown, expired (and deletes it) or revoked key, and the key of a
    deactivated user; a key it accepts is marked as used here.
    """

    def validate_user(self, auth_token: ApiToken) -> tuple[Any, ApiToken]:
        user, token = super().validate_user(auth_token)
        api_token_mark_used(token=token)
        return user, token


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the token scheme in the OpenAPI schema."""

    target_class = "accounts.auth.TokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`; create one on your profile page (/profile/).",
        }
