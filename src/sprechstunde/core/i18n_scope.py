"""Which source files a client meets, so that their texts exist in every client language.

Staff pages are in German and English only; whatever a client can read (portal pages, the
call page and its scripts' strings, error pages, mails, SMS, calendar texts, receipts) must
exist in all of `settings.CLIENT_LANGUAGES`. A file is client-facing when its path (relative
to `src/sprechstunde/`) matches one of these patterns. A file shared by both sides (the
conversation page, the call page) is client-facing. Over-inclusion costs translation work;
under-inclusion shows a client German, so when in doubt a file is listed.
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import PurePosixPath

CLIENT_FACING_PATTERNS: tuple[str, ...] = (
    # Shell, error pages, login by code (allauth's templates as the app overrides them)
    "templates/base.html",
    "templates/400.html",
    "templates/403.html",
    "templates/404.html",
    "templates/500.html",
    "templates/503.html",
    "core/error_pages.py",
    "templates/includes/*",
    "templates/account/*",
    "templates/allauth/*",
    "accounts/templates/429.html",
    "accounts/adapters.py",
    "accounts/forms/client_login.py",
    "accounts/login_budget.py",
    "accounts/templates/accounts/other_role_client.html",  # a client opening a staff page
    # Every text message (appointments, reminders, invitation, login code, notices)
    "templates/sms/*",
    # Invitation, consent, privacy, home, receipts, the client's own settings
    "clients/templates/clients/access_ended.html",
    "clients/templates/clients/consent_missing.html",
    "clients/templates/clients/invitation_*.html",
    "clients/templates/clients/portal_*.html",
    "clients/templates/clients/privacy.html",
    "clients/templates/clients/easy/*",
    "clients/templates/clients/includes/*",
    "clients/templates/clients/receipt.html",
    "clients/templates/clients/mail/*",
    "clients/choices.py",
    "clients/mails.py",
    "clients/receipts.py",
    "clients/forms.py",
    # Appointments: the portal, mails, SMS and calendar files
    "appointments/templates/appointments/portal_*.html",
    "appointments/templates/appointments/includes/next_card.html",
    "appointments/choices.py",
    "appointments/forms/portal.py",
    "appointments/ical.py",
    "appointments/links.py",
    "appointments/mails.py",
    "appointments/views/portal.py",
    "appointments/views/calendar_files.py",
    "appointments/views/reminder_links.py",
    "appointments/services/booking.py",
    "appointments/services/changes.py",
    # What the Jobcenter sent: plans, decisions, confirmations
    "agreements/templates/agreements/portal*.html",
    "agreements/templates/agreements/includes/postbox_tile.html",
    "agreements/templates/agreements/includes/plan_content.html",
    "agreements/templates/agreements/includes/comments.html",
    "agreements/services/common.py",
    "agreements/templates/agreements/mail/*",
    "agreements/services/confirmations.py",
    # Letters by post: the invitation and appointment letters
    "agreements/letters.py",
    "agreements/templates/agreements/pdf/letter*.html",
    # Documents sent by the client
    "documents/templates/documents/_status.html",
    "documents/templates/documents/upload.html",
    "documents/templates/documents/portal_list.html",
    "documents/templates/documents/delete.html",
    "documents/templates/documents/requests/portal_list.html",
    "documents/templates/documents/includes/portal_tile.html",
    "documents/choices.py",
    "documents/file_checks.py",
    "documents/forms.py",
    "documents/views/portal.py",
    "documents/views/uploads.py",
    "documents/services/uploads.py",
    "documents/services/requests.py",
    "documents/templates/documents/requests/mail/*",
    # The client's copy of her data, and the accessibility statement (public)
    "subject_access/templates/subject_access/portal.html",
    "subject_access/templates/subject_access/detail.html",
    "subject_access/templates/subject_access/package_index.html",
    "subject_access/choices.py",
    "subject_access/package.py",
    "subject_access/views.py",
    "audit/actions.py",  # the access log in her copy names the actions in her language
    "accessibility/templates/accessibility/statement.html",
    "accessibility/statement.py",
    "accessibility/forms.py",
    "accessibility/views.py",
    # The signature check pages: the public one offers every client language to visitors,
    # and clients check their decisions on the signed-in one
    "signatures/templates/signatures/check.html",
    "signatures/templates/signatures/includes/report.html",
    "signatures/forms.py",
    "signatures/services.py",
    "signatures/validation.py",
    # Forms: what staff send the client about her form (the message's frame, the notice)
    "eforms/templates/eforms/message/*",
    "eforms/templates/eforms/mail/notice*.txt",
    # Messages, both sides
    "messaging/templates/messaging/*",
    "messaging/templates/messaging/includes/*",
    "messaging/choices.py",
    "messaging/consumers.py",
    "messaging/forms.py",
    "messaging/services.py",
    "messaging/views.py",
    # The call, both sides
    "video_calls/templates/video_calls/call.html",
    "video_calls/templates/video_calls/ended.html",
    "video_calls/templates/video_calls/not_open.html",
    "video_calls/templates/video_calls/refused.html",
    "video_calls/templates/video_calls/join_link_refused.html",
    "video_calls/templates/video_calls/interpreter_name.html",
    "video_calls/templates/video_calls/includes/join.html",
    "video_calls/choices.py",
    "video_calls/consumers.py",
    "video_calls/forms.py",
    "video_calls/join_links.py",
    "video_calls/views.py",
    # Forms: the client's pages, the engine's messages, her PDF, the code mail and SMS
    "eforms/templates/eforms/portal/*",
    "eforms/templates/eforms/portal/includes/*",
    "eforms/templates/eforms/pdf/*",
    "eforms/templates/eforms/mail/*",
    "eforms/templates/eforms/includes/portal_tile.html",
    "eforms/fields.py",
    "eforms/rendering.py",
    "eforms/services/client.py",
    "eforms/views/portal.py",
)


def is_client_facing(path: str) -> bool:
    """Whether a source path (as in a catalogue's `#:` line) belongs to what a client meets."""
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if "sprechstunde" in parts:
        parts = parts[parts.index("sprechstunde") + 1 :]
    relative = "/".join(parts)
    return any(fnmatch(relative, pattern) for pattern in CLIENT_FACING_PATTERNS)
