"""Writes of the documents app: resumable uploads, the processing pipeline (virus check →
conversion → encryption → previews → ready) and the worker's sweep, document requests, the
export and the e-file mark, deletion and master-key rotation. Callers import from this package."""

from .export import (
    ExportResult,
    document_efile_mark,
    document_export_for_user,
    exportable_documents,
    read_for_export,
)
from .processing import (
    document_process,
    documents_process_pending,
    documents_unfinished_requeue,
)
from .rebuild import documents_rebuild_pdfs
from .requests import (
    NOTE_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    client_uses_portal,
    document_request_cancel,
    document_request_create,
    document_request_fulfil,
    document_request_notify_created,
    document_request_remind,
    document_request_reminders_schedule,
    document_request_reminders_send_due,
    due_on_validate,
    remind_days,
    reminder_step_due,
)
from .storage import (
    document_blobs_delete,
    document_blobs_orphaned,
    document_delete,
    document_keys_rotate,
    document_previews_purge,
    documents_purge,
)
from .sweep import (
    documents_sweep,
    documents_sweep_schedule,
)
from .uploads import (
    ReadableStream,
    ReceivedFile,
    UploadLimitReached,
    UploadOffsetMismatch,
    document_create,
    document_upload_complete,
    upload_chunk_append,
    upload_dir,
    upload_path,
    upload_session_abort,
    upload_session_create,
    upload_sessions_expire,
)

__all__ = [
    "NOTE_MAX_LENGTH",
    "TITLE_MAX_LENGTH",
    "ExportResult",
    "ReadableStream",
    "ReceivedFile",
    "UploadLimitReached",
    "UploadOffsetMismatch",
    "client_uses_portal",
    "document_blobs_delete",
    "document_blobs_orphaned",
    "document_create",
    "document_delete",
    "document_efile_mark",
    "document_export_for_user",
    "document_keys_rotate",
    "document_previews_purge",
    "document_process",
    "document_request_cancel",
    "document_request_create",
    "document_request_fulfil",
    "document_request_notify_created",
    "document_request_remind",
    "document_request_reminders_schedule",
    "document_request_reminders_send_due",
    "document_upload_complete",
    "documents_process_pending",
    "documents_purge",
    "documents_rebuild_pdfs",
    "documents_sweep",
    "documents_sweep_schedule",
    "documents_unfinished_requeue",
    "due_on_validate",
    "exportable_documents",
    "read_for_export",
    "remind_days",
    "reminder_step_due",
    "upload_chunk_append",
    "upload_dir",
    "upload_path",
    "upload_session_abort",
    "upload_session_create",
    "upload_sessions_expire",
]
