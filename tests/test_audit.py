"""The audit trail: every change, however made, with who, when, before and after."""

import pytest
from django.db import ProgrammingError, connection, transaction
from django.urls import reverse

from accounts import services
from accounts.models import Organisation
from accounts.roles import Role
from accounts.services import system_actor
from allocation.models import Facility

pytestmark = pytest.mark.django_db


def test_service_change_is_recorded_with_the_acting_user(make_user, make_organisation):
    admin = make_user(Role.REGISTRY_ADMINISTRATOR)
    entity = make_organisation()
    employee = services.user_create(acting_user=system_actor(), email="new@example.jp", full_name="New", password="long-enough-pass-1")
    membership = services.membership_create(user=employee, organisation=entity, role=Role.VIEWER, acting_user=admin)
    event = membership.history.get(pgh_label="insert")
    assert event.pgh_context.metadata["user"] == admin.pk
    assert event.pgh_context.metadata["action"] == "membership_create"


def test_bulk_update_is_recorded_with_before_and_after(make_organisation):
    entity = make_organisation(name="Before Co.")
    Organisation.objects.filter(pk=entity.pk).update(name="After Co.")  # no save(), no signals
    update = entity.history.get(pgh_label="update")
    assert update.name == "After Co."
    from pghistory.models import Events

    diff = Events.objects.filter(pgh_obj_model="accounts.Organisation", pgh_obj_id=str(entity.pk),
                                 pgh_label="update").get().pgh_diff
    assert diff["name"] == ["Before Co.", "After Co."]


def test_raw_sql_change_and_delete_are_recorded(make_organisation):
    entity = make_organisation()
    facility = Facility.objects.create(organisation=entity, code="F1", name="Works", prefecture=1, energy_use_kl=10)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE allocation_facility SET energy_use_kl = 2000 WHERE id = %s", [facility.pk])
        cursor.execute("DELETE FROM allocation_facility WHERE id = %s", [facility.pk])
    labels = list(facility.history.order_by("pgh_id").values_list("pgh_label", "energy_use_kl"))
    assert [label for label, _ in labels] == ["insert", "update", "delete"]
    assert labels[1][1] == 2000


def test_web_request_change_records_user_and_url(client, make_user, signed_in):
    admin = make_user(Role.REGISTRY_ADMINISTRATOR)
    signed_in(admin)
    entity = Organisation.objects.create(kind="regulated_entity", name="Web Co.", corporate_number="7000012050002",
                                         sector="steel")
    response = client.post(reverse("admin:accounts_organisation_change", args=[entity.pk]), {
        "kind": "regulated_entity", "name": "Web Co. renamed", "name_en": "", "corporate_number": "7000012050002",
        "sector": "steel", "address": "", "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302, response.content[:2000]
    update = entity.history.get(pgh_label="update")
    assert update.pgh_context.metadata["user"] == admin.pk
    assert update.pgh_context.metadata["url"] == reverse("admin:accounts_organisation_change", args=[entity.pk])


@pytest.mark.parametrize("statement", [
    "UPDATE accounts_organisationhistory SET name = 'forged'",
    "DELETE FROM accounts_organisationhistory",
])
def test_audit_records_cannot_be_changed_even_with_raw_sql(make_organisation, statement):
    make_organisation()
    with (pytest.raises(ProgrammingError, match="Cannot update or delete rows"), transaction.atomic(),
          connection.cursor() as cursor):
        cursor.execute(statement)


def test_audit_records_are_read_only_in_the_back_office(client, make_user, signed_in):
    admin = make_user(Role.REGISTRY_ADMINISTRATOR)
    signed_in(admin)
    response = client.get(reverse("admin:pghistory_events_changelist"))
    assert response.status_code == 200
    assert client.get("/admin/pghistory/events/add/").status_code in (403, 404, 302)
