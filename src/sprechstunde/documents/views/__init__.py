"""Pages of the documents app: the client's list, upload page and open requests; staff upload
for a client, a client's documents and requests, the export and the overdue list; a
document's page with previews, downloads and deletion; the JSON API of resumable uploads.

Outside the rules every page is a 404. Content is sent only through the selectors (which
check access and audit), always as an attachment or an image with nosniff, never by URL.
"""

from .document import (
    DocumentDeleteView,
    DocumentDetailView,
    DocumentDownloadView,
    DocumentEvidenceCopyView,
    DocumentPreviewView,
)
from .portal import (
    PortalDocumentsView,
    PortalRequestsView,
    PortalUploadView,
)
from .staff import (
    ClientDocumentsView,
    ClientExportView,
    DocumentRequestCancelView,
    EfileMarkView,
    OverdueRequestsView,
    StaffUploadView,
)
from .uploads import (
    UploadSessionCreateView,
    UploadSessionView,
)

__all__ = [
    "ClientDocumentsView",
    "ClientExportView",
    "DocumentDeleteView",
    "DocumentDetailView",
    "DocumentDownloadView",
    "DocumentEvidenceCopyView",
    "DocumentPreviewView",
    "DocumentRequestCancelView",
    "EfileMarkView",
    "OverdueRequestsView",
    "PortalDocumentsView",
    "PortalRequestsView",
    "PortalUploadView",
    "StaffUploadView",
    "UploadSessionCreateView",
    "UploadSessionView",
]
