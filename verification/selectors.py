"""Reads of the verification app that take the user (or are public by design)."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Case, F, Q, Value, When

from verification.models import ActivityReport, Engagement, Misstatement, Opinion, VerificationBody


def public_bodies():
    """Every body that holds or held a registration: the public list (§4), no login."""
    return VerificationBody.objects.filter(registration_number__isnull=False).select_related(
        "organisation").order_by("registration_number")


def engagement_list(*, fetched_by):
    """The engagements the user may see, the work still open first (soonest due first), then the rest, newest
    first."""
    still_open = Case(When(status__in=Engagement.OPEN, then=Value(0)), default=Value(1))
    return Engagement.objects.restrict(fetched_by).select_related(
        "body__organisation", "report__organisation").order_by(
        still_open, Case(When(status__in=Engagement.OPEN, then=F("due_on"))), "-appointed_at")


def oversight_rows(*, today):
    """Per body: engagements, open ones, late ones (open past the due date, or signed after it), opinions
    by kind, misstatements found and their size against the reported figures."""
    rows = {body.pk: {"body": body, "engagements": 0, "open": 0, "late": 0,
                      "opinions": defaultdict(int), "misstatements": 0, "misstatement_t": Decimal(0),
                      "reported_t": 0}
            for body in VerificationBody.objects.select_related("organisation").order_by("organisation__name")}
    for engagement in Engagement.objects.exclude(status=Engagement.Status.WITHDRAWN).select_related("report"):
        row = rows[engagement.body_id]
        row["engagements"] += 1
        if engagement.status in Engagement.OPEN:
            row["open"] += 1
            row["late"] += engagement.due_on < today
    for opinion in Opinion.objects.select_related("engagement"):
        row = rows[opinion.engagement.body_id]
        row["opinions"][opinion.kind] += 1
        row["late"] += opinion.signed_at.date() > opinion.engagement.due_on
        row["reported_t"] += opinion.reported_t
    for misstatement in Misstatement.objects.filter(~Q(engagement__status=Engagement.Status.WITHDRAWN)).select_related(
            "engagement"):
        row = rows[misstatement.engagement.body_id]
        row["misstatements"] += 1
        row["misstatement_t"] += abs(misstatement.amount_t)
    for row in rows.values():
        row["misstatement_share"] = row["misstatement_t"] / row["reported_t"] if row["reported_t"] else None
        row["opinions"] = {kind: row["opinions"].get(kind, 0) for kind in Opinion.Kind.values}
    return list(rows.values())


def activity_reports():
    return ActivityReport.objects.select_related("body__organisation", "submitted_by").order_by(
        "-fiscal_year", "body__organisation__name")
