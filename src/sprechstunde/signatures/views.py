"""Pages to have a signed PDF checked: for signed-in people, and a public one for our seal.

The upload is read into memory, checked and discarded: nothing is stored, only an audit entry
with the file's SHA-256.
"""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View

from . import services
from .forms import PdfCheckForm


class SignatureCheckView(LoginRequiredMixin, View):
    """Staff and clients: check any signed PDF against the configured trust roots."""

    template_name = "signatures/check.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": PdfCheckForm(), "public": False})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = PdfCheckForm(request.POST, request.FILES)
        report = None
        if form.is_valid():
            report = services.validation_request_check(
                actor=request.user, pdf=form.cleaned_data["document"], request=request
            )
        status = 200 if report is not None else 400
        context = {"form": PdfCheckForm() if report else form, "report": report, "public": False}
        return render(request, self.template_name, context, status=status)


class PublicSealCheckView(View):
    """Anyone: does this PDF carry the intact seal of this Jobcenter? Rate-limited (429)."""

    template_name = "signatures/check.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": PdfCheckForm(), "public": True})

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            services.public_check_admit(request=request)
        except services.PublicCheckRateLimited as error:
            context = {"form": PdfCheckForm(), "public": True, "refusal": error.message}
            response = render(request, self.template_name, context, status=429)
            response["Retry-After"] = str(error.retry_after)
            return response
        form = PdfCheckForm(request.POST, request.FILES)
        report = None
        if form.is_valid():
            report = services.public_check(pdf=form.cleaned_data["document"], request=request)
        status = 200 if report is not None else 400
        context = {"form": PdfCheckForm() if report else form, "report": report, "public": True}
        return render(request, self.template_name, context, status=status)
