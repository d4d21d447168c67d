"""What the database itself refuses, and what a user is told when a booking is refused."""

import pytest
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction

from accounts import ledger
from accounts.models import HoldingAccount, LedgerEntry, LedgerTransaction
from accounts.tests.ledger_fixtures import funded, held, holding_account, key
from gxregistry.errors import RegistryError

pytestmark = pytest.mark.django_db

DATABASE_REFUSALS = (IntegrityError, InternalError, ProgrammingError)


def raw(sql, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_a_transfer_moves_units_and_the_balances_follow_the_entries():
    a, b = funded(100), holding_account()
    booked = ledger.transfer_units(source=a, destination=b, unit=ledger.allowance(2026), quantity=40,
                                   idempotency_key=key())
    assert (held(a), held(b)) == (60, 40)
    assert sorted(booked.entries.values_list("quantity", flat=True)) == [-40, 40]
    assert ledger.reconcile().clean


def test_raw_sql_cannot_set_a_balance_below_zero_or_at_all():
    a = funded(10)
    with pytest.raises(DATABASE_REFUSALS):
        raw("UPDATE accounts_balance SET quantity = -5 WHERE account_id = %s", [a.pk])
    with pytest.raises(DATABASE_REFUSALS):
        raw("UPDATE accounts_balance SET quantity = 1000000 WHERE account_id = %s", [a.pk])
    with pytest.raises(DATABASE_REFUSALS):
        raw("DELETE FROM accounts_balance WHERE account_id = %s", [a.pk])
    assert held(a) == 10


def test_raw_sql_cannot_update_or_delete_an_entry_or_a_transaction():
    a = funded(10)
    entry = LedgerEntry.objects.filter(account=a).first()
    with pytest.raises(DATABASE_REFUSALS):
        raw("UPDATE accounts_ledgerentry SET quantity = 999 WHERE id = %s", [entry.pk])
    with pytest.raises(DATABASE_REFUSALS):
        raw("DELETE FROM accounts_ledgerentry WHERE id = %s", [entry.pk])
    with pytest.raises(DATABASE_REFUSALS):
        raw("UPDATE accounts_ledgertransaction SET note = 'x' WHERE id = %s", [entry.transaction_id])
    assert ledger.reconcile().clean


def test_the_daily_rollup_follows_the_entries_and_refuses_direct_writes():
    from accounts.models import DailyBalanceChange

    a, b = funded(100), holding_account()
    ledger.transfer_units(source=a, destination=b, unit=ledger.allowance(2026), quantity=30, idempotency_key=key())
    ledger.transfer_units(source=b, destination=a, unit=ledger.allowance(2026), quantity=5, idempotency_key=key())
    days = DailyBalanceChange.objects.filter(balance__account=b)
    assert days.count() == 1 and days.get().change == 25
    with pytest.raises(DATABASE_REFUSALS):
        raw("UPDATE accounts_dailybalancechange SET change = 0 WHERE id = %s", [days.get().pk])
    with pytest.raises(DATABASE_REFUSALS):
        raw("INSERT INTO accounts_dailybalancechange (balance_id, day, change) VALUES (%s, '2020-01-01', 5)",
            [days.get().balance_id])
    assert ledger.reconcile().clean


def test_an_unbalanced_transaction_is_refused_by_the_database():
    a = funded(10)
    booked = LedgerTransaction.objects.create(kind="transfer", idempotency_key=key(), request_hash="x")
    with pytest.raises(DATABASE_REFUSALS, match="does not sum to zero"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("INSERT INTO accounts_ledgerentry (transaction_id, account_id, unit_type, vintage, quantity)"
                           " VALUES (%s, %s, 'allowance', 2026, 5)", [booked.pk, a.pk])


def test_a_raw_entry_that_would_overdraw_is_refused():
    a, b = funded(10), holding_account()
    booked = LedgerTransaction.objects.create(kind="transfer", idempotency_key=key(), request_hash="x")
    with pytest.raises(DATABASE_REFUSALS):
        raw("INSERT INTO accounts_ledgerentry (transaction_id, account_id, unit_type, vintage, quantity) VALUES "
            "(%s, %s, 'allowance', 2026, -11), (%s, %s, 'allowance', 2026, 11)", [booked.pk, a.pk, booked.pk, b.pk])
    assert (held(a), held(b)) == (10, 0)


def test_raw_entries_for_units_nobody_held_create_their_balances():
    """The entry trigger's path for a unit without a balance row (a booking creates the row first)."""
    issuance = ledger.government_account(HoldingAccount.Kind.ISSUANCE)
    a = holding_account()
    booked = LedgerTransaction.objects.create(kind="issuance", idempotency_key=key(), request_hash="x")
    raw("INSERT INTO accounts_ledgerentry (transaction_id, account_id, unit_type, vintage, quantity) VALUES "
        "(%s, %s, 'allowance', 2031, -7), (%s, %s, 'allowance', 2031, 7)", [booked.pk, issuance.pk, booked.pk, a.pk])
    assert held(a, 2031) == 7 and held(issuance, 2031) == -7
    assert ledger.reconcile().clean


def test_raw_entries_cannot_open_a_balance_below_zero_or_start_one_above_it():
    a, b = holding_account(), holding_account()
    booked = LedgerTransaction.objects.create(kind="transfer", idempotency_key=key(), request_hash="x")
    with pytest.raises(DATABASE_REFUSALS):
        raw("INSERT INTO accounts_ledgerentry (transaction_id, account_id, unit_type, vintage, quantity) VALUES "
            "(%s, %s, 'allowance', 2031, -1), (%s, %s, 'allowance', 2031, 1)", [booked.pk, a.pk, booked.pk, b.pk])
    with pytest.raises(DATABASE_REFUSALS, match="starts at zero"):
        raw("INSERT INTO accounts_balance (account_id, unit_type, vintage, quantity, is_issuance) "
            "VALUES (%s, 'allowance', 2031, 5, false)", [a.pk])
    assert not a.balances.exists() and not b.balances.exists()


def test_one_unbalanced_transaction_spoils_the_whole_statement():
    a, b = funded(10), holding_account()
    good = LedgerTransaction.objects.create(kind="transfer", idempotency_key=key(), request_hash="x")
    bad = LedgerTransaction.objects.create(kind="transfer", idempotency_key=key(), request_hash="y")
    with pytest.raises(DATABASE_REFUSALS, match=f"ledger transaction {bad.pk} does not sum to zero"):
        raw("INSERT INTO accounts_ledgerentry (transaction_id, account_id, unit_type, vintage, quantity) VALUES "
            "(%s, %s, 'allowance', 2026, -2), (%s, %s, 'allowance', 2026, 2), (%s, %s, 'allowance', 2026, 3)",
            [good.pk, a.pk, good.pk, b.pk, bad.pk, b.pk])
    assert (held(a), held(b)) == (10, 0)


def test_an_accounts_kind_cannot_change():
    a = holding_account()
    with pytest.raises(DATABASE_REFUSALS):
        raw("UPDATE accounts_holdingaccount SET kind = 'issuance', organisation_id = NULL WHERE id = %s", [a.pk])


@pytest.mark.parametrize(("quantity", "message"), [
    (0, "at least 1"), (-5, "at least 1"), ("-5", "at least 1"), (2.5, "whole"), ("1.5", "whole number"),
    (10**20, "larger than any holding"), ("ten", "whole number"), (None, "whole number"), (True, "whole number"),
])
def test_bad_quantities_are_refused_naming_the_field_and_change_nothing(quantity, message):
    a, b = funded(100), holding_account()
    before = LedgerTransaction.objects.count()
    with pytest.raises(RegistryError, match=message) as refused:
        ledger.transfer_units(source=a, destination=b, unit=ledger.allowance(2026), quantity=quantity,
                              idempotency_key=key())
    assert refused.value.field == "quantity"
    assert LedgerTransaction.objects.count() == before and (held(a), held(b)) == (100, 0)


def test_more_than_held_is_refused_saying_how_much_is_held():
    a, b = funded(100), holding_account()
    with pytest.raises(RegistryError, match="holds 100"):
        ledger.transfer_units(source=a, destination=b, unit=ledger.allowance(2026), quantity=101,
                              idempotency_key=key())
    assert (held(a), held(b)) == (100, 0)


def test_wrong_vintage_or_unit_type_is_refused():
    a, b = funded(100), holding_account()
    with pytest.raises(RegistryError):
        ledger.transfer_units(source=a, destination=b, unit=ledger.allowance(2027), quantity=1, idempotency_key=key())
    with pytest.raises(RegistryError, match="Unknown unit type"):
        ledger.Unit("carbon_coin", 2026)
    with pytest.raises(RegistryError, match="batches"):
        ledger.Unit("j_credit", 2026)


def test_a_blocked_account_can_receive_but_not_send_and_a_closed_one_neither():
    a, b = funded(100), funded(100)
    HoldingAccount.objects.filter(pk=a.pk).update(state="blocked")
    ledger.transfer_units(source=b, destination=a, unit=ledger.allowance(2026), quantity=5, idempotency_key=key())
    with pytest.raises(RegistryError, match="cannot send"):
        ledger.transfer_units(source=a, destination=b, unit=ledger.allowance(2026), quantity=5, idempotency_key=key())
    HoldingAccount.objects.filter(pk=a.pk).update(state="closed")
    with pytest.raises(RegistryError, match="cannot receive"):
        ledger.transfer_units(source=b, destination=a, unit=ledger.allowance(2026), quantity=5, idempotency_key=key())
    assert (held(a), held(b)) == (105, 95)


def test_same_key_same_content_books_once_and_different_content_is_an_error():
    a, b = funded(100), holding_account()
    k = key()
    first = ledger.transfer_units(source=a, destination=b, unit=ledger.allowance(2026), quantity=10, idempotency_key=k)
    again = ledger.transfer_units(source=a, destination=b, unit=ledger.allowance(2026), quantity=10, idempotency_key=k)
    assert first.pk == again.pk and held(b) == 10
    with pytest.raises(RegistryError):
        ledger.transfer_units(source=a, destination=b, unit=ledger.allowance(2026), quantity=11, idempotency_key=k)
    assert held(b) == 10


def test_a_reversal_moves_everything_back_once():
    a, b = funded(100), holding_account()
    original = ledger.transfer_units(source=a, destination=b, unit=ledger.allowance(2026), quantity=30,
                                     idempotency_key=key())
    reversal = ledger.reverse_transaction(original=original, idempotency_key=key())
    assert reversal.reverses_id == original.pk and (held(a), held(b)) == (100, 0)
    with pytest.raises(RegistryError):
        ledger.reverse_transaction(original=original, idempotency_key=key())
    assert ledger.reconcile().clean


def test_reconciliation_reports_issued_held_retired_cancelled():
    a = funded(100)
    ledger.cancel_units(account=a, unit=ledger.allowance(2026), quantity=25, idempotency_key=key())
    report = ledger.reconcile()
    assert report.clean
    assert report.units["Allowance FY2026"] == (100, 75, 0, 25)  # issued, held, retired, cancelled


def test_reconciliation_finds_tampering_that_bypassed_the_triggers_and_alerts_administrators(make_user, mailoutbox):
    from django.core.management import call_command

    from accounts.roles import Role
    from accounts.tasks import reconcile_and_alert

    administrator = make_user(Role.REGISTRY_ADMINISTRATOR)
    a = funded(100)
    with connection.cursor() as cursor:  # what only someone with the database owner's rights could do
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL session_replication_role = replica")  # superuser only: triggers off
        cursor.execute("UPDATE accounts_balance SET quantity = 150 WHERE account_id = %s", [a.pk])
        cursor.execute("SET LOCAL session_replication_role = origin")
    report = reconcile_and_alert()
    assert not report.clean
    assert any("balance 150, entries 100" in d for d in report.differences)
    assert any("issued 100 != held 150 + retired 0 + cancelled 0" in d for d in report.differences)
    assert any("150, but its daily changes sum to 100" in d for d in report.differences)
    assert mailoutbox and mailoutbox[0].to == [administrator.email]
    with pytest.raises(SystemExit) as exit_status:
        call_command("reconcile_ledger")
    assert exit_status.value.code == 1


def test_reconciliation_runs_nightly_as_a_scheduled_job():
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="Nightly ledger reconciliation")
    assert schedule.func == "accounts.tasks.reconcile_and_alert" and schedule.schedule_type == Schedule.DAILY
    from django.utils.module_loading import import_string

    for scheduled in Schedule.objects.all():  # every job a schedule names can be found by the workers
        assert callable(import_string(scheduled.func)), scheduled.func
