"""The kernel's one table: background jobs that must not be lost (gxregistry/jobs.py)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Job(models.Model):
    """A background job the registry owes: queued on django-q2, finished only when its function returned.

    django-q2's Redis broker has no delivery receipts (its ``retry`` works only for brokers that have them), so a
    worker cluster that dies takes the tasks it had pulled with it. This row is the receipt: ``jobs.resume_lost``
    queues again what was started or queued long ago and never finished. Jobs are idempotent (a notice is made
    once, a booking has its key), so running one twice changes nothing."""

    key = models.CharField(_("key"), max_length=200, unique=True)
    func = models.CharField(_("function"), max_length=200)
    args = models.JSONField(_("arguments"), default=list)
    enqueued_at = models.DateTimeField(_("queued at"))
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    started_on = models.CharField(_("started on (machine and process)"), max_length=200, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("job record")
        verbose_name_plural = _("job records")
        indexes = [models.Index(fields=["enqueued_at"], condition=models.Q(finished_at__isnull=True),
                                name="job_unfinished")]

    def __str__(self):
        return self.key
