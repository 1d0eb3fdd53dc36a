"""Every model in one import, for the factory, Alembic and the shell."""
from portal.auth.models import AccessEvent, Role, RoleName, User, UserSession
from portal.incidents.models import Comment, Incident, IncidentEvent

__all__ = ["AccessEvent", "Role", "RoleName", "User", "UserSession",
           "Incident", "IncidentEvent", "Comment"]
