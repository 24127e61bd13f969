"""Writes of the agreements app: plans, decisions and their delivery, confirmations.

Every service checks access, audits the change (never content) and starts side effects
(sealing, notices, reminders) after commit. Callers import from this package.
"""

from .confirmations import (
    confirmation_code_send,
    confirmation_confirm,
    confirmation_create,
    confirmation_seal_attempt,
)
from .decisions import (
    decision_create,
    decision_issue,
    decision_mark_opened,
    decision_notice_deliver,
    decision_seal_attempt,
    decision_update,
    delivery_log_verify,
    postal_mark_sent,
    seals_due_ids,
)
from .plans import (
    plan_comment_add,
    plan_create,
    plan_issue,
    plan_mark_seen,
    plan_offer_talk,
    plan_review_reminders_send_due,
    plan_share,
    plan_update,
    review_date_latest,
)
from .templates import (
    decision_template_preview_context,
    decision_template_preview_pdf,
    plan_template_preview_content,
    plan_template_preview_pdf,
    template_create,
    template_draft_save,
    template_publish,
)

__all__ = [
    "confirmation_code_send",
    "confirmation_confirm",
    "confirmation_create",
    "confirmation_seal_attempt",
    "decision_create",
    "decision_issue",
    "decision_mark_opened",
    "decision_notice_deliver",
    "decision_seal_attempt",
    "decision_template_preview_context",
    "decision_template_preview_pdf",
    "decision_update",
    "delivery_log_verify",
    "plan_comment_add",
    "plan_create",
    "plan_issue",
    "plan_mark_seen",
    "plan_offer_talk",
    "plan_review_reminders_send_due",
    "plan_share",
    "plan_template_preview_content",
    "plan_template_preview_pdf",
    "plan_update",
    "postal_mark_sent",
    "review_date_latest",
    "seals_due_ids",
    "template_create",
    "template_draft_save",
    "template_publish",
]
