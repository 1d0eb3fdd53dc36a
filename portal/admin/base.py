"""The one secure base for every Flask-Admin view: who may open it, CSRF on its forms,
and a clear answer (login page, 403) to everyone else."""
from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_admin.contrib.sqla import ModelView
from flask_security import current_user
from flask_wtf import FlaskForm

from portal.auth.models import RoleName


def has_any_role(roles: frozenset[str]) -> bool:
    return (current_user.is_authenticated and current_user.active
            and bool(current_user.role_names & roles))


class SecureView:
    """Mixin: the view opens only for users holding one of ``roles``."""

    roles: frozenset[str] = frozenset({RoleName.admin.value})

    def is_accessible(self) -> bool:
        return has_any_role(self.roles)

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("security.login", next=request.full_path))
        abort(403)


class SecureModelView(SecureView, ModelView):
    """A role-guarded model view. Its forms (and Flask-Admin's action form) are Flask-WTF
    forms, so they carry the same CSRF token as every other form of the app, which
    CSRFProtect checks on every POST."""

    form_base_class = FlaskForm
    page_size = 20
    can_set_page_size = True


class ReadOnlyModelView(SecureModelView):
    """Admins look, filter and search; nobody edits (audit trails, the outbox)."""

    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True
    column_default_sort = ("id", True)
