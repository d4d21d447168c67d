"""State machines declared once per model: the service checks a move, the database refuses any other.

A model lists its moves as ``TRANSITIONS = {from: {to, ...}}``; ``transition_trigger`` turns that into a
pgtrigger FSM trigger (an UPDATE to any other state fails in PostgreSQL, whoever issues it: a service,
the admin, a shell), and ``transition_check`` gives the service the same rule as a RegistryError with
the states named, before anything is written.
"""

import pgtrigger
from django.utils.translation import gettext as _

from gxregistry.errors import ErrorCode, RegistryError


def transition_pairs(transitions: dict) -> list[tuple[str, str]]:
    return sorted((str(old), str(new)) for old, targets in transitions.items() for new in targets)


def transition_trigger(name: str, transitions: dict, field: str = "status") -> pgtrigger.FSM:
    return pgtrigger.FSM(name=name, field=field, transitions=transition_pairs(transitions))


def transition_check(obj, new, *, field: str = "status") -> None:
    """Refuse unless ``obj`` may move from its current state to ``new`` (call it with the row locked)."""
    old = getattr(obj, field)
    if new not in type(obj).TRANSITIONS.get(old, ()):
        labels = dict(type(obj)._meta.get_field(field).choices)
        raise RegistryError(ErrorCode.INVALID_STATE, _("This cannot be done now: it is %(state)s.")
                            % {"state": labels.get(old, old)}, field)
