from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "sprechstunde.core"
    label = "core"
    verbose_name = "Core"
