"""Grid filters that refuse what they do not know, instead of handing it to the database.

A filter value comes from the query string (a stale bookmark, a hand-edited URL), so it
is checked before it reaches SQL: an ``Equal`` filter with options accepts one of them
(an enum column would otherwise fail on ``bogus``), one on an integer column a bounded
integer; a ``UTCBetween`` range is read as UTC (the columns hold aware timestamps).
A value that fails is ignored, and the grid says so, naming the filter
(``SecureModelView.get_invalid_value_msg``).
"""
from __future__ import annotations

from datetime import timezone

from flask_admin.contrib.sqla.filters import DateTimeBetweenFilter, FilterEqual
from sqlalchemy import Integer

from portal.ids import parse_id


class Equal(FilterEqual):
    """``FilterEqual`` that validates: one of its options, or an id on an integer column."""

    def validate(self, value) -> bool:
        options = self.get_options(None)
        if options:
            return str(value) in {str(key) for key, _label in options}
        if isinstance(getattr(self.column, "type", None), Integer):
            return parse_id(value) is not None
        return super().validate(value)

    def clean(self, value):
        if isinstance(getattr(self.column, "type", None), Integer):
            return parse_id(value)
        return value


class UTCBetween(DateTimeBetweenFilter):
    """``DateTimeBetweenFilter`` over UTC timestamps: the picker's times are UTC."""

    def clean(self, value):
        return [moment.replace(tzinfo=timezone.utc) for moment in super().clean(value)]
