from django.apps import AppConfig


class HarvestConfig(AppConfig):
    """Keeping the collection current: OAI-PMH harvest sources, their state and schedule."""

    name = "harvest"
    verbose_name = "Harvesting"
    default_auto_field = "django.db.models.BigAutoField"
