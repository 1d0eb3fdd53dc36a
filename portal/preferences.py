"""``/preferences``: what a signed-in user sets for themselves — for now the time zone
pages show times in (``portal.display.zone``). The change goes through
``portal.auth.accounts.update_account``, which checks the zone."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_security import auth_required, current_user
from wtforms import SelectField

from portal.auth.accounts import AccountError, update_account
from portal.display import default_zone_label, zone_choices
from portal.extensions import db
from portal.plain_text_input import PortalForm

bp = Blueprint("preferences", __name__)


class PreferencesForm(PortalForm):
    # Checked by update_account: one rule for this page and the admins' Users view.
    time_zone = SelectField("Time zone", validate_choice=False,
                            description="Every time in the portal is shown in this zone, "
                                        "with the zone named.")


@bp.route("/preferences", methods=["GET", "POST"])
@auth_required("session")
def preferences():
    """Show the user's preferences; save a changed time zone, or say what is wrong."""
    form = PreferencesForm()
    form.time_zone.choices = zone_choices()
    if not form.is_submitted():
        form.time_zone.data = current_user.time_zone or ""
    elif form.validate():
        try:
            update_account(current_user, actor=current_user,
                           time_zone=form.time_zone.data or None)
            db.session.commit()
        except AccountError as refused:
            db.session.rollback()
            form.time_zone.errors = [*form.time_zone.errors, refused.message]
        else:
            shown = current_user.time_zone or default_zone_label()
            flash(f"Saved: times are now shown in {shown}.", "success")
            return redirect(url_for("preferences.preferences"))
    status = 422 if form.errors else 200
    return render_template("account/preferences.html", form=form, title="Preferences"), status
