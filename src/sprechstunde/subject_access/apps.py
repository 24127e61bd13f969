from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubjectAccessConfig(AppConfig):
    name = "sprechstunde.subject_access"
    label = "subject_access"
    verbose_name = _("Copies of one's own data")

    def task_worker_started(self) -> None:
        """Each worker, as it starts, removes the copies whose link has expired: the deferred
        job per copy may have been lost with a worker that died."""
        from .services import data_exports_expire

        data_exports_expire()
