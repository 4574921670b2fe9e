from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Thin glue around django-allauth (readers) and django-axes (login throttling)."""

    name = "accounts"
