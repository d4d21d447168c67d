"""Two representatives start opposite transfers (A to B, B to A) at the same moment: both are recorded, neither
fails. Each service locks its source account; the other's new transfer request refers to that account, and its
foreign-key check at commit takes a key-share lock on it. With FOR UPDATE the two waited for each other (a
deadlock: a 500 for one of them, found by the load test); FOR NO KEY UPDATE lets the key check through."""

import threading

import pytest
from django.db import connection

from accounts import ledger
from accounts.ledger import transfers
from accounts.models import TransferRequest
from accounts.roles import Role
from accounts.services import system_actor
from conftest import fresh_code

pytestmark = pytest.mark.django_db(transaction=True)


def test_opposite_transfers_started_together_are_both_recorded(make_user, make_organisation, monkeypatch):
    companies = []
    for n in range(2):
        entity = make_organisation()
        account = ledger.holding_account_open(kind="operator_holding", organisation=entity, acting_user=system_actor())
        ledger.issue_allowances(vintage=2026, quantity=100, idempotency_key=f"together-issue-{n}")
        ledger.allocation_transfer(account=account, vintage=2026, quantity=100, idempotency_key=f"together-{n}")
        rep = make_user(Role.AUTHORISED_REPRESENTATIVE, entity)
        companies.append((rep, account, fresh_code(rep)))
    both_inside = threading.Barrier(2, timeout=10)
    real_notify = transfers.notify

    def notify_once_both_are_inside(*args, **kwargs):  # each holds its lock and its new row, uncommitted
        both_inside.wait()
        return real_notify(*args, **kwargs)

    monkeypatch.setattr(transfers, "notify", notify_once_both_are_inside)
    errors = []

    def start(index):
        rep, account, code = companies[index]
        try:
            transfers.transfer_initiate(source=account, destination=companies[1 - index][1],
                                        unit=ledger.allowance(2026), quantity=10, acting_user=rep, otp_token=code)
        except Exception as error:  # noqa: BLE001 - the test reports whatever went wrong
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == [] and TransferRequest.objects.count() == 2
