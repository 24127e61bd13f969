from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View


class AuditListView(View):
    """Placeholder replaced by the audit work package."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "audit/list.html", {})
