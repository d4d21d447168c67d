"""django-q2 jobs of the allocation app; they call services and nothing else."""

from accounts.models import User
from allocation.models import AllocationApplication
from allocation.services import cycle, notices


def allocation_run_execute(run_id: int) -> str:
    """The FY's allocation run (started by ``cycle.allocation_run_start``)."""
    run = cycle.allocation_run_execute(run_id)
    return f"FY{run.fiscal_year}: {run.done}/{run.total} issued, {len(run.failures)} failures"


def allocation_notice_make(application_id: int, user_id: int) -> str:
    """One notice, made by a worker once its application is issued, as the administrator who issued it. Returns
    its number (django-q2 keeps a task's result: not the PDF)."""
    return notices.notice_create(application=AllocationApplication.objects.get(pk=application_id),
                                 acting_user=User.objects.get(pk=user_id)).number
