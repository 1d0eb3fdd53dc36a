"""How incident lists are filtered and ordered: the sort keys, the filters and the text
search, listed once for the API's query schema, the API's list and the portal's grids."""
from __future__ import annotations

from sqlalchemy import ARRAY, Integer, any_, cast, exists, func, or_, select

from portal.auth.models import User
from portal.extensions import db
from portal.incidents.enums import Category, Priority, SlaState, Status
from portal.incidents.models import Incident

#: ``sort=`` values and their ORDER BY; ties broken by id so pages never overlap.
ORDER = {
    "created_at": (Incident.created_at.asc(), Incident.id.asc()),
    "-created_at": (Incident.created_at.desc(), Incident.id.desc()),
    "priority": (Incident.priority_rank.asc(), Incident.id.desc()),
    "-priority": (Incident.priority_rank.desc(), Incident.id.desc()),
    "updated_at": (Incident.updated_at.asc(), Incident.id.asc()),
    "-updated_at": (Incident.updated_at.desc(), Incident.id.desc()),
    "due_at": (Incident.due_at.asc(), Incident.id.asc()),
    "first_response_due_at": (Incident.first_response_due_at.asc(), Incident.id.asc()),
}
DEFAULT_ORDER = "-created_at"

#: Filters by values of a vocabulary: the column name and its enum. The API takes
#: several values per filter (``status=open&status=assigned``: either).
CHOICE_FILTERS = {"status": Status, "priority": Priority, "category": Category}
#: Filters by a person's id (several: any of them).
PERSON_FILTERS = ("technician_id", "reporter_id")
#: Filters by the stored SLA clock (apart from CHOICE_FILTERS: the grids number their
#: filters in order, and bookmarks hold those numbers).
SLA_FILTERS = {"sla_state": SlaState}
#: Filters by time: the filter's name, its column, and whether the column must be at or
#: after (``>=``) the given instant, or before it (``<``).
TIME_FILTERS = {
    "created_since": (Incident.created_at, ">="),
    "created_before": (Incident.created_at, "<"),
    "updated_since": (Incident.updated_at, ">="),
}
#: Filters by a yes/no rule of the model.
FLAG_FILTERS = {"overdue": Incident.is_overdue}


def _values(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _one_of(column, values: list):
    """``column IN (values)``; one value as ``column = value``, a statement SQLAlchemy
    compiles once, where an IN list is rendered again for every request."""
    return column == values[0] if len(values) == 1 else column.in_(values)


def filtered(query, args):
    """Narrow ``query`` by the filters present in ``args`` (and ``q``, the text search)."""
    for name in (*CHOICE_FILTERS, *PERSON_FILTERS, *SLA_FILTERS):
        if name in args:
            query = query.where(_one_of(getattr(Incident, name), _values(args[name])))
    for name, (column, relation) in TIME_FILTERS.items():
        if name in args:
            query = query.where(column >= args[name] if relation == ">="
                                else column < args[name])
    for name, rule in FLAG_FILTERS.items():
        if name in args:
            query = query.where(rule if args[name] else ~rule)
    if "q" in args:
        query = query.where(text_search(args["q"]))
    return query


def text_search(text: str):
    """``text`` anywhere in the title or description, or in the username of the reporter
    or the technician, ignoring case (``%`` and ``_`` are literal).

    SQLite's LIKE already ignores ASCII case, and its lower() folds nothing more, so there
    a plain LIKE finds the same rows without lowering every title and description first
    (30-40 ms instead of 85 ms over 100,000 incidents; still a scan). PostgreSQL's ILIKE
    reads the trigram indexes of migration 0005. People are matched among the users (a
    few thousand rows), then by the indexed reporter and technician ids; most searches
    name no one, and then (asked first, one small statement) the id conditions are left
    out: SQLite checked them on every row it scanned, a third of a search's work.
    """
    sqlite = db.engine.dialect.name == "sqlite"
    contains = "contains" if sqlite else "icontains"
    found = [getattr(Incident.title, contains)(text, autoescape=True),
             getattr(Incident.description, contains)(text, autoescape=True)]
    named = getattr(User.username, contains)(text, autoescape=True)
    if not db.session.scalar(select(exists().where(named))):
        return or_(*found)
    if sqlite:
        people = select(User.id).where(named)
        return or_(*found, Incident.reporter_id.in_(people), Incident.technician_id.in_(people))
    # "= ANY(the ids as one array)": PostgreSQL works the array out once and ORs the id
    # indexes with the trigram ones; "IN (subquery)" inside the OR was a filter on every
    # incident (a sequential scan, 170 ms at 100,000 incidents). The cast makes it
    # "ANY ((SELECT ...))", an array, not "ANY (SELECT ...)".
    ids = cast(select(func.array_agg(User.id)).where(named).scalar_subquery(), ARRAY(Integer))
    return or_(*found, Incident.reporter_id == any_(ids), Incident.technician_id == any_(ids))
