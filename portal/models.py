"""Every model in one import, for the factory, Alembic and the shell."""
from portal.auth.models import AccessEvent, Role, RoleName, User, UserSession
from portal.auth.limiter_storage import RateLimitCounter
from portal.incidents.models import Comment, Incident, IncidentEvent
from portal.notifications.models import OutboxMessage
from portal.attachments.models import Attachment, AttachmentBlob

__all__ = ["AccessEvent", "Role", "RoleName", "User", "UserSession", "RateLimitCounter",
           "Incident", "IncidentEvent", "Comment", "OutboxMessage",
           "Attachment", "AttachmentBlob"]
