"""Single sign-on by OpenID Connect: allauth's client with stricter ID token checks (ADR 0071)."""
