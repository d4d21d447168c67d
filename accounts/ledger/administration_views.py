"""Registry administrators' pages: search, the four-eyes queue, suspensions and blocks."""

from django.contrib import messages
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from accounts import compliance
from accounts.ledger import administration, transfers
from accounts.ledger.forms import ApprovalForm, BookingRequestForm, CreditIssuanceForm, ReversalRequestForm
from accounts.ledger.search import registry_search
from accounts.models import BookingRequest, HoldingAccount, Membership, UpperLimitPayment
from gxregistry.pages import AdministratorRequiredMixin, FormPageMixin, ObjectActionView


class AdministratorActionView(AdministratorRequiredMixin, ObjectActionView):
    def get_object(self, pk):
        return get_object_or_404(self.model, pk=pk)


class RegistrySearchView(AdministratorRequiredMixin, TemplateView):
    template_name = "administration/search.html"

    def get_context_data(self, **kwargs):
        query = self.request.GET.get("q", "").strip()
        kwargs.update(query=query, results=registry_search(query) if query else None)
        return super().get_context_data(**kwargs)


class FourEyesQueueView(FormPageMixin, AdministratorRequiredMixin, TemplateView):
    """Issuance and cancellation requests and upper-limit payments waiting for a second administrator."""

    template_name = "administration/four_eyes.html"
    forms = {"request": BookingRequestForm, "credits": CreditIssuanceForm, "reversal": ReversalRequestForm}

    def build_form(self, name, data=None):
        return self.forms[name](data, auto_id=f"id_{name}_%s")  # two forms on one page: distinct ids

    def form_valid_request(self, form):
        data = form.cleaned_data
        administration.booking_request_create(
            kind=data["kind"], unit_type=data["unit_type"], vintage=data["vintage"], quantity=data["quantity"],
            account=data["account"], credit_batch=data["credit_batch"], reason=data["reason"],
            acting_user=self.request.user)
        messages.success(self.request, _("Request recorded; a second administrator must approve it."))

    def form_valid_credits(self, form):
        data = form.cleaned_data
        administration.credit_issuance_request_create(
            unit_type=data["unit_type"], serial_start=data["serial_start"], serial_end=data["serial_end"],
            vintage=data["vintage"], origin=data["origin"], eligible=data["eligible"], account=data["account"],
            reason=data["reason"], acting_user=self.request.user)
        messages.success(self.request, _("Request recorded; a second administrator must approve it."))

    def form_valid_reversal(self, form):
        data = form.cleaned_data
        administration.reversal_request_create(original=data["transaction"], reason=data["reason"],
                                               acting_user=self.request.user)
        messages.success(self.request, _("Reversal of transaction #%(id)s asked for; a second administrator must "
                                         "approve it.") % {"id": data["transaction"].pk})

    def get_context_data(self, **kwargs):
        kwargs.setdefault("request_form", self.build_form("request"))
        kwargs.setdefault("credits_form", self.build_form("credits"))
        kwargs.setdefault("reversal_form", self.build_form("reversal"))
        kwargs.update(
            approval_form=ApprovalForm(),
            pending=BookingRequest.objects.filter(status=BookingRequest.Status.AWAITING_APPROVAL)
            .select_related("account", "requested_by", "credit_batch").order_by("requested_at"),
            decided=BookingRequest.objects.exclude(status=BookingRequest.Status.AWAITING_APPROVAL)
            .select_related("account", "requested_by", "decided_by").order_by("-decided_at")[:20],
            payments=UpperLimitPayment.objects.filter(confirmed_at__isnull=True)
            .select_related("organisation", "recorded_by").order_by("recorded_at"))
        return super().get_context_data(**kwargs)


class BookingRequestDecisionView(AdministratorActionView):
    model = BookingRequest
    actions = {"approve": "approve", "reject": "reject"}

    def return_url(self, obj):
        return reverse("four_eyes_queue")

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

    def return_url(self, account):
        return reverse("holding_account_detail", args=[account.pk])

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
