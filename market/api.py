"""The market's API for participants' own systems: orders (entered with an idempotency key), cancels, the book.

Token authentication as the rest of the API (django-rest-knox); the same services and rules as the pages. An
order is entered once per ``Idempotency-Key`` header (or ``idempotency_key`` field): sending it again answers
200 with the order first entered; a different order under the same key is refused (idempotency_conflict).
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from gxregistry.api import RestrictedViewSetMixin
from gxregistry.errors import ErrorCode, RegistryError
from market import selectors
from market.models import Instrument, Order, Trade
from market.services import orders


class TradeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Trade
        fields = ["id", "price_yen", "quantity", "aggressor", "traded_at", "ledger_transaction"]


class BookTradeSerializer(serializers.ModelSerializer):
    """A trade as the book shows it to everyone: no order, no transaction."""

    class Meta:
        model = Trade
        fields = ["price_yen", "quantity", "aggressor", "traded_at"]


class OrderSerializer(serializers.ModelSerializer):
    instrument = serializers.SlugRelatedField(slug_field="code", queryset=Instrument.objects.all(),
                                              error_messages={"does_not_exist": "No instrument has code {value}."})
    price_yen = serializers.CharField(help_text="Whole yen, a multiple of the instrument's tick.")
    quantity = serializers.CharField(help_text="Whole allowances, a multiple of the instrument's lot.")
    idempotency_key = serializers.CharField(required=False, max_length=100,
                                            help_text="Or the Idempotency-Key header: one order per key.")

    class Meta:
        model = Order
        fields = ["id", "instrument", "side", "price_yen", "quantity", "remaining", "status", "time_in_force",
                  "entered_at", "closed_reason", "idempotency_key"]
        read_only_fields = ["remaining", "status", "entered_at", "closed_reason"]
        extra_kwargs = {"time_in_force": {"required": False, "default": Order.TimeInForce.DAY}}


class OrderViewSet(RestrictedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                   mixins.CreateModelMixin, viewsets.GenericViewSet):
    """The caller's organisation's orders. POST enters one (matched at once); ``/cancel/`` takes one off the book."""

    serializer_class = OrderSerializer
    queryset = Order.objects.select_related("instrument").order_by("-sequence")

    @extend_schema(parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)])
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        participant = selectors.trading_participant(request.user)
        if participant is None:
            raise RegistryError(ErrorCode.NOT_PERMITTED, "Your organisation does not take part in the market.")
        key = request.headers.get("Idempotency-Key") or data.get("idempotency_key") or ""
        existed = Order.objects.filter(participant=participant, idempotency_key=key.strip()).exists()
        # A refusal (RegistryError) is answered by gxregistry.api.exception_handler with its code and field.
        entered = orders.order_enter(participant=participant, instrument=data["instrument"], side=data["side"],
                                     price_yen=data["price_yen"], quantity=data["quantity"],
                                     time_in_force=data.get("time_in_force", Order.TimeInForce.DAY),
                                     idempotency_key=key, acting_user=request.user)
        body = {**self.get_serializer(entered.order).data,
                "trades": TradeSerializer(entered.trades, many=True).data, "halted": entered.halted}
        return Response(body, status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        order = self.get_object()
        return Response(self.get_serializer(orders.order_cancel(order=order, acting_user=request.user)).data)


class LevelSerializer(serializers.Serializer):
    price_yen = serializers.IntegerField()
    quantity = serializers.IntegerField()
    orders = serializers.IntegerField()


class BookSerializer(serializers.Serializer):
    instrument = serializers.CharField()
    bids = LevelSerializer(many=True)
    asks = LevelSerializer(many=True)
    trades = BookTradeSerializer(many=True)


class BookView(APIView):
    """An instrument's book by price level and its latest trades (no participant named)."""

    @extend_schema(responses=BookSerializer)
    def get(self, request, code):
        instrument = Instrument.objects.filter(code=code).first()
        if instrument is None:
            raise NotFound(f"No instrument has code {code}.")
        book = selectors.book_levels(instrument)
        return Response({"instrument": instrument.code, "bids": book["bids"], "asks": book["asks"],
                         "trades": BookTradeSerializer(selectors.recent_trades(instrument), many=True).data})
