from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EfileConfig(AppConfig):
    name = "sprechstunde.efile"
    label = "efile"
    verbose_name = _("E-file hand-over")
