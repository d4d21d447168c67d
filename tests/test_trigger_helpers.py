"""pgtrigger's and pghistory's helpers are the registry's versions, without subtransactions
(gxregistry/sql/trigger_helpers.sql), and behave as the libraries' own."""

import pgtrigger
import pytest
from django.db import connection

from accounts.services import system_actor
from gxregistry.audit import audit_context

pytestmark = pytest.mark.django_db


def source(function: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = %s", [function])
        return cursor.fetchone()[0]


@pytest.mark.parametrize("function", ["_pgtrigger_should_ignore", "_pgh_attach_context"])
def test_the_helpers_installed_after_migrate_open_no_subtransaction(function):
    assert "EXCEPTION" not in source(function).upper()


def ignored_on_organisations() -> dict[str, bool]:
    """Whether each of the organisation table's pgtrigger triggers is ignored now."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname, _pgtrigger_should_ignore(tgname) FROM pg_trigger "
                       "WHERE tgname LIKE 'pgtrigger_%%' AND tgrelid = 'accounts_organisation'::regclass")
        return dict(cursor.fetchall())


def test_an_ignored_trigger_is_ignored_and_only_while_asked():
    with connection.cursor() as cursor:
        cursor.execute("SELECT _pgtrigger_should_ignore('some_trigger')")
        assert cursor.fetchone()[0] is False
    with pgtrigger.ignore("accounts.Organisation:insert_insert"):
        ignored = ignored_on_organisations()
    assert [name for name, yes in ignored.items() if yes] == [
        name for name in ignored if name.startswith("pgtrigger_insert_insert_")]  # that trigger, not the others
    assert len(ignored) > 1 and sum(ignored.values()) == 1
    assert set(ignored_on_organisations().values()) == {False}  # and no longer once the block has ended


@pytest.mark.django_db(transaction=True)
def test_history_rows_carry_the_services_context_and_none_outside_one(make_organisation):
    """In transactions of their own: after one that set a context, the setting reads as the empty string."""
    organisation = make_organisation()
    with audit_context(system_actor(), action="rename"):
        organisation.name = "改名後の会社"
        organisation.save()
    event = organisation.history.order_by("-pgh_id").first()
    assert event.pgh_context is not None and event.pgh_context.metadata["action"] == "rename"
    organisation.name = "文脈なし"
    organisation.save()
    event = organisation.history.order_by("-pgh_id").first()
    assert event.pgh_context is None
