from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """A signed-in person's own account: the profile page and their API tokens."""

    name = "accounts"
    verbose_name = "Accounts and API tokens"
