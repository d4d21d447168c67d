"""django-q2 jobs of the market; they call services and nothing else."""

from market.services.orders import orders_expire_due
from market.services.surveillance import surveillance_scan_due


def end_of_session() -> dict:
    """Every quarter of an hour: once an instrument's session has closed, its day orders expire and the day is
    scanned for surveillance alerts (both are no-ops before the close and when run again)."""
    return {"expired": orders_expire_due(), "alerts": surveillance_scan_due()}
