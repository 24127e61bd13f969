"""The today page and its live update. Thin: one selector, one template."""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views import View

from sprechstunde.accounts.role_pages import CASELOAD_ROLES

from . import selectors

SECTIONS_TEMPLATE = "desk/includes/sections.html"


def _sections(request: HttpRequest, desk: selectors.Desk) -> tuple[str, str]:
    """The rendered sections and their digest (the live update compares digests)."""
    html = render_to_string(SECTIONS_TEMPLATE, {"desk": desk}, request=request)
    return html, hashlib.sha256(html.encode()).hexdigest()[:32]


class TodayView(LoginRequiredMixin, View):
    """The start page of a case manager or team lead: what needs doing today."""

    page_roles = CASELOAD_ROLES

    def get(self, request: HttpRequest) -> HttpResponse:
        desk = selectors.desk_for_user(user=request.user, action="desk.view")
        if desk is None:
            raise Http404
        html, digest = _sections(request, desk)
        context: dict[str, Any] = {
            "desk": desk,
            "sections": mark_safe(html),  # noqa: S308 - rendered from our template, escaped
            "digest": digest,
            "hide_waiting_notice": False,
        }
        return render(request, "desk/today.html", context)


class TodayLiveView(LoginRequiredMixin, View):
    """today.js asks with the digest it shows: 204 when nothing changed, else JSON with the
    sections' HTML, digest and summary (audited once as a refresh: it shows something new)."""

    page_roles = CASELOAD_ROLES

    def get(self, request: HttpRequest) -> HttpResponse:
        desk = selectors.desk_for_user(user=request.user, action=None)
        if desk is None:
            raise Http404
        html, digest = _sections(request, desk)
        if request.GET.get("digest", "") == digest:
            return HttpResponse(status=204)
        selectors.desk_shown(user=request.user)
        return JsonResponse({"digest": digest, "html": html, "summary": desk.summary})
