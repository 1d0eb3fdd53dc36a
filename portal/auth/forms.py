"""The login and registration forms: Flask-Security's, with the portal's rules.

Login: no "remember me", and "disabled" or "not confirmed" said only to someone who gave
the right password. "Remember me" is gone: a portal login lives exactly as long as its
row in the session registry (``portal.auth.sessions``), which logout, a password change
and deactivation end; a year-long cookie beside it could never log anyone in, only look
as if it would.

Registration: an email or username held only by an unconfirmed registration is free
(``portal.auth.confirmation``): the new registration takes it, the datastore removes the
old one, and Flask-Security mails the new one its link. So the owner of an address that
someone registered first gets a registration of their own — never a link that would
confirm the other person's account and password.
"""
from __future__ import annotations

from flask_security import LoginForm, RegisterFormV2
from flask_security.utils import get_message


class PortalLoginForm(LoginForm):
    """``Security(login_form=PortalLoginForm)``."""

    remember = None  # WTForms: a field set to None in a subclass is removed

    def validate(self, **kwargs) -> bool:
        valid = super().validate(**kwargs)
        if not valid and self.user_authenticated and self.user is not None:
            # Generic answers hide which accounts exist; this person knows the password.
            if not self.user.is_active:
                self.form_errors.append("This account is disabled.")
            elif self.requires_confirmation:
                self.form_errors.append(
                    "This account's address is not confirmed yet: follow the link in the "
                    "mail we sent when you registered, or ask for a new one.")
        return valid


class PortalRegisterForm(RegisterFormV2):
    """``Security(register_form=PortalRegisterForm)``: Flask-Security's form, with an
    unconfirmed account's email and username counted as free."""

    def validate(self, **kwargs) -> bool:
        valid = super().validate(**kwargs)
        if valid:
            return True
        for field, holder, message in (
                (self.email, "existing_email_user", "EMAIL_ALREADY_ASSOCIATED"),
                (getattr(self, "username", None), "existing_username_user",
                 "USERNAME_ALREADY_ASSOCIATED")):
            user = getattr(self, holder)
            if field is None or user is None or user.confirmed_at is not None:
                continue
            # The "taken" error is the holder's only claim: drop it and the holder (the
            # view then registers, and the datastore removes the unconfirmed account).
            taken = get_message(message, **{field.name: field.data})[0]
            field.errors = [error for error in field.errors if error != taken]
            setattr(self, holder, None)
        return not self.errors
