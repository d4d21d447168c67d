from django.contrib import admin

from gxregistry.back_office import ReadOnlyAdmin
from market.models import Instrument, InstrumentParameters, Participant

# The market's records, to look up: every change goes through market.services (GXA's pages, /market/operator/).


@admin.register(Participant)
class ParticipantAdmin(ReadOnlyAdmin):
    list_display = ("organisation", "status", "rules_version", "rules_accepted_at", "decided_at")
    list_filter = ("status",)


@admin.register(Instrument)
class InstrumentAdmin(ReadOnlyAdmin):
    list_display = ("code", "vintage", "opens_on", "session_opens_at", "session_closes_at", "tick_yen", "lot")


@admin.register(InstrumentParameters)
class InstrumentParametersAdmin(ReadOnlyAdmin):
    list_display = ("instrument", "effective_from", "reference_price_yen", "band_percent", "halt_minutes", "set_by")
