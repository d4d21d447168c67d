"""Random sequences of ledger operations (hypothesis): nothing created, lost or duplicated."""

from collections import defaultdict

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import ledger
from accounts.models import Balance, HoldingAccount, LedgerTransaction
from accounts.tests.ledger_fixtures import key
from gxregistry.errors import RegistryError

VINTAGES = (2026, 2027)

operations = st.lists(st.one_of(
    st.tuples(st.just("issue"), st.sampled_from(VINTAGES), st.integers(1, 1000)),
    st.tuples(st.just("allocate"), st.sampled_from(VINTAGES), st.integers(0, 3), st.integers(1, 800)),
    st.tuples(st.just("transfer"), st.sampled_from(VINTAGES), st.integers(0, 3), st.integers(0, 3), st.integers(1, 500)),
    st.tuples(st.just("surrender"), st.sampled_from(VINTAGES), st.integers(0, 3), st.integers(1, 300)),
    st.tuples(st.just("cancel"), st.sampled_from(VINTAGES), st.integers(0, 3), st.integers(1, 300)),
    st.tuples(st.just("reverse"), st.integers(0, 50)),
    st.tuples(st.just("replay"), st.integers(0, 50)),
), min_size=1, max_size=25)


class Rollback(Exception):
    pass


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations)
def test_random_operations_conserve_units_and_reconcile(ops):
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the double-entry check on every statement
            run(ops)
            raise Rollback
    except Rollback:
        pass


def accounts_for_example():
    from accounts.models import Organisation
    from accounts.validators import synthetic_corporate_number

    organisations = Organisation.objects.bulk_create([
        Organisation(kind="regulated_entity", name=f"P{n}", sector="steel", corporate_number=synthetic_corporate_number(n, 6))
        for n in range(4)])
    return [HoldingAccount.objects.create(number=f"JP-OHA-P{n}", kind="operator_holding", organisation=o, name=o.name)
            for n, o in enumerate(organisations)]


def run(ops):
    """Apply ``ops`` to the ledger and to a plain dict model of it; both must agree at every step."""
    accounts = accounts_for_example()
    government = ledger.government_accounts()
    model = defaultdict(int)  # (account pk, vintage) -> units
    booked = []  # (transaction, [(source, destination, vintage, quantity)])

    def apply(moves, sign=1):
        for source, destination, vintage, quantity in moves:
            model[(source.pk, vintage)] -= sign * quantity
            model[(destination.pk, vintage)] += sign * quantity

    for op in ops:
        moves, kind = [], None
        if op[0] == "issue":
            kind, moves = "issuance", [(government["issuance"], government["allocation_reserve"], op[1], op[2])]
        elif op[0] == "allocate":
            kind, moves = "allocation", [(government["allocation_reserve"], accounts[op[2]], op[1], op[3])]
        elif op[0] == "transfer" and op[2] != op[3]:
            kind, moves = "transfer", [(accounts[op[2]], accounts[op[3]], op[1], op[4])]
        elif op[0] == "surrender":
            kind, moves = "surrender", [(accounts[op[2]], government["retirement"], op[1], op[3])]
        elif op[0] == "cancel":
            kind, moves = "cancellation", [(accounts[op[2]], government["cancellation"], op[1], op[3])]
        try:
            if kind:
                tx = ledger.book(kind=kind, idempotency_key=key(), moves=[
                    ledger.Move(s, d, ledger.allowance(v), q) for s, d, v, q in moves])
                apply(moves)
                booked.append((tx, moves))
            elif op[0] == "reverse" and booked:
                original, original_moves = booked[op[1] % len(booked)]
                reversal = ledger.reverse_transaction(original=original, idempotency_key=key())
                apply(original_moves, sign=-1)
                booked.append((reversal, [(d, s, v, q) for s, d, v, q in original_moves]))
            elif op[0] == "replay" and booked:
                original, original_moves = booked[op[1] % len(booked)]
                count = LedgerTransaction.objects.count()
                again = ledger.book(kind=original.kind, idempotency_key=original.idempotency_key,
                                    reverses=original.reverses, note=original.note,
                                    moves=[ledger.Move(s, d, ledger.allowance(v), q) for s, d, v, q in original_moves])
                assert again.pk == original.pk and LedgerTransaction.objects.count() == count
        except RegistryError:
            pass
        assert not Balance.objects.filter(quantity__lt=0, is_issuance=False).exists()

    actual = {(b.account_id, b.vintage): b.quantity for b in Balance.objects.all()}
    assert {k: v for k, v in actual.items() if v} == {k: v for k, v in model.items() if v}
    assert sum(actual.values()) == 0  # every unit issued is somewhere
    report = ledger.reconcile()
    assert report.clean, report.differences
