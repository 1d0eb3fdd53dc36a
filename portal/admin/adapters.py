"""The one module where the portal reaches into Flask-Admin beyond its public API.

Two reaches, each beside its reason:

- **Fresh filter options.** Flask-Admin reads a filter's options once, when the view is
  built (before any request), and offers no public way to read them again. The technician
  filter's options change as accounts change, so each list page rebuilds the filter cache
  through two of Flask-Admin's own internals (``_get_filter_groups`` and
  ``_refresh_filters_cache`` of ``flask_admin.model.base.BaseModelView``).
- **The edited row on its form.** A validator sees the form, not the row being edited
  (a holiday's one-per-day check must let the edited holiday keep its own date). The
  row is kept on the form as ``_obj``, the attribute Flask-Admin's own ``BaseForm`` and
  its ``Unique`` validator use; our forms are Flask-WTF's, which do not set it.
"""
from __future__ import annotations


class FreshFilterOptions:
    """Mixin for a ``ModelView`` whose filter options are read on every list page."""

    def _get_filter_groups(self):
        self._refresh_filters_cache()
        return super()._get_filter_groups()


class EditedRowOnForm:
    """Mixin for a ``ModelView`` whose validators ask ``edited_row(form)``."""

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        form._obj = obj
        return form


def edited_row(form):
    """Return the row ``form`` edits (None on a create form)."""
    return getattr(form, "_obj", None)
