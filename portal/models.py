"""Every model in one import, for the factory, Alembic and the shell."""
from portal.auth.models import Role, RoleName, User
from portal.incidents.models import Comment, Incident, IncidentEvent

__all__ = ["Role", "RoleName", "User", "Incident", "IncidentEvent", "Comment"]
