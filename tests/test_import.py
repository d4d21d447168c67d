"""Facility-data import: the encodings Japanese offices use, broken files, other companies' rows, preview."""

import io

import openpyxl
import pghistory.models
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import Membership
from accounts.roles import Role
from allocation.models import Facility, ProcessYear
from allocation.services import facility_data_import
from conftest import enrol_totp
from gxregistry.errors import ErrorCode, RegistryError
from gxregistry.importing import UnreadableFile

HEADER = "corporate_number,facility_code,name,prefecture,address,energy_use_kl,opened_on,last_operating_day\n"


def facilities_csv(corporate_number, *rows):
    lines = [HEADER]
    for code, name, energy in rows:
        lines.append(f"{corporate_number},{code},{name},23,愛知県豊田市,{energy},2001-04-01,\n")
    return "".join(lines)


@pytest.fixture
def representative(make_user):
    return make_user(Role.AUTHORISED_REPRESENTATIVE)


def entity_of(user):
    return user.memberships.get().organisation


def run(user, text_or_bytes, *, dry_run=False, kind="facilities", extension="csv", encoding="utf-8"):
    data = text_or_bytes.encode(encoding) if isinstance(text_or_bytes, str) else text_or_bytes
    return facility_data_import(acting_user=user, organisation=entity_of(user), kind=kind, data=data,
                                extension=extension, dry_run=dry_run)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_japanese_names_survive_every_encoding_excel_writes(representative, encoding):
    entity = entity_of(representative)
    outcome = run(representative, facilities_csv(entity.corporate_number, ("F1", "名古屋製鉄所", "2500.5")),
                  encoding=encoding)
    assert outcome.ok, outcome.row_errors
    facility = Facility.objects.get(organisation=entity, code="F1")
    assert facility.name == "名古屋製鉄所"
    assert facility.address == "愛知県豊田市"
    assert str(facility.energy_use_kl) == "2500.500"


def test_dry_run_writes_nothing_and_previews_every_row(representative):
    entity = entity_of(representative)
    outcome = run(representative, facilities_csv(entity.corporate_number, ("F1", "A", "10"), ("F2", "B", "20")),
                  dry_run=True)
    assert outcome.ok and outcome.dry_run
    assert outcome.totals["new"] == 2
    assert [row[0] for row in outcome.rows] == [1, 2]
    assert not Facility.objects.filter(organisation=entity).exists()


def test_second_import_of_the_same_file_changes_nothing(representative):
    entity = entity_of(representative)
    text = facilities_csv(entity.corporate_number, ("F1", "A", "10"))
    run(representative, text)
    outcome = run(representative, text)
    assert outcome.totals["new"] == 0 and outcome.totals["skip"] == 1
    assert Facility.objects.filter(organisation=entity).count() == 1


def test_a_file_in_neither_utf8_nor_cp932_is_refused_with_advice(representative):
    with pytest.raises(UnreadableFile, match="CSV UTF-8"):
        run(representative, HEADER.encode() + b"\x81\x20bad\n")


def test_a_bad_row_names_the_field_and_nothing_is_written(representative):
    entity = entity_of(representative)
    text = facilities_csv(entity.corporate_number, ("F1", "Good", "10"), ("F2", "Negative", "-5"))
    text += f"{entity.corporate_number},F3,Bad prefecture,99,,10,,\n"
    outcome = run(representative, text)
    assert not outcome.ok
    messages = dict(outcome.row_errors)
    assert "energy_use_kl" in messages[2] or "energy" in messages[2].lower()
    assert "prefecture" in messages[3]
    assert not Facility.objects.filter(organisation=entity).exists()


def test_a_row_for_another_company_reads_as_not_found_and_rolls_back_the_file(representative, make_organisation):
    entity = entity_of(representative)
    other = make_organisation()
    text = facilities_csv(entity.corporate_number, ("F1", "Mine", "10"))
    text += facilities_csv(other.corporate_number, ("X1", "Theirs", "10")).split("\n", 1)[1]
    outcome = run(representative, text)
    assert not outcome.ok
    assert any(other.corporate_number in message for _row, message in outcome.row_errors)
    assert not Facility.objects.filter(code__in=["F1", "X1"]).exists()


def test_a_viewer_cannot_import_anything(make_user):
    viewer = make_user(Role.VIEWER)
    with pytest.raises(RegistryError) as refused:
        run(viewer, facilities_csv(entity_of(viewer).corporate_number, ("F1", "A", "10")))
    assert refused.value.code == ErrorCode.NOT_PERMITTED
    assert not Facility.objects.exists()


def test_a_suspended_representative_cannot_import(representative):
    Membership.objects.filter(user=representative).update(suspended_at=timezone.now(), suspension_reason="audit")
    with pytest.raises(RegistryError) as refused:
        run(representative, facilities_csv(entity_of(representative).corporate_number, ("F1", "A", "10")))
    assert refused.value.code == ErrorCode.SUSPENDED
    assert not Facility.objects.exists()


def xlsx(rows):
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_with_processes_and_yearly_data(representative):
    entity = entity_of(representative)
    run(representative, facilities_csv(entity.corporate_number, ("F1", "高炉", "50000")))
    processes = xlsx([
        ["corporate_number", "facility_code", "process_code", "name", "method", "benchmark_kind",
         "sector_benchmark", "emission_type", "activity_unit"],
        [entity.corporate_number, "F1", "P1", "高炉一貫", "benchmark", "product", "steel.blast_furnace", "energy", "t"],
    ])
    assert run(representative, processes, kind="processes", extension="xlsx").ok
    years = xlsx([
        ["corporate_number", "facility_code", "process_code", "fiscal_year", "activity", "emissions_t"],
        *[[entity.corporate_number, "F1", "P1", fy, 1000 + fy, 2000] for fy in (2023, 2024, 2025)],
    ])
    outcome = run(representative, years, kind="process_years", extension="xlsx")
    assert outcome.ok, outcome.row_errors
    assert list(ProcessYear.objects.filter(process__facility__organisation=entity)
                .order_by("fiscal_year").values_list("fiscal_year", "activity")) == [
        (2023, 3023), (2024, 3024), (2025, 3025)]


def test_company_page_previews_then_imports_on_confirm(representative, signed_in, client):
    entity = entity_of(representative)
    signed_in(representative)
    upload = SimpleUploadedFile("施設.csv", facilities_csv(entity.corporate_number, ("F1", "工場", "10")).encode("cp932"))
    response = client.post(f"/organisations/{entity.pk}/import/", {"kind": "facilities", "import_file": upload})
    assert response.status_code == 200
    assert "Confirm import" in response.text
    assert "<td>New</td>" in response.text  # the row's fate in words, not django-import-export's "new"
    assert not Facility.objects.exists()
    response = client.post(f"/organisations/{entity.pk}/import/", {"confirm": "1"})
    assert response.status_code == 302
    assert Facility.objects.get(organisation=entity, code="F1").name == "工場"


def test_company_page_shows_row_errors_and_offers_no_confirm(representative, signed_in, client):
    entity = entity_of(representative)
    signed_in(representative)
    upload = SimpleUploadedFile("f.csv", facilities_csv(entity.corporate_number, ("F1", "A", "-1")).encode())
    response = client.post(f"/organisations/{entity.pk}/import/", {"kind": "facilities", "import_file": upload})
    assert "nothing was imported" in response.text
    assert "Confirm import" not in response.text
    response = client.post(f"/organisations/{entity.pk}/import/", {"confirm": "1"})
    assert not Facility.objects.exists()


def test_company_page_refuses_other_file_types_naming_the_field(representative, signed_in, client):
    entity = entity_of(representative)
    signed_in(representative)
    upload = SimpleUploadedFile("f.pdf", b"%PDF-1.4")
    response = client.post(f"/organisations/{entity.pk}/import/", {"kind": "facilities", "import_file": upload})
    assert response.context["form"].errors["import_file"] == ["Upload a .csv or .xlsx file."]


def test_admin_import_shows_a_dry_run_preview_before_writing(make_user, make_organisation, signed_in, client):
    administrator = make_user(Role.REGISTRY_ADMINISTRATOR)
    enrol_totp(administrator)
    entity = make_organisation()
    signed_in(administrator)
    upload = SimpleUploadedFile("f.csv", facilities_csv(entity.corporate_number, ("F9", "千葉工場", "10")).encode("cp932"))
    response = client.post("/admin/allocation/facility/import/", {"format": "0", "import_file": upload,
                                                                 "resource": "0"})
    assert response.status_code == 200
    assert "千葉工場" in response.text
    assert "confirm" in response.text.lower()
    assert not Facility.objects.exists()


def test_admin_import_of_a_misencoded_file_says_how_to_save_it(make_user, signed_in, client):
    administrator = make_user(Role.REGISTRY_ADMINISTRATOR)
    enrol_totp(administrator)
    signed_in(administrator)
    upload = SimpleUploadedFile("f.csv", HEADER.encode() + b"\x81\x20bad\n")
    response = client.post("/admin/allocation/facility/import/", {"format": "0", "import_file": upload,
                                                                 "resource": "0"})
    assert "CSV UTF-8" in response.text
    assert not Facility.objects.exists()


def _admin_confirm(client, entity, name):
    upload = SimpleUploadedFile("f.csv", facilities_csv(entity.corporate_number, ("F9", name, "10")).encode("cp932"))
    preview = client.post("/admin/allocation/facility/import/", {"format": "0", "import_file": upload,
                                                                "resource": "0"})
    return client.post("/admin/allocation/facility/process_import/", preview.context["confirm_form"].initial)


def test_admin_import_writes_through_the_service_and_is_audited(make_user, make_organisation, signed_in, client):
    administrator = make_user(Role.REGISTRY_ADMINISTRATOR)
    enrol_totp(administrator)
    entity = make_organisation()
    signed_in(administrator)
    response = _admin_confirm(client, entity, "千葉工場")
    assert response.status_code == 302
    facility = Facility.objects.get(organisation=entity, code="F9")
    assert facility.name == "千葉工場"
    context = pghistory.models.Context.objects.filter(metadata__action="import_facilities").last()
    assert context is not None and context.metadata["user"] == administrator.pk


def test_a_suspended_administrator_cannot_confirm_an_admin_import(make_user, make_organisation, signed_in, client):
    administrator = make_user(Role.REGISTRY_ADMINISTRATOR)
    enrol_totp(administrator)
    entity = make_organisation()
    signed_in(administrator)
    upload = SimpleUploadedFile("f.csv", facilities_csv(entity.corporate_number, ("F9", "千葉工場", "10")).encode())
    preview = client.post("/admin/allocation/facility/import/", {"format": "0", "import_file": upload,
                                                                "resource": "0"})
    Membership.objects.filter(user=administrator).update(suspended_at=timezone.now())
    response = client.post("/admin/allocation/facility/process_import/", preview.context["confirm_form"].initial,
                           follow=True)
    assert not Facility.objects.exists()
    assert "suspended" in response.text


def test_the_import_page_offers_a_template_per_kind_and_explains_each_column(representative, signed_in, client):
    from allocation.services import IMPORT_KINDS, import_columns

    entity = entity_of(representative)
    signed_in(representative)
    page = client.get(f"/organisations/{entity.pk}/import/").text
    for kind in IMPORT_KINDS:
        template = client.get(f"/organisations/{entity.pk}/import/?template={kind}")
        header = template.content.decode("utf-8-sig").splitlines()[0].split(",")
        assert header == [name for name, _meaning in import_columns(kind)]
        assert f"?template={kind}" in page
    assert "The entity&#x27;s corporate number (13 digits)." in page
    assert "opened on" in page  # a model column is explained by its label
    # The template is what the import reads: its header alone is a valid (empty) file.
    assert HEADER.strip().split(",") == [name for name, _meaning in import_columns("facilities")]


def test_row_errors_speak_the_readers_words_not_field_or_constraint_names(representative):
    from django.utils import translation

    entity = entity_of(representative)
    text = (HEADER + f"{entity.corporate_number},F1,A,23,,-5,2001-04-01,\n"
            f"{entity.corporate_number},F2,B,23,,10,2001/31/12,\n"
            f"{entity.corporate_number},F3,C,23,,10,2010-04-01,2001-03-31\n")
    for language, negative, date_advice, closure in (
            ("en", "Energy use cannot be negative.", "Enter the date as YYYY-MM-DD",
             "The last day of operation cannot be before the opening date."),
            ("ja", "エネルギー使用量は負にできません。", "日付は YYYY-MM-DD", "最終稼働日は稼働開始日より前にできません。")):
        with translation.override(language):
            messages = dict(run(representative, text).row_errors)
        assert negative in messages[1] and "facility_energy_use_not_negative" not in messages[1], messages
        assert date_advice in messages[2] and "opened_on" not in messages[2] and "parsed" not in messages[2]
        assert closure in messages[3] and "closed_after_opened" not in messages[3]
    assert not Facility.objects.filter(organisation=entity).exists()


def test_a_utf16_file_with_its_byte_order_mark_is_read(representative):
    """Some tools save "Unicode" CSV as UTF-16: read it rather than answer with a message about missing columns."""
    entity = entity_of(representative)
    data = facilities_csv(entity.corporate_number, ("F1", "名古屋製鉄所", "10")).encode("utf-16")
    outcome = run(representative, data)
    assert outcome.ok, outcome.row_errors
    assert Facility.objects.get(organisation=entity, code="F1").name == "名古屋製鉄所"


def test_a_file_without_the_identifying_columns_names_them_in_the_readers_language(representative):
    from django.utils import translation

    with translation.override("ja"):
        outcome = run(representative, "名前,住所\n名古屋製鉄所,愛知県\n")
    said = " ".join(message for _row, message in outcome.row_errors)
    assert not outcome.ok and "import_id_fields" not in said
    assert "1行目" in said and "corporate_number" in said and "facility_code" in said
