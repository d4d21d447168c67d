"""The ledger's API for companies' own systems: holdings, transactions and transfer initiation."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts import ledger
from accounts.ledger import holdings, transfers
from accounts.models import Balance, HoldingAccount, LedgerEntry, TransferRequest
from gxregistry.api import RestrictedReadOnlyViewSet, RestrictedViewSetMixin

# --- holdings, transactions and transfer initiation for companies' own systems ------------------------

class BalanceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Balance
        fields = ["unit_type", "vintage", "credit_batch", "quantity"]


class HoldingAccountSerializer(serializers.ModelSerializer):
    balances = serializers.SerializerMethodField()

    class Meta:
        model = HoldingAccount
        fields = ["id", "number", "kind", "name", "state", "state_reason", "organisation", "balances"]

    @extend_schema_field(BalanceSerializer(many=True))
    def get_balances(self, account):
        return BalanceSerializer([b for b in account.balances.all() if b.quantity], many=True).data


class EntrySerializer(serializers.ModelSerializer):
    transaction_kind = serializers.CharField(source="transaction.kind")
    booked_at = serializers.DateTimeField(source="transaction.booked_at")

    class Meta:
        model = LedgerEntry
        fields = ["transaction", "transaction_kind", "booked_at", "unit_type", "vintage", "credit_batch", "quantity"]


class HoldingAccountViewSet(RestrictedReadOnlyViewSet):
    """The caller's holding accounts with their holdings; ``/transactions/`` lists the entries."""

    serializer_class = HoldingAccountSerializer
    queryset = HoldingAccount.objects.prefetch_related(
        Prefetch("balances", queryset=Balance.objects.order_by("unit_type", "vintage"))).order_by("number")

    @action(detail=True, methods=["get"])
    def transactions(self, request, pk=None):
        account = self.get_object()
        history = holdings.account_history(account=account, params=request.query_params)
        if history.is_bound and not history.is_valid():
            return Response(history.errors, status=status.HTTP_400_BAD_REQUEST)
        page = self.paginate_queryset(history.qs)
        return self.get_paginated_response(EntrySerializer(page, many=True).data)


class TransferRequestSerializer(serializers.ModelSerializer):
    source = serializers.PrimaryKeyRelatedField(queryset=HoldingAccount.objects.all())
    destination = serializers.SlugRelatedField(slug_field="number", queryset=HoldingAccount.objects.all(),
                                               error_messages={"does_not_exist": "No account has number {value}."})
    quantity = serializers.CharField(help_text="A whole number of units.")
    otp_token = serializers.CharField(write_only=True, help_text="A fresh second-factor code.")

    class Meta:
        model = TransferRequest
        fields = ["id", "source", "destination", "unit_type", "vintage", "credit_batch", "quantity", "status",
                  "initiated_at", "execute_after", "otp_token"]
        read_only_fields = ["status", "initiated_at", "execute_after"]


class TransferRequestViewSet(RestrictedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                             mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Transfers from the caller's accounts. POST initiates one; approval is a second person's act in the UI."""

    serializer_class = TransferRequestSerializer
    queryset = TransferRequest.objects.select_related("destination").order_by("-initiated_at")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        source = HoldingAccount.objects.restrict(request.user).filter(pk=data["source"].pk).first()
        if source is None:
            raise NotFound
        # A refusal (RegistryError) is answered by gxregistry.api.exception_handler with its code and field.
        unit = ledger.Unit(data["unit_type"], data["vintage"], data.get("credit_batch") and data["credit_batch"].pk)
        created = transfers.transfer_initiate(source=source, destination=data["destination"], unit=unit,
                                              quantity=data["quantity"], acting_user=request.user,
                                              otp_token=data["otp_token"])
        return Response(self.get_serializer(created).data, status=status.HTTP_201_CREATED)
