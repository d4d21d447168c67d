"""What each role sees first after signing in: it draws on every app, so it lives in the project package."""

from django.db.models import Count, Q

from accounts.compliance import compliance_year
from accounts.models import (
    BookingRequest,
    CompliancePeriod,
    HoldingAccount,
    Membership,
    Organisation,
    TransferRequest,
    User,
    VerifiedEmissions,
)
from accounts.roles import Role
from accounts.selectors import active_memberships, primary_role
from allocation.models import TransitionPlan
from allocation.selectors import application_list, emissions_by_fiscal_year, facility_list, waiting_for_administrators
from verification.models import Engagement
from verification.selectors import engagement_list

TEMPLATES = {
    Role.REGISTRY_ADMINISTRATOR: "dashboards/administrator.html",
    Role.MARKET_OPERATOR: "dashboards/market_operator.html",
    Role.AUTHORISED_REPRESENTATIVE: "dashboards/company.html",
    Role.APPROVING_REPRESENTATIVE: "dashboards/company.html",
    Role.VIEWER: "dashboards/company.html",
    Role.VERIFIER: "dashboards/verifier.html",
}


def template_for(user) -> str:
    if user.is_superuser and primary_role(user) is None:
        return TEMPLATES[Role.REGISTRY_ADMINISTRATOR]
    return TEMPLATES.get(primary_role(user), "dashboards/no_role.html")


def context_for(user) -> dict:
    memberships = list(active_memberships(fetched_by=user))
    organisations = [m.organisation for m in memberships]
    context = {"memberships": memberships, "role": primary_role(user)}
    role = primary_role(user)
    if role == Role.REGISTRY_ADMINISTRATOR or (user.is_superuser and role is None):
        context["organisation_counts"] = (
            Organisation.objects.values("kind").annotate(n=Count("pk")).order_by("kind")
        )
        context["kind_labels"] = dict(Organisation.Kind.choices)
        context["user_count"] = User.objects.filter(is_active=True).count()
        context["membership_count"] = Membership.objects.filter(ended_at__isnull=True).count()
        context["emissions"] = emissions_by_fiscal_year(fetched_by=user)
        # How complete the current FY's figure is: its total counts only entities whose emissions are verified.
        context["compliance_year"] = compliance_year()
        context["verified_count"] = VerifiedEmissions.objects.filter(fiscal_year=context["compliance_year"]).count()
        context["regulated_count"] = Organisation.objects.filter(kind=Organisation.Kind.REGULATED_ENTITY).count()
        context["facility_count"] = facility_list(fetched_by=user).count()
        context["pending_approvals"] = BookingRequest.objects.filter(
            status=BookingRequest.Status.AWAITING_APPROVAL).count()
        context["allocation_waiting"] = waiting_for_administrators()
        context["plans_to_review"] = TransitionPlan.objects.filter(status=TransitionPlan.Status.SUBMITTED).count()
    elif role == Role.VERIFIER:
        from django.utils import timezone

        context["open_engagements"] = engagement_list(fetched_by=user).filter(status__in=Engagement.OPEN)[:50]
        context["today"] = timezone.localdate()
    elif role == Role.MARKET_OPERATOR:
        context.update(market_operator_context())
    else:
        context["organisations"] = organisations
        # Regulated entities have facilities, emissions and compliance; trading operators trade and hold only.
        context["has_regulated_entity"] = any(o.kind == Organisation.Kind.REGULATED_ENTITY for o in organisations)
        context["holding_accounts"] = HoldingAccount.objects.restrict(user).filter(
            organisation__in=organisations).select_related("organisation").annotate(awaiting=Count(
                "outgoing_requests", filter=Q(outgoing_requests__status=TransferRequest.Status.AWAITING_APPROVAL)))
        context["compliance_year"] = compliance_year()
        context["compliance_period_open"] = CompliancePeriod.objects.filter(
            fiscal_year=context["compliance_year"]).exists()  # else the FY's pages are 404: no link to them
        context["facilities"] = facility_list(fetched_by=user, organisation=None)[:50]
        context["emissions"] = emissions_by_fiscal_year(fetched_by=user, organisations=organisations)
        context["allocation_applications"] = application_list(fetched_by=user, organisations=organisations)[:20]
        context["todo"] = company_todo(user, context["allocation_applications"], context["holding_accounts"])
        context["todo"] += plan_todo(user, organisations, context["compliance_year"]) if context[
            "compliance_period_open"] else []
    return context


def company_todo(user, applications, accounts) -> list[tuple[str, str]]:
    """What waits for this person, as the e-mails said it (gxregistry.notifications): (text, link)."""
    from django.urls import reverse
    from django.utils.translation import gettext as _

    from accounts.roles import ACT, APPROVE
    from accounts.templatetags.registry import in_reader_language
    from gxregistry.authorization import may

    todo = []
    for application in applications:
        if not may(user, ACT, application.organisation):
            continue
        if application.status == "returned":
            todo.append((_("Correct and resubmit the FY%(fy)s allocation application of %(entity)s")
                         % {"fy": application.fiscal_year, "entity": in_reader_language(application.organisation)},
                         application.get_absolute_url()))
        elif application.status == "draft":
            todo.append((_("Submit the FY%(fy)s allocation application of %(entity)s")
                         % {"fy": application.fiscal_year, "entity": in_reader_language(application.organisation)},
                         application.get_absolute_url()))
    for account in accounts:
        if account.awaiting and may(user, APPROVE, account.organisation):
            todo.append((_("Approve the transfers from %(account)s (%(n)s waiting)")
                         % {"account": account.number, "n": account.awaiting},
                         reverse("transfer_list", args=[account.pk])))
    return todo


def plan_todo(user, organisations, fiscal_year) -> list[tuple[str, str]]:
    """Transition plans waiting for this person, in any FY: to file (a draft; or none yet for ``fiscal_year``),
    to revise after METI returned it (a representative), to confirm (an approving representative)."""
    from django.urls import reverse
    from django.utils.translation import gettext as _

    from accounts.roles import ACT, APPROVE
    from accounts.templatetags.registry import in_reader_language
    from allocation.services.plans import files_for
    from gxregistry.authorization import may

    filers = [o for o in organisations if o.kind == Organisation.Kind.REGULATED_ENTITY and files_for(o) == o]
    latest = {(plan.organisation_id, plan.fiscal_year): plan for plan in TransitionPlan.objects.filter(
        organisation__in=filers).order_by("organisation_id", "fiscal_year", "-version")
        .distinct("organisation_id", "fiscal_year")}
    todo = []
    for organisation in filers:
        acts, approves = may(user, ACT, organisation), may(user, APPROVE, organisation)
        years = sorted({fy for (pk, fy) in latest if pk == organisation.pk} | {fiscal_year})
        for year in years:
            plan = latest.get((organisation.pk, year))
            url = reverse("transition_plan", args=[organisation.pk, year])
            words = {"fy": year, "entity": in_reader_language(organisation)}
            if acts and (plan is None or plan.status == TransitionPlan.Status.DRAFT):
                todo.append((_("File the FY%(fy)s transition plan of %(entity)s") % words, url))
            elif acts and plan.status == TransitionPlan.Status.RETURNED:
                todo.append((_("Revise the FY%(fy)s transition plan of %(entity)s that METI returned") % words, url))
            elif approves and plan is not None and plan.status == TransitionPlan.Status.FILED:
                todo.append((_("Confirm the FY%(fy)s transition plan of %(entity)s") % words, url))
    return todo


def market_operator_context() -> dict:
    """What the GX Acceleration Agency watches before and around the market (report §8, §1): who may trade,
    the FY's price corridor (the lower limit starts its reverse auction), and what moves between holders."""
    from datetime import timedelta

    from django.db.models import Sum
    from django.utils import timezone

    from accounts.models import CompliancePeriod, LedgerEntry, LedgerTransaction

    since = timezone.now() - timedelta(days=30)
    transfers = LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.TRANSFER, booked_at__gte=since)
    moved = (LedgerEntry.objects.filter(transaction__in=transfers, quantity__gt=0)
             .aggregate(quantity=Sum("quantity"))["quantity"] or 0)
    participants = {row["kind"]: row["n"] for row in Organisation.objects.filter(
        kind__in=[Organisation.Kind.REGULATED_ENTITY, Organisation.Kind.TRADING_OPERATOR])
        .values("kind").annotate(n=Count("pk"))}
    return {
        "todo": market_operator_todo(),
        "regulated_entity_count": participants.get(Organisation.Kind.REGULATED_ENTITY, 0),
        "trading_operator_count": participants.get(Organisation.Kind.TRADING_OPERATOR, 0),
        "trading_accounts": HoldingAccount.objects.filter(kind=HoldingAccount.Kind.TRADING)
        .select_related("organisation").order_by("number"),
        "periods": CompliancePeriod.objects.order_by("-fiscal_year")[:3],
        "transfers_30_days": transfers.count(), "transferred_30_days": moved,
    }


def market_operator_todo() -> list[tuple[str, str]]:
    """What waits for GXA's market operators, each linked to the page where it is done: applications to decide,
    surveillance alerts to review, reverse auctions taking offers, instruments halted by the band."""
    from django.urls import reverse
    from django.utils import timezone
    from django.utils.translation import ngettext

    from market.models import Alert, Instrument, Participant, ReverseAuction

    waiting = [
        (Participant.objects.filter(status=Participant.Status.APPLIED).count(), "market_operator",
         lambda n: ngettext("%(n)s trading operator's application to decide",
                            "%(n)s trading operators' applications to decide", n)),
        (Alert.objects.filter(status=Alert.Status.OPEN).count(), "market_surveillance",
         lambda n: ngettext("%(n)s surveillance alert to review", "%(n)s surveillance alerts to review", n)),
        (ReverseAuction.objects.filter(status=ReverseAuction.Status.OPEN).count(), "market_operator_auctions",
         lambda n: ngettext("%(n)s reverse auction open", "%(n)s reverse auctions open", n)),
        (Instrument.objects.filter(halted_until__gt=timezone.now()).count(), "market_operator_instruments",
         lambda n: ngettext("%(n)s instrument halted (a price outside the band)",
                            "%(n)s instruments halted (a price outside the band)", n)),
    ]
    return [(text(n) % {"n": n}, reverse(name)) for n, name, text in waiting if n]
