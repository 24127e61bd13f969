"""Root URL configuration. Each app owns its routes under a namespace."""

from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = settings.JOBCENTER_NAME

urlpatterns = [
    path("", include("sprechstunde.core.urls")),
    path("konto/", include("sprechstunde.accounts.urls")),
    path("klienten/", include("sprechstunde.clients.urls")),
    path("protokoll/", include("sprechstunde.audit.urls")),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("verwaltung/", admin.site.urls),
]
