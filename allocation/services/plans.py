"""Transition plans (§7): filing, confirming, accepting and returning; the figures' import.

Each act is one atomic service that locks the plan, authorizes the actor on the plan's entity and checks the
transition (``TransitionPlan.TRANSITIONS``, which the database enforces too). A representative edits a draft
and files it; an approving representative confirms it (it goes to METI) or sends it back; an administrator
accepts or returns it. A returned or accepted version is never changed: ``plan_create`` starts the next version
from it, so earlier versions stay as they were filed. Choices and their § are in docs/transition-plans.md.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import CompliancePeriod, Organisation, VerifiedEmissions
from accounts.roles import ACT, APPROVE, Role
from allocation.engine import LineKind
from allocation.models import (
    PROJECTION_YEARS,
    AllocationApplication,
    PlanDocument,
    PlanEmissions,
    PlanInvestment,
    PlanResearch,
    TransitionPlan,
)
from allocation.models.plans import FIRST_ACTUAL_YEAR
from gxregistry.audit import audit_context
from gxregistry.authorization import authorize, state_change
from gxregistry.errors import ErrorCode, FieldChecks, RegistryError
from gxregistry.importing import FORMATS_BY_EXTENSION, UnreadableFile, read_dataset
from gxregistry.notifications import notify, people
from gxregistry.transitions import transition_check
from gxregistry.uploads import PDF, save_with_file, upload_check

REVIEW_PLANS = "allocation.change_transitionplan"
P = TransitionPlan.Status
TEXT_FIELDS = ("group_boundary", "rd_expenses_yen", "rd_initiatives", "other_initiatives")
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50  # items 3 and 4: more is a file for item 5, not a form


def _refuse(message, field=None, code=ErrorCode.INVALID_INPUT):
    raise RegistryError(code, message, field)


def _locked(plan: TransitionPlan) -> TransitionPlan:
    return TransitionPlan.objects.select_for_update(no_key=True).select_related("organisation").get(pk=plan.pk)


def _move(plan: TransitionPlan, status: str) -> None:
    transition_check(plan, status)
    plan.status = status


def _locked_draft(plan: TransitionPlan, acting_user) -> TransitionPlan:
    """The plan locked for its representative to change: only a draft is changed."""
    plan = _locked(plan)
    authorize(acting_user, ACT, plan.organisation)
    if plan.status != P.DRAFT:
        _refuse(_("This cannot be done now: it is %(state)s.") % {"state": plan.get_status_display()}, "status",
                ErrorCode.INVALID_STATE)
    return plan


def _tell(plan, recipients, subject, body, **params) -> None:
    notify(recipients, subject=subject, body=body, path=plan.get_absolute_url(),
           params={"entity": plan.organisation, "fy": plan.fiscal_year, **params})


def actual_years(fiscal_year: int) -> range:
    """The FYs whose actual emissions (item 2) a plan for ``fiscal_year`` reports: from the baseline years up to
    the FY before it (the plan's own FY has not ended when it is filed)."""
    return range(FIRST_ACTUAL_YEAR, fiscal_year)


def rd_recipient(organisation, fiscal_year: int) -> bool:
    """Whether the entity receives the GX R&D additional allocation (§6-3) for the FY: its allocation as computed
    (or approved, or issued) has an R&D line above zero. Item 4 is required only then (§7)."""
    application = (AllocationApplication.objects.filter(
        organisation=organisation, fiscal_year=fiscal_year,
        status__in=[AllocationApplication.Status.COMPUTED, AllocationApplication.Status.APPROVED,
                    AllocationApplication.Status.ISSUED]).only("computed_lines").order_by("-version").first())
    return application is not None and any(
        line["kind"] == str(LineKind.RD) and Decimal(line["amount"] or 0) > 0 for line in application.computed_lines)


def files_for(organisation):
    """Who files the entity's plan: itself, or the notifying entity of the joint-notification group it is in."""
    stakeholder = getattr(organisation, "stakeholder_of", None)
    return stakeholder.group.notifying_entity if stakeholder is not None else organisation


# --- a new version --------------------------------------------------------------------------------------

@state_change
def plan_create(*, organisation: Organisation, fiscal_year: int, acting_user) -> TransitionPlan:
    """Start the FY's plan, or its next version after one was returned or accepted. It starts from the latest
    version of the FY, else from the latest accepted plan of an earlier FY; actual direct emissions come from the
    verified emissions the registry holds."""
    with transaction.atomic(), audit_context(acting_user, action="plan_create", fiscal_year=fiscal_year):
        organisation = Organisation.objects.select_for_update(no_key=True).get(pk=organisation.pk)  # one version number at a time
        authorize(acting_user, ACT, organisation)
        if organisation.kind != Organisation.Kind.REGULATED_ENTITY:
            _refuse(_("Only a regulated entity files a transition plan."), "organisation")
        if files_for(organisation) != organisation:
            _refuse(_("%(entity)s files the transition plan for its joint-notification group.")
                    % {"entity": files_for(organisation)}, "organisation", ErrorCode.INVALID_STATE)
        if not CompliancePeriod.objects.filter(fiscal_year=fiscal_year).exists():
            _refuse(_("FY%(fy)s has no compliance period yet.") % {"fy": fiscal_year}, "fiscal_year",
                    ErrorCode.INVALID_STATE)
        plans = TransitionPlan.objects.filter(organisation=organisation)
        if plans.filter(fiscal_year=fiscal_year, status__in=TransitionPlan.OPEN).exists():
            _refuse(_("This FY's plan is already being prepared."), "status", ErrorCode.INVALID_STATE)
        source = (plans.filter(fiscal_year=fiscal_year).order_by("-version").first()
                  or plans.filter(fiscal_year__lt=fiscal_year, status=P.ACCEPTED)
                  .order_by("-fiscal_year", "-version").first())
        version = (plans.filter(fiscal_year=fiscal_year).aggregate(v=Max("version"))["v"] or 0) + 1
        plan = TransitionPlan.objects.create(
            organisation=organisation, fiscal_year=fiscal_year, version=version, created_by=acting_user,
            **({name: getattr(source, name) for name in TEXT_FIELDS} if source else {}))
        if source is not None:
            _copy_items(source, plan)
        _prefill_verified(plan)
    return plan


def _copy_items(source: TransitionPlan, plan: TransitionPlan) -> None:
    years = set(actual_years(plan.fiscal_year)) | set(PROJECTION_YEARS)
    PlanEmissions.objects.bulk_create(
        PlanEmissions(plan=plan, kind=row.kind, fiscal_year=row.fiscal_year, direct_t=row.direct_t,
                      indirect_t=row.indirect_t)
        for row in source.emissions.all()
        if row.fiscal_year in years and (row.kind == PlanEmissions.Kind.PROJECTED
                                         or row.fiscal_year < plan.fiscal_year))
    for model, fields in ((PlanInvestment, ("stage", "measure", "facilities", "timing", "effect_t_per_year",
                                            "position")),
                          (PlanResearch, ("kind", "reference", "technology_category", "position")),
                          (PlanDocument, ("title", "url", "file", "size", "sha256", "position"))):
        model.objects.bulk_create(model(plan=plan, **{f: getattr(row, f) for f in fields})
                                  for row in model.objects.filter(plan=source))


def _prefill_verified(plan: TransitionPlan) -> None:
    """Item 2's direct emissions are the verified ones wherever verification has them."""
    verified = dict(VerifiedEmissions.objects.filter(
        organisation=plan.organisation, fiscal_year__in=actual_years(plan.fiscal_year))
        .values_list("fiscal_year", "emissions_t"))
    for fiscal_year, emissions_t in verified.items():
        PlanEmissions.objects.update_or_create(plan=plan, kind=PlanEmissions.Kind.ACTUAL, fiscal_year=fiscal_year,
                                               defaults={"direct_t": emissions_t})


def verified_direct(plan: TransitionPlan) -> dict[int, int]:
    return dict(VerifiedEmissions.objects.filter(organisation=plan.organisation,
                                                 fiscal_year__in=actual_years(plan.fiscal_year))
                .values_list("fiscal_year", "emissions_t"))


# --- the draft's contents -------------------------------------------------------------------------------

def _whole(value, field, *, required=True) -> int | None:
    if value in (None, ""):
        if required:
            _refuse(_("Enter a number."), field)
        return None
    try:
        number = Decimal(str(value).replace(",", "").replace("，", "").strip())
    except InvalidOperation:
        _refuse(_("Enter a whole number of tonnes, e.g. 125000."), field)
    if not number.is_finite() or number != number.to_integral_value() or number < 0 or number >= 10 ** 15:
        _refuse(_("Enter a whole number of tonnes, e.g. 125000."), field)
    return int(number)


@state_change
def plan_update(*, plan: TransitionPlan, acting_user, **texts) -> TransitionPlan:
    """The draft's group boundary, R&D expenses and item 5 texts."""
    unknown = set(texts) - set(TEXT_FIELDS)
    if unknown:
        raise TypeError(f"unknown plan fields: {sorted(unknown)}")
    if "rd_expenses_yen" in texts:
        texts["rd_expenses_yen"] = _whole(texts["rd_expenses_yen"], "rd_expenses_yen", required=False)
    with transaction.atomic(), audit_context(acting_user, action="plan_update"):
        plan = _locked_draft(plan, acting_user)
        for name, value in texts.items():
            setattr(plan, name, value.strip() if isinstance(value, str) else value)
        plan.save(update_fields=list(texts))
    return plan


@state_change
def plan_emissions_save(*, plan: TransitionPlan, rows: list[dict], acting_user) -> TransitionPlan:
    """Items 1 and 2: ``rows`` of {kind, fiscal_year, direct_t, indirect_t}, replacing the draft's. A row
    with neither figure is left out; a verified year's direct emissions are the verified ones."""
    cleaned, check = {}, FieldChecks()  # every figure checked, every wrong one named
    for row in rows:
        kind, fiscal_year = row.get("kind"), row.get("fiscal_year")
        field = f"{kind}_{fiscal_year}"
        if kind not in PlanEmissions.Kind.values:
            _refuse(_("Say whether the figures are projected or actual."), "kind")
        years = PROJECTION_YEARS if kind == PlanEmissions.Kind.PROJECTED else actual_years(plan.fiscal_year)
        if fiscal_year not in years:
            _refuse(_("%(kind)s emissions are for FY%(first)s to FY%(last)s.")
                    % {"kind": PlanEmissions.Kind(kind).label, "first": years[0], "last": years[-1]}, field)
        if (kind, fiscal_year) in cleaned:
            _refuse(_("FY%(fy)s appears twice.") % {"fy": fiscal_year}, field)
        direct = check(_whole, row.get("direct_t"), f"{field}_direct", required=False)
        indirect = check(_whole, row.get("indirect_t"), f"{field}_indirect", required=False)
        if check.failed(f"{field}_direct", f"{field}_indirect") or (direct is None and indirect is None):
            continue
        if direct is None:
            check(_refuse, _("Enter the direct emissions too."), f"{field}_direct")
        cleaned[(kind, fiscal_year)] = (direct, indirect)
    check.done()
    with transaction.atomic(), audit_context(acting_user, action="plan_emissions_save"):
        plan = _locked_draft(plan, acting_user)
        plan.emissions.all().delete()
        PlanEmissions.objects.bulk_create(
            PlanEmissions(plan=plan, kind=kind, fiscal_year=fiscal_year, direct_t=direct, indirect_t=indirect)
            for (kind, fiscal_year), (direct, indirect) in sorted(cleaned.items()))
        _prefill_verified(plan)
    return plan


# Column names a file may use for items 1 and 2 (Japanese or English).
EMISSIONS_IMPORT_COLUMNS = {
    "kind": ("kind", "区分"), "fiscal_year": ("fiscal_year", "年度"),
    "direct_t": ("direct_t", "直接排出量", "直接排出"), "indirect_t": ("indirect_t", "間接排出量", "間接排出"),
}
EMISSIONS_IMPORT_KINDS = {"projected": "projected", "予測": "projected", "見通し": "projected", "目標": "projected",
                "actual": "actual", "実績": "actual"}


def emissions_rows_from_file(data: bytes, filename: str) -> list[dict]:
    """Items 1 and 2 from a CSV (UTF-8 or Shift_JIS) or XLSX with columns kind, fiscal_year, direct_t,
    indirect_t (or 区分, 年度, 直接排出量, 間接排出量). A bad row is refused naming its line and column."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in FORMATS_BY_EXTENSION:
        _refuse(_("Upload a CSV or XLSX file."), "file")
    try:
        dataset = read_dataset(data, FORMATS_BY_EXTENSION[extension])
    except UnreadableFile as error:
        _refuse(str(error), "file")
    headers = {str(h or "").strip().lstrip("\ufeff"): i for i, h in enumerate(dataset.headers or [])}
    columns = {}
    for name, aliases in EMISSIONS_IMPORT_COLUMNS.items():
        found = next((headers[a] for a in aliases if a in headers), None)
        if found is None:
            _refuse(_("The file has no column “%(column)s” (or “%(alias)s”).")
                    % {"column": aliases[0], "alias": aliases[1]}, "file")
        columns[name] = found
    rows = []
    for line, values in enumerate(dataset, start=2):
        if not any(str(v or "").strip() for v in values):
            continue
        kind = EMISSIONS_IMPORT_KINDS.get(str(values[columns["kind"]] or "").strip().lower())
        if kind is None:
            _refuse(_("Line %(line)s, column %(column)s: write projected or actual (予測 or 実績).")
                    % {"line": line, "column": "kind"}, "file")
        year_text = str(values[columns["fiscal_year"]] or "").strip().upper().removeprefix("FY").removesuffix("年度")
        if not year_text.removesuffix(".0").isdigit():
            _refuse(_("Line %(line)s, column %(column)s: write the fiscal year, e.g. 2030.")
                    % {"line": line, "column": "fiscal_year"}, "file")
        row = {"kind": kind, "fiscal_year": int(year_text.removesuffix(".0"))}
        for name in ("direct_t", "indirect_t"):
            value = values[columns[name]]
            try:
                row[name] = _whole(value, name, required=False)
            except RegistryError as error:
                _refuse(_("Line %(line)s, column %(column)s: %(problem)s")
                        % {"line": line, "column": name, "problem": error.message}, "file")
        rows.append(row)
    if not rows:
        _refuse(_("The file has no rows."), "file")
    return rows


@state_change
def plan_emissions_import(*, plan: TransitionPlan, data: bytes, filename: str, acting_user) -> TransitionPlan:
    """Items 1 and 2 from a file: the file's years replace the draft's, the others stay."""
    rows = emissions_rows_from_file(data, filename)
    with transaction.atomic():
        plan = _locked_draft(plan, acting_user)
        imported = {(row["kind"], row["fiscal_year"]) for row in rows}
        kept = [{"kind": r.kind, "fiscal_year": r.fiscal_year, "direct_t": r.direct_t, "indirect_t": r.indirect_t}
                for r in plan.emissions.all() if (r.kind, r.fiscal_year) not in imported]
        try:
            return plan_emissions_save(plan=plan, rows=kept + rows, acting_user=acting_user)
        except RegistryError as error:
            _refuse(_("%(where)s: %(problem)s") % {"where": error.field, "problem": error.message}, "file")


def _rows(rows, fields: dict, field_prefix: str) -> list[dict]:
    """Clean item 3 or 4 rows: ``fields`` maps each name to (required, cleaner or None)."""
    if len(rows) > MAX_ROWS:
        _refuse(_("At most %(count)s rows.") % {"count": MAX_ROWS}, field_prefix)
    cleaned = []
    for index, row in enumerate(rows):
        out = {}
        for name, (required, clean) in fields.items():
            value = row.get(name)
            value = value.strip() if isinstance(value, str) else value
            where = f"{field_prefix}-{index}-{name}"
            if value in (None, ""):
                if required:
                    _refuse(_("Row %(row)s: fill in %(field)s.") % {"row": index + 1, "field": name}, where)
                value = ""
            out[name] = clean(value, where) if clean else value
        cleaned.append(out | {"position": index})
    return cleaned


def _choice(choices):
    def clean(value, where):
        if value not in choices.values:
            _refuse(_("Choose one of the options."), where)
        return value
    return clean


@state_change
def plan_investments_save(*, plan: TransitionPlan, rows: list[dict], acting_user) -> TransitionPlan:
    """Item 3 (submission only): the capital investment plans and results, replacing the draft's."""
    cleaned = _rows(rows, {"stage": (True, _choice(PlanInvestment.Stage)), "measure": (True, None),
                           "facilities": (True, None), "timing": (True, None),
                           "effect_t_per_year": (True, lambda v, where: _whole(v, where))}, "investments")
    with transaction.atomic(), audit_context(acting_user, action="plan_investments_save"):
        plan = _locked_draft(plan, acting_user)
        plan.investments.all().delete()
        PlanInvestment.objects.bulk_create(PlanInvestment(plan=plan, **row) for row in cleaned)
    return plan


@state_change
def plan_research_save(*, plan: TransitionPlan, rows: list[dict], acting_user) -> TransitionPlan:
    """Item 4①②: GX patent applications and Green Innovation Fund projects, replacing the draft's."""
    cleaned = _rows(rows, {"kind": (True, _choice(PlanResearch.Kind)), "reference": (True, None),
                           "technology_category": (True, None)}, "research")
    with transaction.atomic(), audit_context(acting_user, action="plan_research_save"):
        plan = _locked_draft(plan, acting_user)
        plan.research.all().delete()
        PlanResearch.objects.bulk_create(PlanResearch(plan=plan, **row) for row in cleaned)
    return plan


@state_change
def plan_document_add(*, plan: TransitionPlan, title: str, url: str = "", upload=None, acting_user) -> PlanDocument:
    """Item 5①: a public strategy document, as a link (https) or a PDF."""
    title = (title or "").strip()
    if not title:
        _refuse(_("Give the document's title."), "title")
    url = (url or "").strip()
    if bool(url) == bool(upload):
        _refuse(_("Give either a link or a PDF file."), "url")
    if url and not url.lower().startswith("https://"):
        _refuse(_("Give an https:// link."), "url")
    checked = upload_check(upload, types=PDF, max_bytes=MAX_DOCUMENT_BYTES) if upload else None
    with transaction.atomic(), audit_context(acting_user, action="plan_document_add"):
        plan = _locked_draft(plan, acting_user)
        document = PlanDocument(plan=plan, title=title[:200], url=url, position=plan.documents.count(),
                                size=checked.size if checked else 0, sha256=checked.sha256 if checked else "")
        if checked:
            save_with_file(document, "file", upload, checked)
        else:
            document.save()
    return document


@state_change
def plan_document_remove(*, document: PlanDocument, acting_user) -> None:
    with transaction.atomic(), audit_context(acting_user, action="plan_document_remove"):
        _locked_draft(document.plan, acting_user)
        document.delete()  # the stored file may belong to an earlier version too: it stays


# --- what filing needs ----------------------------------------------------------------------------------

def plan_missing(plan: TransitionPlan) -> dict[str, str]:
    """What stops the plan being filed, by field: empty when it is complete."""
    missing = {}
    rows = {(r.kind, r.fiscal_year): r for r in plan.emissions.all()}
    for fiscal_year in PROJECTION_YEARS:
        row = rows.get((PlanEmissions.Kind.PROJECTED, fiscal_year))
        if row is None or row.indirect_t is None:
            missing[f"projected_{fiscal_year}"] = _("Item 1: projected direct and indirect emissions for FY%(fy)s.") \
                % {"fy": fiscal_year}
    previous = plan.fiscal_year - 1
    row = rows.get((PlanEmissions.Kind.ACTUAL, previous))
    if row is None or row.indirect_t is None:
        missing[f"actual_{previous}"] = _("Item 2: actual direct and indirect emissions for FY%(fy)s.") \
            % {"fy": previous}
    if not plan.investments.exists():
        missing["investments"] = _("Item 3: at least one capital investment plan or result.")
    if rd_recipient(plan.organisation, plan.fiscal_year):
        if not plan.research.exists():
            missing["research"] = _("Item 4: the GX patents or Green Innovation Fund projects behind the R&D "
                                    "allocation.")
        if plan.rd_expenses_yen is None:
            missing["rd_expenses_yen"] = _("Item 4: the total GX R&D expenses.")
        if not plan.rd_initiatives.strip():
            missing["rd_initiatives"] = _("Item 5: the initiatives in the GX technology categories of item 4.")
    if not plan.documents.exists():
        missing["documents"] = _("Item 5: at least one public document with the strategy for carbon neutrality.")
    if hasattr(plan.organisation, "notified_group") and not plan.group_boundary.strip():
        missing["group_boundary"] = _("The boundary of the joint-notification group.")
    return missing


def filing_progress(fiscal_year: int | None = None) -> dict:
    """How far the FY's filing has got: of the entities that file a plan (a group's notifying entity files for
    it), how many have none yet, and how many have their latest version in each state."""
    from accounts.compliance import compliance_year

    fiscal_year = fiscal_year or compliance_year()
    filers = Organisation.objects.filter(kind=Organisation.Kind.REGULATED_ENTITY, stakeholder_of__isnull=True)
    latest = (TransitionPlan.objects.filter(fiscal_year=fiscal_year, organisation__in=filers)
              .order_by("organisation_id", "-version").distinct("organisation_id").values_list("status", flat=True))
    counts = {status: 0 for status in P.values}
    for status in latest:
        counts[status] += 1
    total = filers.count()
    return {"fiscal_year": fiscal_year, "total": total, "none": total - sum(counts.values()),
            "counts": [(P(status).label, status, count) for status, count in counts.items()]}


# --- the transitions ------------------------------------------------------------------------------------

@state_change
def plan_file(*, plan: TransitionPlan, acting_user) -> TransitionPlan:
    """The representative files the complete plan; an approving representative then confirms it."""
    with transaction.atomic(), audit_context(acting_user, action="plan_file"):
        plan = _locked(plan)
        authorize(acting_user, ACT, plan.organisation)
        _move(plan, P.FILED)
        missing = plan_missing(plan)
        if missing:
            field, message = next(iter(missing.items()))
            _refuse(_("Not complete yet: %(missing)s") % {"missing": message}, field, ErrorCode.INVALID_STATE)
        plan.filed_by, plan.filed_at, plan.message = acting_user, timezone.now(), ""
        plan.save()
        _tell(plan, people(organisation=plan.organisation, roles=[Role.APPROVING_REPRESENTATIVE]),
              gettext_lazy("Confirm the transition plan: %(entity)s FY%(fy)s"),
              gettext_lazy("%(who)s filed %(entity)s's transition plan for FY%(fy)s. Check it and confirm it to "
                           "send it to METI, or send it back."), who=acting_user.full_name)
    return plan


@state_change
def plan_confirm(*, plan: TransitionPlan, acting_user) -> TransitionPlan:
    """The approving representative confirms the filed plan: it goes to METI."""
    with transaction.atomic(), audit_context(acting_user, action="plan_confirm"):
        plan = _locked(plan)
        authorize(acting_user, APPROVE, plan.organisation)
        _move(plan, P.SUBMITTED)
        if plan.filed_by_id == acting_user.pk:
            _refuse(_("Someone other than the person who filed it confirms it."), "user", ErrorCode.NOT_PERMITTED)
        plan.confirmed_by, plan.confirmed_at = acting_user, timezone.now()
        plan.save()
        _tell(plan, people(administrators=True), gettext_lazy("Review the transition plan: %(entity)s FY%(fy)s"),
              gettext_lazy("%(entity)s submitted its transition plan for FY%(fy)s. Accept it or return it with "
                           "your message."))
    return plan


def _message(message: str) -> str:
    message = (message or "").strip()
    if not message:
        _refuse(_("Say what needs changing."), "message")
    return message


@state_change
def plan_send_back(*, plan: TransitionPlan, message: str, acting_user) -> TransitionPlan:
    """The approving representative sends the filed plan back to the representative, with a message."""
    message = _message(message)
    with transaction.atomic(), audit_context(acting_user, action="plan_send_back"):
        plan = _locked(plan)
        authorize(acting_user, APPROVE, plan.organisation)
        _move(plan, P.DRAFT)
        plan.message, plan.filed_by, plan.filed_at = message, None, None
        plan.save()
        _tell(plan, people(organisation=plan.organisation, roles=[Role.AUTHORISED_REPRESENTATIVE]),
              gettext_lazy("Change the transition plan: %(entity)s FY%(fy)s"),
              gettext_lazy("The approving representative sent the FY%(fy)s transition plan back: %(message)s"),
              message=message)
    return plan


def _decide(plan, acting_user, status) -> TransitionPlan:
    plan = _locked(plan)
    authorize(acting_user, REVIEW_PLANS)
    _move(plan, status)
    plan.decided_by, plan.decided_at = acting_user, timezone.now()
    return plan


@state_change
def plan_accept(*, plan: TransitionPlan, acting_user) -> TransitionPlan:
    """METI accepts the plan: from now on the public reads it (its public items)."""
    with transaction.atomic(), audit_context(acting_user, action="plan_accept"):
        plan = _decide(plan, acting_user, P.ACCEPTED)
        plan.message = ""
        plan.save()
        _tell(plan, people(organisation=plan.organisation, roles=[Role.AUTHORISED_REPRESENTATIVE,
                                                                  Role.APPROVING_REPRESENTATIVE]),
              gettext_lazy("Transition plan accepted: %(entity)s FY%(fy)s"),
              gettext_lazy("METI accepted %(entity)s's transition plan for FY%(fy)s; its public items are now on "
                           "the public register."))
    return plan


@state_change
def plan_return(*, plan: TransitionPlan, message: str, acting_user) -> TransitionPlan:
    """METI returns the plan with its message; the entity files a new version."""
    message = _message(message)
    with transaction.atomic(), audit_context(acting_user, action="plan_return"):
        plan = _decide(plan, acting_user, P.RETURNED)
        plan.message = message
        plan.save()
        _tell(plan, people(organisation=plan.organisation, roles=[Role.AUTHORISED_REPRESENTATIVE]),
              gettext_lazy("Revise the transition plan: %(entity)s FY%(fy)s"),
              gettext_lazy("METI returned the FY%(fy)s transition plan: %(message)s"), message=message)
    return plan
