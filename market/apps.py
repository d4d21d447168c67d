from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketConfig(AppConfig):
    name = "market"
    verbose_name = _("Market")

    def ready(self):
        from accounts.ledger import booking
        from market.services.orders import reservation_differences

        # The ledger's reconciliation also proves that balances reserve exactly what open orders hold back.
        if reservation_differences not in booking.RESERVATION_CHECKS:
            booking.RESERVATION_CHECKS.append(reservation_differences)
