"""The order gateway's process (market.gateway): every order the registry's web and API processes enter reaches the
book through it, a batch at a time. ``make run`` starts it; production runs one per registry, beside the workers."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from market import gateway


class Command(BaseCommand):
    help = "Run the market's order gateway on the unix socket MARKET_GATEWAY_SOCKET names."

    def add_arguments(self, parser):
        parser.add_argument("--socket", default=settings.MARKET_GATEWAY_SOCKET,
                            help="the socket's path (default: MARKET_GATEWAY_SOCKET)")

    def handle(self, *args, socket, **options):
        if not socket:
            raise CommandError("Give the gateway's socket: MARKET_GATEWAY_SOCKET or --socket.")
        gateway.serve(socket)
