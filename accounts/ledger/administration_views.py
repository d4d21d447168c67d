"""Registry administrators' pages: search, the four-eyes queue, suspensions and blocks."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from accounts import compliance, ledger
from accounts.ledger import administration, transfers
from accounts.ledger.forms import BookingRequestForm, CreditIssuanceForm, ReasonForm, ReversalRequestForm
from accounts.ledger.search import registry_search
from accounts.models import BookingRequest, HoldingAccount, Membership, UpperLimitPayment
from accounts.templatetags.registry import account_and_holder
from gxregistry.pages import AdministratorRequiredMixin, Check, FormPageMixin, ObjectActionView, SecondFactorForm


class AdministratorActionView(AdministratorRequiredMixin, ObjectActionView):
    def get_object(self, pk):
        return get_object_or_404(self.model, pk=pk)


class RegistrySearchView(AdministratorRequiredMixin, TemplateView):
    template_name = "administration/search.html"

    def get_context_data(self, **kwargs):
        query = self.request.GET.get("q", "").strip()
        kwargs.update(query=query, results=registry_search(query) if query else None)
        return super().get_context_data(**kwargs)


class FourEyesQueueView(AdministratorRequiredMixin, TemplateView):
    """What waits for a second administrator: booking requests and upper-limit payments; recent decisions."""

    template_name = "administration/four_eyes.html"

    def get_context_data(self, **kwargs):
        kwargs.update(
            pending=BookingRequest.objects.filter(status=BookingRequest.Status.AWAITING_APPROVAL)
            .select_related("account__organisation", "requested_by", "credit_batch").order_by("requested_at"),
            decided=BookingRequest.objects.exclude(status=BookingRequest.Status.AWAITING_APPROVAL)
            .select_related("account__organisation", "requested_by", "decided_by").order_by("-decided_at")[:20],
            payments=UpperLimitPayment.objects.filter(confirmed_at__isnull=True)
            .select_related("organisation", "recorded_by").order_by("recorded_at"))
        return super().get_context_data(**kwargs)


class BookingRequestCreateView(FormPageMixin, AdministratorRequiredMixin, TemplateView):
    """The forms that ask a second administrator to approve an issuance, cancellation, credit batch or reversal."""

    template_name = "administration/booking_request_new.html"
    forms = {"request": BookingRequestForm, "credits": CreditIssuanceForm, "reversal": ReversalRequestForm}

    def build_form(self, name, data=None):
        return self.forms[name](data, auto_id=f"id_{name}_%s")  # two forms on one page: distinct ids

    def form_valid_request(self, form):
        data = form.cleaned_data
        administration.booking_request_create(
            kind=data["kind"], unit_type=data["unit_type"], vintage=data["vintage"], quantity=data["quantity"],
            account=data["account"], credit_batch=data["credit_batch"], reason=data["reason"],
            acting_user=self.request.user)
        return self.form_valid()

    def form_valid_credits(self, form):
        data = form.cleaned_data
        administration.credit_issuance_request_create(
            unit_type=data["unit_type"], serial_start=data["serial_start"], serial_end=data["serial_end"],
            vintage=data["vintage"], origin=data["origin"], eligible=data["eligible"], account=data["account"],
            reason=data["reason"], acting_user=self.request.user)
        return self.form_valid()

    def form_valid_reversal(self, form):
        data = form.cleaned_data
        administration.reversal_request_create(original=data["transaction"], reason=data["reason"],
                                               acting_user=self.request.user)
        messages.success(self.request, _("Reversal of transaction #%(id)s asked for; a second administrator must "
                                         "approve it.") % {"id": data["transaction"].pk})
        return redirect("four_eyes_queue")

    def form_valid(self):
        messages.success(self.request, _("Request recorded; a second administrator must approve it."))
        return redirect("four_eyes_queue")

    def get_context_data(self, **kwargs):
        kwargs.setdefault("request_form", self.build_form("request"))
        kwargs.setdefault("credits_form", self.build_form("credits"))
        kwargs.setdefault("reversal_form", self.build_form("reversal"))
        return super().get_context_data(**kwargs)


class BookingRequestDecisionView(AdministratorActionView):
    model = BookingRequest
    actions = {"approve": "approve", "reject": "reject"}
    checks = {"approve": "check_approve"}

    def return_url(self, obj):
        return reverse("four_eyes_queue")

    def check_approve(self, request):
        administration.booking_request_decision_check(request=request, acting_user=self.request.user)
        kind = _("Credits brought in") if request.is_credit_issuance else request.get_kind_display()
        if request.is_credit_issuance:  # the batch is made on approval
            unit = _("%(unit)s %(vintage)s, serials %(start)s-%(end)s") % {
                "unit": request.get_unit_type_display(), "vintage": request.vintage, "start": request.serial_start,
                "end": request.serial_end}
        else:
            unit = ledger.Unit(request.unit_type, request.vintage, request.credit_batch_id).label(request.credit_batch)
        rows = [(_("Kind"), kind)]
        if request.reverses_id:
            rows.append((_("Transaction reversed"), f"#{request.reverses_id}"))
        if request.account_id:
            rows.append((_("Account"), account_and_holder(request.account)))
        rows += [(_("Units"), unit), (_("Quantity"), f"{request.quantity:,} t-CO2"), (_("Reason"), request.reason),
                 (_("Requested by"), f"{request.requested_by.full_name} ({transfers.jst_label(request.requested_at)})")]
        consequence = {
            BookingRequest.Kind.ISSUANCE: _("The units are created in the account at once."),
            BookingRequest.Kind.CANCELLATION: _("The units leave the account for the cancellation account for good."),
            BookingRequest.Kind.REVERSAL: _("Every unit the transaction moved goes back at once; a transaction is "
                                            "reversed once at most."),
        }.get(request.kind, "")
        return Check(title=_("Check the request before approving it"), rows=rows, consequence=consequence,
                     confirm_label=_("Approve and book"), form=SecondFactorForm())

    def approve(self, request, data):
        done = administration.booking_request_approve(request=request, acting_user=self.request.user,
                                                      otp_token=data.get("otp_token", "").strip())
        if done.status == BookingRequest.Status.FAILED:
            messages.error(self.request, _("Approved, but the ledger refused it: %(reason)s") % {"reason": done.failure})
            return _("Approved.")
        return _("Approved and booked as transaction #%(id)s.") % {"id": done.ledger_transaction_id}

    def reject(self, request, data):
        administration.booking_request_reject(request=request, acting_user=self.request.user)
        return _("Rejected.")


class UpperLimitPaymentDecisionView(AdministratorActionView):
    model = UpperLimitPayment
    actions = {"confirm": "confirm"}

    def return_url(self, obj):
        return reverse("four_eyes_queue")

    def confirm(self, payment, data):
        compliance.upper_limit_payment_confirm(payment=payment, acting_user=self.request.user)
        return _("Payment %(reference)s confirmed.") % {"reference": payment.payment_reference}


class RestrictionListView(AdministratorRequiredMixin, TemplateView):
    template_name = "administration/restrictions.html"

    def get_context_data(self, **kwargs):
        kwargs.update(
            blocked=HoldingAccount.objects.filter(state=HoldingAccount.State.BLOCKED).select_related("organisation"),
            suspended=Membership.objects.filter(suspended_at__isnull=False, ended_at__isnull=True)
            .select_related("user", "organisation").order_by("-suspended_at"))
        return super().get_context_data(**kwargs)


class HoldingAccountStateView(AdministratorActionView):
    model = HoldingAccount
    actions = {"block": "block", "unblock": "unblock", "close": "close"}
    checks = {"close": "check_close"}

    def return_url(self, account):
        return reverse("holding_account_detail", args=[account.pk])

    def check_close(self, account):
        transfers.account_close_check(account=account, acting_user=self.request.user)
        return Check(title=_("Check before closing the account"),
                     rows=[(_("Account"), account_and_holder(account)), (_("Kind"), account.get_kind_display())],
                     consequence=_("A closed account neither sends nor receives units, for good; it cannot be "
                                   "reopened."),
                     confirm_label=_("Close the account"), destructive=True,
                     form=ReasonForm(initial={"reason": self.request.POST.get("reason", "")}))

    def block(self, account, data):
        transfers.account_block(account=account, reason=data.get("reason", ""), acting_user=self.request.user)
        return _("Account %(number)s blocked: it can receive but not send units.") % {"number": account.number}

    def close(self, account, data):
        transfers.account_close(account=account, reason=data.get("reason", ""), acting_user=self.request.user)
        return _("Account %(number)s is closed: it can neither send nor receive units.") % {"number": account.number}

    def unblock(self, account, data):
        transfers.account_unblock(account=account, acting_user=self.request.user)
        return _("Account %(number)s is open again.") % {"number": account.number}


class MembershipStateView(AdministratorActionView):
    model = Membership
    actions = {"suspend": "suspend", "reinstate": "reinstate"}

    def return_url(self, membership):
        return reverse("organisation_detail", args=[membership.organisation_id])

    def suspend(self, membership, data):
        transfers.membership_suspend(membership=membership, reason=data.get("reason", ""), acting_user=self.request.user)
        return _("%(name)s's access is suspended.") % {"name": membership.user.full_name}

    def reinstate(self, membership, data):
        transfers.membership_reinstate(membership=membership, acting_user=self.request.user)
        return _("%(name)s's access is restored.") % {"name": membership.user.full_name}
