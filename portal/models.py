"""Every model in one import, for the factory, Alembic and the shell."""
from sqlalchemy.orm import configure_mappers

from portal.auth.models import AccessEvent, PersonalToken, Role, User, UserSession
from portal.auth.roles import RoleName
from portal.auth.limiter_storage import RateLimitCounter
from portal.idempotency import IdempotentRequest
from portal.incidents.models import Comment, Incident, IncidentEvent
from portal.mailin.models import InboundMail
from portal.notifications.models import OutboxMessage
from portal.attachments.models import Attachment, AttachmentBlob
from portal.sla.models import Holiday, SlaAlert
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint

__all__ = ["AccessEvent", "Role", "RoleName", "User", "UserSession", "RateLimitCounter",
           "Incident", "IncidentEvent", "Comment", "OutboxMessage",
           "InboundMail", "Attachment", "AttachmentBlob", "Holiday", "SlaAlert",
           "IdempotentRequest", "PersonalToken", "WebhookEndpoint", "WebhookDelivery"]


def configure() -> None:
    """Map every model now: their relationships name each other by string, so a broken
    one fails when the app is made, not at its first query."""
    configure_mappers()
