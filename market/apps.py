from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketConfig(AppConfig):
    name = "market"
    verbose_name = _("Market")

    def ready(self):
        from accounts.ledger import booking
        from allocation import adapter
        from market.selectors import average_price, traded_fiscal_years
        from market.services.orders import reservation_differences

        # The ledger's reconciliation also proves that balances reserve exactly what open orders hold back.
        if reservation_differences not in booking.RESERVATION_CHECKS:
            booking.RESERVATION_CHECKS.append(reservation_differences)
        # The allocation engine reads the FY's average market price for §6-2 and §6-3 from here.
        if (traded_fiscal_years, average_price) not in adapter.MARKET_PRICES:
            adapter.MARKET_PRICES.append((traded_fiscal_years, average_price))
