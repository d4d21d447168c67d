"""Downloads: one way to answer with a CSV that Excel in Japan opens correctly (UTF-8 with a BOM)."""

import tablib
from django.http import HttpResponse


def csv_response(headers, rows, filename: str) -> HttpResponse:
    dataset = tablib.Dataset(*rows, headers=[str(h) for h in headers])
    response = HttpResponse(dataset.export("csv").encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
