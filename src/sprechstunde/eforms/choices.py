from django.db import models
from django.utils.translation import gettext_lazy as _


class SubmissionStatus(models.TextChoices):
    """A form's way: the client fills a draft and submits it; staff take it (in progress),
    ask for more (the client's form reopens) or finish it (done)."""

    DRAFT = "draft", _("draft")
    RECEIVED = "received", _("received")
    IN_PROGRESS = "in_progress", _("in progress")
    NEEDS_MORE = "needs_more", _("needs more")
    DONE = "done", _("done")


class SubmissionOutcome(models.TextChoices):
    """For forms that ask for permission (the definition says `"decided_by_staff": true`,
    e.g. Ortsabwesenheit): the answer the client sees with its reason."""

    NONE = "", _("no decision")
    APPROVED = "approved", _("approved")
    REFUSED = "refused", _("refused")
