from django.apps import AppConfig


class DeskConfig(AppConfig):
    """The case manager's desk: the start page of the day (reads other apps only)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "sprechstunde.desk"
    verbose_name = "Desk"
