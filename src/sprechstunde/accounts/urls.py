from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.ProfileView.as_view(), name="profile"),
    path("sitzungen/<int:pk>/beenden/", views.SessionEndView.as_view(), name="session_end"),
    path("vertretungen/", views.SubstitutionListView.as_view(), name="substitution_list"),
    path(
        "vertretungen/<int:pk>/beenden/",
        views.SubstitutionEndView.as_view(),
        name="substitution_end",
    ),
    path("mitarbeitende/", views.StaffListView.as_view(), name="staff_list"),
    path("mitarbeitende/neu/", views.StaffCreateView.as_view(), name="staff_create"),
    path("mitarbeitende/<int:pk>/", views.StaffUpdateView.as_view(), name="staff_update"),
    path("mitarbeitende/<int:pk>/aktion/", views.StaffActionView.as_view(), name="staff_action"),
    path("teams/", views.TeamListView.as_view(), name="team_list"),
    path("teams/<int:pk>/", views.TeamUpdateView.as_view(), name="team_update"),
]
