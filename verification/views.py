"""Verification pages: the public list of bodies, a body's registration, METI's review and oversight,
an entity's emissions report, and the engagement a body's team works in. Views parse input and call the
services; the services decide."""

import base64
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.generic import DetailView, ListView, TemplateView

from accounts.models import Organisation
from accounts.roles import ACT, VERIFY
from accounts.templatetags.registry import in_reader_language
from gxregistry.access import OrganisationScopedMixin, access_object
from gxregistry.authorization import may
from gxregistry.errors import ErrorCode, RegistryError
from gxregistry.exports import csv_response
from gxregistry.importing import UnreadableFile
from gxregistry.pages import AdministratorRequiredMixin, Check, FormPageMixin, ObjectActionView, SecondFactorForm
from gxregistry.pdf import render_pdf
from gxregistry.replica import PublicReadMixin
from verification import forms, selectors
from verification.models import (
    EmissionsReport,
    Engagement,
    Opinion,
    RegistrationApplication,
    RequirementEvidence,
    VerificationBody,
)
from verification.services import bodies, engagements, reports

# --- public ------------------------------------------------------------------------------------------------

class BodyListView(PublicReadMixin, TemplateView):
    """Public: every body that is or was registered, with its standing today; CSV for download."""

    template_name = "verification/body_list.html"

    def get(self, request, *args, **kwargs):
        rows = selectors.public_bodies()
        if request.GET.get("export") == "csv":
            english = (get_language() or "").startswith("en")
            return csv_response(
                [_("Name"), _("Registration number"), _("Status"), _("Valid from"), _("Valid until"), _("Scope")],
                [(in_reader_language(b.organisation), b.registration_number, b.standing_label(),
                  b.valid_from.isoformat(), b.valid_until.isoformat(), (b.scope_en if english else b.scope) or b.scope)
                 for b in rows], "gx-ets-verification-bodies.csv")
        return self.render_to_response(self.get_context_data(bodies=rows))


class BodyCertificateView(DetailView):
    """Public: the bilingual registration certificate of a registered body (what the public list says)."""

    def get_object(self, queryset=None):
        return get_object_or_404(selectors.public_bodies(), pk=self.kwargs["pk"])

    def get(self, request, *args, **kwargs):
        body = self.get_object()
        pdf = render_pdf("verification/certificate_pdf.html", {"body": body, "issued_on": timezone.localdate()})
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{body.registration_number}-certificate.pdf"'
        return response


# --- a body's registration -----------------------------------------------------------------------------------

class BodyRegistrationView(FormPageMixin, OrganisationScopedMixin, DetailView):
    """A verification body's page: its registration, its application with evidence, conflicts, activity."""

    model = Organisation
    template_name = "verification/body_registration.html"
    forms = {"start": forms.EmptyForm, "application": forms.ApplicationForm, "evidence": forms.EvidenceForm,
             "submit": forms.EmptyForm, "conflict": forms.ConflictForm, "activity": forms.ActivityReportForm}

    def get_object(self, queryset=None):
        organisation = super().get_object(queryset)
        if organisation.kind != Organisation.Kind.VERIFICATION_BODY:
            raise Http404
        return organisation

    @cached_property
    def body(self):
        return VerificationBody.objects.filter(organisation=self.object).first()

    @cached_property
    def application(self):
        if self.body is None:
            return None
        return self.body.applications.filter(status__in=RegistrationApplication.OPEN).first()

    def build_form(self, name, data=None):
        if name == "application":
            return forms.ApplicationForm(data, instance=self.application)
        if name == "evidence":
            return forms.EvidenceForm(data, self.request.FILES if data is not None else None)
        return self.forms[name](data, auto_id=f"id_{name}_%s")

    def _need_application(self):
        if self.application is None:
            raise Http404

    def form_valid_start(self, form):
        bodies.body_application_start(organisation=self.object, acting_user=self.request.user)
        messages.success(self.request, _("Application started: fill in the four requirement groups and attach "
                                         "evidence."))

    def form_valid_application(self, form):
        self._need_application()
        bodies.body_application_update(application=self.application, acting_user=self.request.user,
                                       **{name: form.cleaned_data[name] for name in bodies.APPLICATION_FIELDS})
        messages.success(self.request, _("Application saved."))

    def form_valid_evidence(self, form):
        self._need_application()
        evidence = bodies.evidence_upload(application=self.application, requirement=form.cleaned_data["requirement"],
                                          upload=form.cleaned_data["file"], acting_user=self.request.user)
        messages.success(self.request, _("%(file)s attached.") % {"file": evidence.original_name})

    def form_valid_submit(self, form):
        self._need_application()
        bodies.body_application_submit(application=self.application, acting_user=self.request.user)
        messages.success(self.request, _("Application submitted to METI."))

    def form_valid_conflict(self, form):
        self._need_body()
        bodies.conflict_declare(body=self.body, organisation=form.cleaned_data["organisation"],
                                description=form.cleaned_data["description"], acting_user=self.request.user)
        messages.success(self.request, _("Conflict of interest recorded."))

    def form_valid_activity(self, form):
        self._need_body()
        data = form.cleaned_data
        bodies.activity_report_submit(body=self.body, fiscal_year=data["fiscal_year"], summary=data["summary"],
                                      staff_count=data["staff_count"], complaints=data["complaints"],
                                      acting_user=self.request.user)
        messages.success(self.request, _("Activity report submitted."))

    def _need_body(self):
        if self.body is None:
            raise Http404

    def get_context_data(self, **kwargs):
        may_act = may(self.request.user, ACT, self.object)
        editable = self.application is not None and self.application.status in RegistrationApplication.EDITABLE
        for name in self.forms:
            kwargs.setdefault(f"{name}_form", self.build_form(name))
        kwargs.update(
            body=self.body, application=self.application, may_act=may_act, editable=editable and may_act,
            missing=[(bodies.field_label(name), message) for name, message in bodies.missing_for_submission(
                self.application, timezone.localdate()).items()] if editable else [],
            evidence=self.application.evidence.all() if self.application else [],
            past_applications=self.body.applications.exclude(status__in=RegistrationApplication.OPEN)
            if self.body else [],
            conflicts=self.body.conflicts.filter(ended_at__isnull=True).select_related("organisation")
            if self.body else [],
            activity_reports=self.body.activity_reports.order_by("-fiscal_year") if self.body else [],
        )
        return super().get_context_data(**kwargs)


class EvidenceDownloadView(LoginRequiredMixin, DetailView):
    """An evidence file, to the body that uploaded it and to administrators only (404 for anyone else)."""

    def get(self, request, *args, **kwargs):
        evidence = access_object(RequirementEvidence.objects, request.user, pk=kwargs["pk"])
        return FileResponse(evidence.file.open("rb"), as_attachment=True, filename=evidence.original_name,
                            content_type=evidence.content_type)


# --- METI: review and oversight ----------------------------------------------------------------------------

class ApplicationQueueView(AdministratorRequiredMixin, TemplateView):
    """Applications waiting for METI, and every body with its standing."""

    template_name = "verification/application_queue.html"
    administrator_permission = bodies.MANAGE_BODIES

    def get_context_data(self, **kwargs):
        kwargs.update(
            waiting=RegistrationApplication.objects.filter(status=RegistrationApplication.Status.SUBMITTED)
            .select_related("body__organisation").order_by("submitted_at"),
            open=RegistrationApplication.objects.filter(status__in=[
                RegistrationApplication.Status.DRAFT, RegistrationApplication.Status.INFORMATION_REQUESTED])
            .select_related("body__organisation"),
            bodies=VerificationBody.objects.select_related("organisation").order_by("organisation__name"),
            today=timezone.localdate(),
        )
        return super().get_context_data(**kwargs)


class ApplicationReviewView(FormPageMixin, AdministratorRequiredMixin, DetailView):
    """One application with its evidence; METI asks for more, registers or refuses (second factor)."""

    model = RegistrationApplication
    template_name = "verification/application_review.html"
    administrator_permission = bodies.MANAGE_BODIES
    forms = {"decision": forms.DecisionForm}
    checked_forms = frozenset({"decision"})

    def build_form(self, name, data=None):
        return forms.DecisionForm(data)

    def check_decision(self, form):
        data, application = form.cleaned_data, self.object
        terms = bodies.body_decision_check(
            application=application, decision=data["decision"], registration_number=data["registration_number"],
            registered_on=data["registered_on"], acting_user=self.request.user)
        rows = [(_("Verification body"), in_reader_language(application.body.organisation)),
                (_("Application"), application.get_kind_display()),
                (_("Decision"), dict(forms.DecisionForm.DECISIONS)[data["decision"]])]
        if terms:
            rows += [(_("Registration number"), terms["registration_number"]),
                     (_("Registered from"), terms["valid_from"].isoformat()),
                     (_("Registered until"), terms["valid_until"].isoformat())]
        if data["message"]:
            rows.append((_("Message to the body"), data["message"]))
        consequence = {
            "register": _("The body is on the public list and may verify for regulated entities for this period."),
            "refuse": _("The application is closed for good; the body must apply anew."),
            "request_information": _("The application goes back to the body to complete."),
        }[data["decision"]]
        return Check(title=_("Check the decision"), rows=rows, consequence=consequence,
                     confirm_label=_("Record the decision"), destructive=data["decision"] == "refuse",
                     form=SecondFactorForm())

    def form_valid_decision(self, form):
        data, application, user = form.cleaned_data, self.object, self.request.user
        if data["decision"] == "register":
            body = bodies.body_register(application=application, registration_number=data["registration_number"],
                                        registered_on=data["registered_on"], acting_user=user,
                                        otp_token=data["otp_token"])
            messages.success(self.request, _("%(body)s is registered as %(number)s until %(until)s.") % {
                "body": body, "number": body.registration_number, "until": body.valid_until})
        elif data["decision"] == "refuse":
            bodies.body_application_refuse(application=application, reason=data["message"], acting_user=user,
                                           otp_token=data["otp_token"])
            messages.success(self.request, _("Application refused."))
        else:
            bodies.body_application_request_information(application=application, message=data["message"],
                                                        acting_user=user, otp_token=data["otp_token"])
            messages.success(self.request, _("Sent back to the body for more information."))
        return redirect("body_application_queue")

    def get_context_data(self, **kwargs):
        kwargs.setdefault("decision_form", self.build_form("decision"))
        kwargs["evidence"] = self.object.evidence.all()
        kwargs["missing"] = [(bodies.field_label(name), message) for name, message in
                             bodies.missing_for_submission(self.object, timezone.localdate()).items()]
        return super().get_context_data(**kwargs)


class BodyStateView(AdministratorRequiredMixin, ObjectActionView):
    """Suspend, reinstate or revoke a registration: a reason and a fresh second-factor code."""

    model = VerificationBody
    administrator_permission = bodies.MANAGE_BODIES
    actions = {"suspend": "suspend", "reinstate": "reinstate", "revoke": "revoke"}
    checks = {"suspend": "check_state", "reinstate": "check_state", "revoke": "check_state"}

    def get_object(self, pk):
        return get_object_or_404(VerificationBody, pk=pk)

    def check_state(self, body):
        bodies.body_state_check(body=body, act=self.action, acting_user=self.request.user)
        title, consequence = {
            "suspend": (_("Check before suspending the body"),
                        _("The body may not start or sign verification work until it is reinstated; the public "
                          "list shows it as suspended.")),
            "reinstate": (_("Check before reinstating the body"), _("The body may verify again.")),
            "revoke": (_("Check before revoking the registration"),
                       _("The registration ends for good; the body must apply anew to verify again.")),
        }[self.action]
        return Check(title=title, consequence=consequence, destructive=self.action != "reinstate",
                     rows=[(_("Verification body"), in_reader_language(body.organisation)),
                           (_("Registration number"), body.registration_number),
                           (_("Valid until"), body.valid_until.isoformat() if body.valid_until else "—")],
                     confirm_label={"suspend": _("Suspend"), "reinstate": _("Reinstate"),
                                    "revoke": _("Revoke")}[self.action],
                     form=forms.BodyStateForm(initial={"reason": self.request.POST.get("reason", "")}))

    def return_url(self, body):
        return reverse("body_application_queue")

    def suspend(self, body, data):
        bodies.body_suspend(body=body, reason=data.get("reason", ""), acting_user=self.request.user,
                            otp_token=data.get("otp_token", ""))
        return _("%(body)s is suspended.") % {"body": body}

    def reinstate(self, body, data):
        bodies.body_reinstate(body=body, acting_user=self.request.user, otp_token=data.get("otp_token", ""))
        return _("%(body)s is reinstated.") % {"body": body}

    def revoke(self, body, data):
        bodies.body_revoke(body=body, reason=data.get("reason", ""), acting_user=self.request.user,
                           otp_token=data.get("otp_token", ""))
        return _("%(body)s's registration is revoked.") % {"body": body}


class OversightView(AdministratorRequiredMixin, TemplateView):
    """METI's view of the bodies' work: engagements, late opinions, opinions and misstatements per body."""

    template_name = "verification/oversight.html"
    administrator_permission = bodies.MANAGE_BODIES

    def get_context_data(self, **kwargs):
        kwargs["rows"] = selectors.oversight_rows(today=timezone.localdate())
        kwargs["activity_reports"] = selectors.activity_reports()
        return super().get_context_data(**kwargs)


class CoverageView(FormPageMixin, AdministratorRequiredMixin, TemplateView):
    """§2: the entities the registry finds covered in an FY, with the figures; an administrator confirms."""

    template_name = "verification/coverage.html"
    administrator_permission = reports.CONFIRM_COVERAGE
    forms = {"confirm": forms.CoverageConfirmForm}

    def build_form(self, name, data=None):
        return forms.CoverageConfirmForm(data)

    def form_valid_confirm(self, form):
        count = reports.coverage_confirm(fiscal_year=self.kwargs["fiscal_year"], acting_user=self.request.user,
                                         otp_token=form.cleaned_data["otp_token"])
        messages.success(self.request, _("Coverage for FY%(fy)s confirmed for %(count)s entities.")
                         % {"fy": self.kwargs["fiscal_year"], "count": count})

    def get_context_data(self, **kwargs):
        fiscal_year = self.kwargs["fiscal_year"]
        rows = reports.coverage_list(fiscal_year)
        kwargs.setdefault("confirm_form", self.build_form("confirm"))
        kwargs.update(fiscal_year=fiscal_year, rows=rows, covered=sum(1 for r in rows if r[1].covered),
                      threshold=rows[0][1].threshold_t if rows else None)
        return super().get_context_data(**kwargs)


class EmissionFactorView(FormPageMixin, AdministratorRequiredMixin, TemplateView):
    """The default emission factors of an FY (§3 method 1), which administrators set."""

    template_name = "verification/emission_factors.html"
    administrator_permission = reports.MANAGE_FACTORS
    forms = {"factor": forms.EmissionFactorForm}

    def build_form(self, name, data=None):
        return forms.EmissionFactorForm(data)

    def form_valid_factor(self, form):
        reports.emission_factor_set(fiscal_year=self.kwargs["fiscal_year"], acting_user=self.request.user,
                                    **form.cleaned_data)
        messages.success(self.request, _("Emission factor saved."))

    def get_context_data(self, **kwargs):
        from verification.models import EmissionFactor

        kwargs.setdefault("factor_form", self.build_form("factor"))
        kwargs.update(fiscal_year=self.kwargs["fiscal_year"],
                      factors=EmissionFactor.objects.filter(fiscal_year=self.kwargs["fiscal_year"]))
        return super().get_context_data(**kwargs)


# --- an entity's emissions report -----------------------------------------------------------------------

class EmissionsReportView(FormPageMixin, OrganisationScopedMixin, DetailView):
    """An entity's report for an FY: its lines, submission, the body it appoints and the opinion."""

    model = Organisation
    template_name = "verification/emissions_report.html"
    forms = {"create": forms.ReportCreateForm, "line": forms.EmissionsLineForm, "delete_line": forms.LineDeleteForm,
             "submit": forms.EmptyForm, "withdraw": forms.EmptyForm, "appoint": forms.AppointForm,
             "correct": forms.CorrectionForm, "withdraw_engagement": forms.EmptyForm,
             "import": forms.LinesImportForm, "import_confirm": forms.EmptyForm}
    SESSION_KEY = "emissions_lines_import"

    def get_object(self, queryset=None):
        organisation = super().get_object(queryset)
        if organisation.kind != Organisation.Kind.REGULATED_ENTITY:
            raise Http404
        return organisation

    def get(self, request, *args, **kwargs):
        if request.GET.get("template") == "csv":
            return csv_response(reports.IMPORT_COLUMNS, reports.import_template_rows(),
                                "gx-ets-emissions-report-template.csv")
        return super().get(request, *args, **kwargs)

    def form_valid_import(self, form):
        upload = form.cleaned_data["import_file"]
        data = b"".join(upload.chunks())
        try:
            outcome = reports.emissions_lines_import(report=self._report(), data=data, extension=upload.extension,
                                                     dry_run=True, acting_user=self.request.user)
        except UnreadableFile as error:
            raise RegistryError(ErrorCode.INVALID_INPUT, str(error), "import_file") from None
        if outcome.ok:
            self.request.session[self.SESSION_KEY] = {"report": self.report.pk, "extension": upload.extension,
                                                      "data": base64.b64encode(data).decode(), "name": upload.name}
        return self.render_to_response(self.get_context_data(import_form=form, outcome=outcome),
                                       status=200 if outcome.ok else 400)

    def form_valid_import_confirm(self, form):
        pending = self.request.session.pop(self.SESSION_KEY, None)
        if not pending or pending["report"] != self._report().pk:
            raise RegistryError(ErrorCode.INVALID_STATE, _("Nothing to import: upload the file again."), "import_file")
        try:
            outcome = reports.emissions_lines_import(report=self.report, data=base64.b64decode(pending["data"]),
                                                     extension=pending["extension"], dry_run=False,
                                                     acting_user=self.request.user)
        except UnreadableFile as error:
            raise RegistryError(ErrorCode.INVALID_INPUT, str(error), "import_file") from None
        if not outcome.ok:
            return self.render_to_response(self.get_context_data(outcome=outcome), status=400)
        messages.success(self.request, _("Imported %(name)s: %(count)s lines, %(t)s t-CO2.") % {
            "name": pending["name"], "count": len(outcome.rows), "t": f"{outcome.total_t:,}"})

    @cached_property
    def report(self):
        return EmissionsReport.objects.filter(organisation=self.object, fiscal_year=self.kwargs["fiscal_year"]).exclude(
            status=EmissionsReport.Status.SUPERSEDED).first()

    @cached_property
    def engagement(self):
        return self.report.engagements.filter(status__in=Engagement.OPEN).select_related(
            "body__organisation").first() if self.report else None

    def build_form(self, name, data=None):
        if name == "line":
            return forms.EmissionsLineForm(data, report=self.report) if self.report else forms.EmptyForm(data)
        if name == "import":
            return forms.LinesImportForm(data, self.request.FILES if data is not None else None)
        return self.forms[name](data, auto_id=f"id_{name}_%s")

    def _report(self) -> EmissionsReport:
        if self.report is None:
            raise RegistryError(ErrorCode.INVALID_STATE, _("Start the report first."), "report")
        return self.report

    def form_valid_create(self, form):
        reports.emissions_report_create(organisation=self.object, fiscal_year=self.kwargs["fiscal_year"],
                                        acting_user=self.request.user)
        messages.success(self.request, _("Report started: add a line for each source at each facility."))

    def form_valid_line(self, form):
        line = reports.emissions_line_save(report=self._report(), acting_user=self.request.user, **form.cleaned_data)
        messages.success(self.request, _("Line added: %(t)s t-CO2.") % {"t": f"{line.emissions_t:,}"})

    def form_valid_delete_line(self, form):
        line = self._report().lines.filter(pk=form.cleaned_data["line"]).first()
        if line is None:
            raise RegistryError(ErrorCode.INVALID_INPUT, _("This line is not in the report."), "line")
        reports.emissions_line_delete(line=line, acting_user=self.request.user)
        messages.success(self.request, _("Line removed."))

    def form_valid_submit(self, form):
        report = reports.emissions_report_submit(report=self._report(), acting_user=self.request.user)
        messages.success(self.request, _("Submitted: %(t)s t-CO2. Appoint a registered verification body next.")
                         % {"t": f"{report.total_t:,}"})

    def form_valid_withdraw(self, form):
        reports.emissions_report_withdraw(report=self._report(), acting_user=self.request.user)
        messages.success(self.request, _("The report is a draft again."))

    def form_valid_appoint(self, form):
        data = form.cleaned_data
        engagement = engagements.engagement_appoint(report=self._report(), body=data["body"], purpose=data["purpose"],
                                                    due_on=data["due_on"], acting_user=self.request.user)
        messages.success(self.request, _("%(body)s appointed; %(level)s assurance is required.") % {
            "body": engagement.body, "level": engagement.get_assurance_level_display().lower()})

    def form_valid_correct(self, form):
        reports.emissions_report_correct(report=self._report(), reason=form.cleaned_data["reason"],
                                         acting_user=self.request.user)
        messages.success(self.request, _("A corrected version is open as a draft; the verified figure stands until "
                                         "the correction is verified."))

    def form_valid_withdraw_engagement(self, form):
        if self.engagement is None:
            raise RegistryError(ErrorCode.INVALID_STATE, _("No body is appointed."), "engagement")
        engagements.engagement_withdraw(engagement=self.engagement, acting_user=self.request.user)
        messages.success(self.request, _("The appointment is withdrawn."))

    def get_context_data(self, **kwargs):
        report, fiscal_year = self.report, self.kwargs["fiscal_year"]
        for name in self.forms:
            kwargs.setdefault(f"{name}_form", self.build_form(name))
        lines = list(report.lines.select_related("facility")) if report else []
        required_tolerance = dict((line.pk, required) for line, required in reports.accuracy_warnings(report)) \
            if report else {}
        for line in lines:
            line.required_tolerance = required_tolerance.get(line.pk)  # None: the instrument is accurate enough
        kwargs.update(
            fiscal_year=fiscal_year, report=report, lines=lines, engagement=self.engagement,
            may_act=may(self.request.user, ACT, self.object),
            running_total=sum((line.emissions_t for line in lines), Decimal(0)),

            required=engagements.required_assurance(report) if report else None,
            opinions=Opinion.objects.filter(engagement__report__organisation=self.object,
                                            engagement__report__fiscal_year=fiscal_year).select_related(
                "engagement__body__organisation", "engagement__report").order_by("-signed_at"),
            history=EmissionsReport.objects.filter(organisation=self.object, fiscal_year=fiscal_year).order_by(
                "-version"),
        )
        return super().get_context_data(**kwargs)


# --- engagements: the body's side -------------------------------------------------------------------------

class EngagementListView(LoginRequiredMixin, ListView):
    """The engagements the user may see: their body's, their entity's, or (administrators) all."""

    template_name = "verification/engagement_list.html"
    paginate_by = 50

    def get_queryset(self):
        return selectors.engagement_list(fetched_by=self.request.user)


class EngagementDetailView(FormPageMixin, OrganisationScopedMixin, DetailView):
    """One engagement: the team and reviewer, the work log, misstatements, and the opinion."""

    model = Engagement
    template_name = "verification/engagement_detail.html"
    forms = {"team": forms.TeamForm, "start": forms.EmptyForm, "work": forms.WorkLogForm,
             "misstatement": forms.MisstatementForm, "opinion": forms.OpinionForm}

    def get_queryset(self):
        return Engagement.objects.restrict(self.request.user).select_related(
            "body__organisation", "report__organisation", "independent_reviewer")

    def build_form(self, name, data=None):
        engagement = self.object
        prefix = {"auto_id": f"id_{name}_%s"}
        if name == "team":
            return forms.TeamForm(data, body=engagement.body, **prefix)
        if name in ("work", "misstatement"):
            return self.forms[name](data, engagement=engagement, **prefix)
        return self.forms[name](data, **prefix)

    def form_valid_team(self, form):
        engagements.engagement_team_set(engagement=self.object, team=form.cleaned_data["team"],
                                        independent_reviewer=form.cleaned_data["independent_reviewer"],
                                        acting_user=self.request.user)
        messages.success(self.request, _("Team saved."))

    def form_valid_start(self, form):
        engagements.engagement_start(engagement=self.object, acting_user=self.request.user)
        messages.success(self.request, _("Verification started; the report is locked for the entity."))

    def form_valid_work(self, form):
        engagements.work_log_add(engagement=self.object, acting_user=self.request.user, **form.cleaned_data)
        messages.success(self.request, _("Work logged."))

    def form_valid_misstatement(self, form):
        engagements.misstatement_record(engagement=self.object, acting_user=self.request.user, **form.cleaned_data)
        messages.success(self.request, _("Misstatement recorded."))

    def form_valid_opinion(self, form):
        opinion = engagements.opinion_sign(engagement=self.object, acting_user=self.request.user, **form.cleaned_data)
        messages.success(self.request, _("Opinion signed: %(kind)s.") % {"kind": opinion.get_kind_display()})

    def get_context_data(self, **kwargs):
        engagement = self.object
        for name in self.forms:
            kwargs.setdefault(f"{name}_form", self.build_form(name))
        verified, materiality = engagements.opinion_figures(engagement) if engagement.report.total_t is not None \
            else (None, None)
        kwargs.update(
            may_verify=may(self.request.user, VERIFY, engagement.body.organisation),
            on_team=engagement.team.filter(pk=self.request.user.pk).exists(),
            is_reviewer=engagement.independent_reviewer_id == self.request.user.pk,
            team=engagement.team.order_by("full_name"), work_log=engagement.work_log.select_related("facility"),
            misstatements=engagement.misstatements.select_related("facility"),
            lines=engagement.report.lines.select_related("facility"),
            verified=verified, materiality=materiality,
            materiality_pct=materiality.ratio * 100 if materiality else None,
            opinion=Opinion.objects.filter(engagement=engagement).first(),
            required=engagements.required_assurance(engagement.report),
        )
        return super().get_context_data(**kwargs)

