"""Forms around login."""

from allauth.account.forms import RequestLoginCodeForm


class ClientLoginCodeForm(RequestLoginCodeForm):
    """Login by e-mailed code is for clients only; staff must use password plus MFA."""
