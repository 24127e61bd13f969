"""Settings for `make bench` only: production settings plus two baseline views.

The baselines live in bench/urls_bench.py, which wraps config.urls; production URLs never
contain them.
"""

from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DIR, TEMPLATES

ROOT_URLCONF = "bench.urls_bench"
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]
