"""The login form: Flask-Security's, without "remember me", and saying "disabled" only to
someone who gave the right password.

"Remember me" is gone: a portal login lives exactly as long as its row in the session
registry (``portal.auth.sessions``), which logout, a password change and deactivation
end; a year-long cookie beside it could never log anyone in, only look as if it would.
"""
from __future__ import annotations

from flask_security import LoginForm


class PortalLoginForm(LoginForm):
    """``Security(login_form=PortalLoginForm)``."""

    remember = None  # WTForms: a field set to None in a subclass is removed

    def validate(self, **kwargs) -> bool:
        valid = super().validate(**kwargs)
        if not valid and self.user_authenticated and self.user is not None \
                and not self.user.is_active:
            # Generic answers hide which accounts exist; this person knows the password.
            self.form_errors.append("This account is disabled.")
        return valid
