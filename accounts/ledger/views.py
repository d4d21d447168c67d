"""Company pages over the ledger: transfers and approvals, the trusted list, compliance, statements,
and the public registry report. Views collect input and call the services; the services decide."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import DetailView

from accounts import ledger
from accounts.ledger import holdings, statements, transfers
from accounts.ledger.forms import (
    TransferInitiateForm,
    TrustedAccountProposeForm,
    TrustedOnlyForm,
    parse_unit,
)
from accounts.models import (
    HoldingAccount,
    TransferRequest,
    TrustedAccount,
)
from accounts.roles import ACT, APPROVE
from accounts.templatetags.registry import account_and_holder
from gxregistry.access import OrganisationScopedMixin
from gxregistry.authorization import may
from gxregistry.pages import Check, FormPageMixin, ObjectActionView, SecondFactorForm


def transfer_rows(source, destination, unit_label, quantity) -> list:
    return [(_("From account"), account_and_holder(source)), (_("To account"), account_and_holder(destination)),
            (_("Units"), unit_label), (_("Quantity"), f"{quantity:,} t-CO2")]


class TransferListView(FormPageMixin, OrganisationScopedMixin, DetailView):
    """Transfers out of one account: start one, approve or reject what waits, cancel what is scheduled."""

    model = HoldingAccount
    template_name = "accounts/transfer_list.html"
    context_object_name = "account"
    forms = {"initiate": TransferInitiateForm}
    checked_forms = frozenset({"initiate"})

    def build_form(self, name, data=None):
        return TransferInitiateForm(data, balances=holdings.balances(account=self.object))

    def check_initiate(self, form):
        data = form.cleaned_data
        unit = parse_unit(data["unit"])
        found = transfers.transfer_check(source=self.object, destination=data["destination"], unit=unit,
                                         quantity=data["quantity"], acting_user=self.request.user)
        unit_label = dict(form.fields["unit"].choices)[data["unit"]].rsplit(" — ", 1)[0]
        return Check(
            title=_("Check the transfer"),
            rows=transfer_rows(self.object, data["destination"], unit_label, found["quantity"]) + [
                (_("Left in this account"), f"{found['held'] - found['quantity']:,} t-CO2")],
            consequence=_("A different representative must approve it; it then executes at once.") if found["trusted"]
            else _("A different representative must approve it; it then executes at 12:00 JST on the next working "
                   "day and can be cancelled until then. Once executed, only the receiving holder can send the "
                   "units back."),
            confirm_label=_("Initiate transfer"), form=SecondFactorForm())

    def form_valid_initiate(self, form):
        data = form.cleaned_data
        created = transfers.transfer_initiate(
            source=self.object, destination=data["destination"], unit=parse_unit(data["unit"]),
            quantity=data["quantity"], acting_user=self.request.user, otp_token=data["otp_token"])
        messages.success(self.request, _("Transfer of %(quantity)s to %(number)s initiated; a second representative "
                                         "must approve it.") % {"quantity": f"{created.quantity:,}",
                                                                 "number": created.destination.number})

    def get_context_data(self, **kwargs):
        user, account = self.request.user, self.object
        organisation = account.organisation
        can_act = may(user, ACT, organisation)
        can_approve = may(user, APPROVE, organisation)
        requests = TransferRequest.objects.filter(source=account).select_related(
            "destination__organisation", "initiated_by", "decided_by", "credit_batch")
        kwargs.update(
            can_act=can_act, can_approve=can_approve,
            awaiting=requests.filter(status=TransferRequest.Status.AWAITING_APPROVAL).order_by("initiated_at"),
            scheduled=requests.filter(status=TransferRequest.Status.SCHEDULED).order_by("execute_after"),
            finished=requests.exclude(status__in=TransferRequest.PENDING)[:20],
            # Incoming: what another holder's representatives have approved (scheduled) or booked. A transfer
            # still awaiting the sender's second representative is the sender's business, not yet the receiver's.
            incoming=TransferRequest.objects.filter(
                destination=account, status__in=[TransferRequest.Status.SCHEDULED, TransferRequest.Status.EXECUTED])
            .select_related("source__organisation", "credit_batch").order_by("-initiated_at")[:20])
        if can_act and "initiate_form" not in kwargs and account.state == HoldingAccount.State.OPEN:
            kwargs["initiate_form"] = self.build_form("initiate")
        return super().get_context_data(**kwargs)


class TransferDecisionView(ObjectActionView):
    model = TransferRequest
    actions = {"approve": "approve", "reject": "reject", "cancel": "cancel"}
    checks = {"approve": "check_approve"}

    def return_url(self, transfer):
        return reverse("transfer_list", args=[transfer.source_id])

    def check_approve(self, transfer):
        executes = transfers.transfer_approval_check(request=transfer, acting_user=self.request.user)
        unit = ledger.Unit(transfer.unit_type, transfer.vintage, transfer.credit_batch_id).label(transfer.credit_batch)
        return Check(
            title=_("Check the transfer before approving it"),
            rows=transfer_rows(transfer.source, transfer.destination, unit, transfer.quantity) + [
                (_("Initiated by"), f"{transfer.initiated_by.full_name} ({transfers.jst_label(transfer.initiated_at)})"),
                (_("Executes at"), transfers.jst_label(executes))],
            consequence=_("Once executed, only the receiving holder can send the units back."),
            confirm_label=_("Approve the transfer"), form=SecondFactorForm())

    def approve(self, transfer, data):
        done = transfers.transfer_approve(request=transfer, acting_user=self.request.user,
                                          otp_token=data.get("otp_token", "").strip())
        if done.status == TransferRequest.Status.EXECUTED:
            return _("Approved and executed.")
        if done.status == TransferRequest.Status.FAILED:
            messages.error(self.request, _("Approved, but the transfer failed: %(reason)s") % {"reason": done.failure})
            return _("Approved.")
        return _("Approved; it executes at %(when)s unless cancelled.") % {
            "when": transfers.jst_label(done.execute_after)}

    def reject(self, transfer, data):
        transfers.transfer_reject(request=transfer, acting_user=self.request.user)
        return _("Rejected.")

    def cancel(self, transfer, data):
        transfers.transfer_cancel(request=transfer, acting_user=self.request.user)
        return _("Cancelled.")


class TrustedAccountListView(FormPageMixin, OrganisationScopedMixin, DetailView):
    model = HoldingAccount
    template_name = "accounts/trusted_account_list.html"
    context_object_name = "account"
    forms = {"propose": TrustedAccountProposeForm, "trusted_only": TrustedOnlyForm}

    def build_form(self, name, data=None):
        if name == "trusted_only":
            return TrustedOnlyForm(data, initial={"trusted_only": "yes" if self.object.trusted_only else "no"},
                                   auto_id="id_trusted_only_%s")
        return TrustedAccountProposeForm(data)

    def form_valid_trusted_only(self, form):
        account = transfers.account_trusted_only_set(account=self.object, trusted_only=form.cleaned_data["trusted_only"],
                                                     acting_user=self.request.user)
        messages.success(self.request, _("Transfers out of %(number)s may now go only to accounts on its trusted list.")
                         % {"number": account.number} if account.trusted_only else
                         _("Transfers out of %(number)s may go to any corporate holding or trading account.")
                         % {"number": account.number})

    def form_valid_propose(self, form):
        entry = transfers.trusted_account_propose(account=self.object, trusted=form.cleaned_data["trusted"],
                                                  acting_user=self.request.user)
        messages.success(self.request, _("%(number)s proposed; a second representative must confirm it.")
                         % {"number": entry.trusted.number})

    def get_context_data(self, **kwargs):
        organisation = self.object.organisation
        can_act = may(self.request.user, ACT, organisation)
        kwargs.update(can_act=can_act, now=timezone.now(),
                      entries=self.object.trusted_list.filter(removed_at__isnull=True)
                      .select_related("trusted__organisation", "proposed_by", "confirmed_by").order_by("trusted__number"))
        if can_act and "propose_form" not in kwargs:
            kwargs["propose_form"] = self.build_form("propose")
        if can_act and "trusted_only_form" not in kwargs:
            kwargs["trusted_only_form"] = self.build_form("trusted_only")
        return super().get_context_data(**kwargs)


class TrustedAccountDecisionView(ObjectActionView):
    model = TrustedAccount
    actions = {"confirm": "confirm", "remove": "remove"}
    checks = {"confirm": "check_confirm"}

    def return_url(self, entry):
        return reverse("trusted_account_list", args=[entry.account_id])

    def check_confirm(self, entry):
        when = transfers.trusted_account_confirm_check(entry=entry, acting_user=self.request.user)
        return Check(
            title=_("Check the account before trusting it"),
            rows=[(_("Account"), account_and_holder(entry.account)),
                  (_("Account to trust"), account_and_holder(entry.trusted)),
                  (_("Proposed by"), entry.proposed_by.full_name), (_("Active from"), transfers.jst_label(when))],
            consequence=_("From then on, transfers to this account execute as soon as they are approved, "
                          "without the day's delay in which a wrong transfer can be cancelled."),
            confirm_label=_("Confirm the trusted account"), form=SecondFactorForm())

    def confirm(self, entry, data):
        entry = transfers.trusted_account_confirm(entry=entry, acting_user=self.request.user,
                                                  otp_token=data.get("otp_token", ""))
        return _("Confirmed; transfers to %(number)s execute at once from %(when)s.") % {
            "number": entry.trusted.number,
            "when": transfers.jst_label(entry.active_from)}

    def remove(self, entry, data):
        transfers.trusted_account_remove(entry=entry, acting_user=self.request.user)
        return _("Removed from the trusted list.")


class StatementView(OrganisationScopedMixin, DetailView):
    """The account statement as a PDF (WeasyPrint, Japanese font embedded) for the selected period."""

    model = HoldingAccount

    def render_to_response(self, context, **kwargs):
        history = holdings.account_history(account=self.object, params=self.request.GET)
        if history.is_bound and not history.is_valid():
            messages.error(self.request, _("Correct the filters before downloading the statement."))
            return redirect(f"{reverse('holding_account_history', args=[self.object.pk])}?{self.request.GET.urlencode()}")
        pdf = statements.account_statement_pdf(account=self.object, history=history, requested_by=self.request.user)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{self.object.number}-statement.pdf"'
        return response
