"""Loading a report's lines from the files Japanese offices write: every row checked first, nothing half-done."""

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from gxregistry.errors import ErrorCode, RegistryError
from verification.models import EmissionsLine
from verification.services import reports
from verification.tests.builders import entity_with_facility

HEADER = ",".join(reports.IMPORT_COLUMNS) + "\n"


def row(**values):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([values.get(name, "") for name in reports.IMPORT_COLUMNS])
    return buffer.getvalue()


@pytest.fixture
def entity(make_user, make_organisation):
    return entity_with_facility(make_user, make_organisation)


@pytest.fixture
def draft(entity):
    return reports.emissions_report_create(organisation=entity.organisation, fiscal_year=2026,
                                           acting_user=entity.representative)


def load(entity, report, text, *, dry_run=False, encoding="utf-8", extension="csv"):
    data = text.encode(encoding) if isinstance(text, str) else text
    return reports.emissions_lines_import(report=report, data=data, extension=extension, dry_run=dry_run,
                                          acting_user=entity.representative)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_each_method_is_computed_from_a_file_in_every_encoding(entity, draft, encoding):
    text = HEADER + row(facility_code="F1", kind="energy", source="Ａ重油", method="activity_factor", activity="1,000",
                        emission_factor="2.71") + \
        row(facility_code="F1", kind="non_energy", source="石灰石", method="mass_balance", carbon_in_t="120",
            carbon_out_t="12") + \
        row(facility_code="F1", kind="energy", source="ボイラー", method="conservative", historical_t="1000",
            explanation="計量器の故障")
    outcome = load(entity, draft, text, encoding=encoding)
    assert outcome.ok, outcome.row_errors
    assert sorted(EmissionsLine.objects.values_list("emissions_t", flat=True)) == [
        Decimal("396.000"), Decimal("1075.000"), Decimal("2710.000")]
    assert EmissionsLine.objects.get(method="activity_factor").source == "Ａ重油"


def test_one_bad_row_and_nothing_is_written_with_every_error_named_in_words(entity, draft):
    text = HEADER + row(facility_code="F1", kind="energy", source="ok", method="model", model_emissions_t="5") + \
        row(facility_code="F9", kind="energy", source="x", method="model", model_emissions_t="5") + \
        row(facility_code="F1", kind="energy", source="x", method="activity_factor", activity="abc",
            emission_factor="1") + \
        row(facility_code="F1", kind="energy", source="x", method="mass_balance", carbon_in_t="1")
    outcome = load(entity, draft, text)
    assert not outcome.ok and not EmissionsLine.objects.exists()
    messages = dict(outcome.row_errors)
    assert "no facility F9" in messages[3]
    assert messages[4].startswith("activity: enter a number")
    assert messages[5] == "carbon in products (t-C): required for this method"


def test_a_dry_run_writes_nothing(entity, draft):
    outcome = load(entity, draft, HEADER + row(facility_code="F1", kind="energy", source="x", method="model",
                                               model_emissions_t="5"), dry_run=True)
    assert outcome.ok and outcome.dry_run and outcome.total_t == Decimal(5)
    assert not EmissionsLine.objects.exists()


def test_an_xlsx_file_works_like_a_csv(entity, draft):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(reports.IMPORT_COLUMNS))
    values = {"facility_code": "F1", "kind": "energy", "source": "都市ガス", "method": "specification",
              "rated_t_per_hour": 0.5, "hours_per_day": 24, "operating_days": 300}
    sheet.append([values.get(name) for name in reports.IMPORT_COLUMNS])
    buffer = io.BytesIO()
    book.save(buffer)
    outcome = load(entity, draft, buffer.getvalue(), extension="xlsx")
    assert outcome.ok, outcome.row_errors
    assert EmissionsLine.objects.get().emissions_t == Decimal("3600.000")


def test_a_file_without_the_columns_is_refused_saying_which_are_expected(entity, draft):
    with pytest.raises(RegistryError) as error:
        load(entity, draft, "a,b\n1,2\n")
    assert error.value.field == "import_file" and "facility_code" in str(error.value.message)


def test_only_the_entitys_representative_imports(entity, draft, make_user):
    from accounts.roles import Role

    viewer = make_user(Role.VIEWER, entity.organisation)
    with pytest.raises(RegistryError) as error:
        reports.emissions_lines_import(report=draft, data=HEADER.encode(), extension="csv", dry_run=True,
                                       acting_user=viewer)
    assert error.value.code == ErrorCode.NOT_PERMITTED


def test_the_page_previews_then_imports(entity, draft, signed_in, client):
    signed_in(entity.representative)
    url = reverse("emissions_report", args=[entity.organisation.pk, 2026])
    template = client.get(url + "?template=csv").content.decode("utf-8-sig")
    assert template.splitlines()[0] == ",".join(reports.IMPORT_COLUMNS)
    upload = SimpleUploadedFile("lines.csv", template.encode("cp932"))
    preview = client.post(url, {"form": "import", "import_file": upload})
    assert preview.status_code == 200 and "ready to import" in preview.text
    assert not EmissionsLine.objects.exists()
    done = client.post(url, {"form": "import_confirm"})
    assert done.status_code == 302 and EmissionsLine.objects.count() == 3
