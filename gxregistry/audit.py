"""Who did it: the context attached to every audit event a service writes.

Web requests get their context from pghistory's HistoryMiddleware (user, URL);
services add the acting user explicitly so admin actions, jobs and management
commands are attributed too.
"""

import pghistory


def audit_context(acting_user=None, **metadata):
    if acting_user is not None and getattr(acting_user, "pk", None):
        metadata.setdefault("user", acting_user.pk)
        metadata.setdefault("user_email", acting_user.email)
    return pghistory.context(**metadata)
