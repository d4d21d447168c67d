"""Who did it: the context attached to every audit event a service writes.

Web requests get their context from pghistory's HistoryMiddleware (user, URL);
services add the acting user explicitly so admin actions, jobs and management
commands are attributed too.
"""

import json

import pghistory
import pghistory.config


def audit_context(acting_user=None, **metadata):
    if acting_user is not None and getattr(acting_user, "pk", None):
        metadata.setdefault("user", acting_user.pk)
        metadata.setdefault("user_email", acting_user.email)
    return pghistory.context(**metadata)


def context_variables(context) -> list[str]:
    """The entered context's id and metadata as pghistory sets them before each statement: for a database function
    called as a prepared statement (which pghistory's statement prefix cannot reach) to set them itself."""
    return [str(context.id), json.dumps(context.metadata, cls=pghistory.config.json_encoder())]
