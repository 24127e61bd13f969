"""The application's URLs plus bench-only baselines under /__bench__/."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import include, path


def bare(request: HttpRequest) -> HttpResponse:
    """Baseline for bench/load.py: the same middleware stack, no database, no template."""
    return HttpResponse(b"ok", content_type="text/plain")


def shell(request: HttpRequest) -> HttpResponse:
    """Baseline for bench/page_weight.py: base.html with an empty content block."""
    return render(request, "bench/shell.html")


urlpatterns = [
    path("__bench__/bare/", bare, name="bench_bare"),
    path("__bench__/shell/", shell, name="bench_shell"),
    path("", include("config.urls")),
]

handler500 = "sprechstunde.core.error_pages.server_error"
