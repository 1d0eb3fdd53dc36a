"""The one place the portal reaches into Flask-Admin beyond its public API.

Flask-Admin reads a filter's options once, when the view is built (before any request),
and offers no public way to read them again. The technician filter's options change as
accounts change, so each list page rebuilds the filter cache through the two methods
below, which are Flask-Admin's own internals (``flask_admin.model.base.BaseModelView``).
"""
from __future__ import annotations


class FreshFilterOptions:
    """Mixin for a ``ModelView`` whose filter options are read on every list page."""

    def _get_filter_groups(self):
        self._refresh_filters_cache()
        return super()._get_filter_groups()
