from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VideoCallsConfig(AppConfig):
    name = "sprechstunde.video_calls"
    label = "video_calls"
    verbose_name = _("Video consultations")
