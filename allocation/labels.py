"""What people read for the engine's terms: one label per allocation line kind (pages, notices, PDFs)."""

from django.utils.translation import gettext_lazy as _

from allocation.engine import LineKind

LINE_LABELS = {
    LineKind.PRODUCT_BENCHMARK: _("Product benchmark"),
    LineKind.FUEL_BENCHMARK: _("Fuel benchmark"),
    LineKind.GF_ENERGY: _("Grandfathering, energy CO2"),
    LineKind.GF_PROCESS: _("Grandfathering, process CO2"),
    LineKind.BY_PRODUCT_FUEL: _("By-product fuel"),
    LineKind.BY_PRODUCT_SUPPLIER_DEDUCTION: _("By-product fuel supplier deduction"),
    LineKind.NEW_FACILITY: _("New facility"),
    LineKind.CLOSURE_DEDUCTION: _("Closure deduction"),
    LineKind.ACTIVITY_CHANGE_TRUE_UP: _("Activity-change true-up"),
    LineKind.EVENT_TRUE_UP: _("Disaster or inspection true-up"),
    LineKind.SUCCESSION: _("Succession"),
    LineKind.EXCLUDED: _("Excluded"),
    LineKind.EARLY_REDUCTION: _("Early reduction"),
    LineKind.LEAKAGE: _("Carbon leakage"),
    LineKind.RD: _("GX R&D"),
}

# Lines the allocation cycle adds to the engine's, from what was issued (allocation.services.cycle).
CARRIED_DEDUCTION = "carried_deduction"
CYCLE_LINE_LABELS = {CARRIED_DEDUCTION: _("Deduction carried from the previous FY")}


def line_label(kind: str):
    """The label of a stored line's kind (the engine's kinds and the cycle's)."""
    return {str(k): label for k, label in LINE_LABELS.items()}.get(kind) or CYCLE_LINE_LABELS.get(kind, kind)
