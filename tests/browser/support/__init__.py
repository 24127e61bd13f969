"""Helpers for the browser tests: live server, Chromium, page checks, crawler, logins."""
