"""django-q2 jobs of the allocation app; they call services and nothing else."""

from accounts.models import User
from allocation.models import AllocationApplication, AllocationNotice
from allocation.services import cycle, notices


def allocation_run_execute(run_id: int):
    """The FY's allocation run (started by ``cycle.allocation_run_start``)."""
    return cycle.allocation_run_execute(run_id)


def allocation_notice_make(application_id: int, user_id: int) -> AllocationNotice:
    """One notice, made by a worker once its application is issued, as the administrator who issued it."""
    return notices.notice_create(application=AllocationApplication.objects.get(pk=application_id),
                                 acting_user=User.objects.get(pk=user_id))
