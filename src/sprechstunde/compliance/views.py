"""The data-protection officer's page: the papers from the running configuration."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views import View

from sprechstunde.accounts.choices import Role
from sprechstunde.audit.services import audit_record

from .configuration import configuration_from_settings
from .papers import paper_markdown, papers_build
from .permissions import can_read_compliance_papers
from .writing import RUNNING_SOURCE

TARGET_TYPE = "compliance.papers"


class PapersAccessMixin(LoginRequiredMixin):
    """Anonymous visitors go to the login; anyone but the DPO gets 404, logged."""

    page_roles = (Role.DATA_PROTECTION_OFFICER,)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not can_read_compliance_papers(user=request.user):
            audit_record(
                actor=request.user,
                action="compliance.access_denied",
                target_type=TARGET_TYPE,
                request=request,
            )
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class PapersView(PapersAccessMixin, View):
    """All four papers on one page, each with a Markdown download."""

    def get(self, request: HttpRequest) -> HttpResponse:
        papers = papers_build(config=configuration_from_settings(settings))
        audit_record(
            actor=request.user, action="compliance.view", target_type=TARGET_TYPE, request=request
        )
        return render(request, "compliance/papers.html", {"papers": papers})


class PaperDownloadView(PapersAccessMixin, View):
    """One paper as a Markdown file (?paper=<slug>), to file or to edit."""

    def get(self, request: HttpRequest) -> HttpResponse:
        papers = {p.slug: p for p in papers_build(config=configuration_from_settings(settings))}
        paper = papers.get(request.GET.get("paper", ""))
        if paper is None:
            raise Http404
        audit_record(
            actor=request.user,
            action="compliance.export",
            target_type=TARGET_TYPE,
            target_id=paper.slug,
            request=request,
        )
        response = HttpResponse(
            paper_markdown(paper, source=RUNNING_SOURCE),
            content_type="text/markdown; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{paper.filename}"'
        return response
