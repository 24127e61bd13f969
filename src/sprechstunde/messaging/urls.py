from django.urls import path

from . import views

app_name = "messaging"

urlpatterns = [
    # Staff: every conversation of the caseload, and one client's conversation
    path("", views.InboxView.as_view(), name="inbox"),
    path(
        "klient/<int:client_pk>/",
        views.ClientConversationView.as_view(),
        name="client_conversation",
    ),
    # chat.js: the current state of a conversation's attachments (while they are checked)
    path(
        "<int:conversation_pk>/anhaenge/",
        views.AttachmentStatesView.as_view(),
        name="attachment_states",
    ),
    # The client portal: the client's own conversation
    path("portal/", views.PortalConversationView.as_view(), name="portal"),
]
