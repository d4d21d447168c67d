"""A second PostgreSQL cluster started as a streaming replica of the test database's cluster (pg_basebackup +
``primary_conninfo``): the public pages read there, everything else and a browser that has just written read
from the primary, and a write on the primary is visible on the replica."""

import time

import pytest
from django.db import DatabaseError, connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Organisation
from accounts.roles import Role
from gxregistry import replica
from tests.pg_clusters import Cluster
from verification.tests.builders import registered_body

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def streaming_replica():
    """Start the replica, register it as the ``replica`` database; stop and forget it afterwards."""
    standby = Cluster()
    primary = connection.settings_dict
    backup = standby.run("pg_basebackup", "-h", primary["HOST"] or "127.0.0.1", "-p", str(primary["PORT"] or 5432),
                         "-U", primary["USER"], "-D", str(standby.data), "-R", "-X", "stream", "--checkpoint=fast")
    if "no pg_hba.conf entry for replication" in backup.stderr:
        # `make test` runs on the embedded server, which allows it; a DATABASE_URL server may not.
        standby.stop()
        pytest.skip(f"the primary at DATABASE_URL refuses replication connections: {backup.stderr.strip()}")
    assert backup.returncode == 0, backup.stderr
    standby.start()
    # A lasting connection, opened here: the test case admits no new connection to a database it did not declare.
    connections.settings[replica.REPLICA] = {**standby.settings(primary["NAME"]), "CONN_MAX_AGE": None}
    connections[replica.REPLICA].connect()
    try:
        yield
    finally:
        connections[replica.REPLICA].close()
        del connections[replica.REPLICA]
        del connections.settings[replica.REPLICA]
        standby.stop()


def _replayed(timeout=30):
    position = replica.primary_position()
    deadline = time.monotonic() + timeout
    while not replica.replica_has_replayed(position):
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.1)


def _queries(client, url):
    with CaptureQueriesContext(connection) as on_primary, \
            CaptureQueriesContext(connections[replica.REPLICA]) as on_replica:
        response = client.get(url)
    assert response.status_code == 200
    return response, len(on_primary), len(on_replica)


def test_public_pages_read_from_the_replica_the_rest_and_a_recent_writer_from_the_primary(
        streaming_replica, client, make_user, make_organisation, signed_in):
    # A write on the primary reaches the replica, which refuses writes of its own.
    world = registered_body(make_user, make_organisation)
    _replayed()
    assert Organisation.objects.using(replica.REPLICA).filter(pk=world.organisation.pk).exists()
    with pytest.raises(DatabaseError, match="read-only"), connections[replica.REPLICA].cursor() as cursor:
        cursor.execute("UPDATE accounts_organisation SET name = 'x'")

    # The public list of verification bodies: every query on the replica, none on the primary, the body shown.
    response, on_primary, on_replica = _queries(client, reverse("verification_body_list"))
    assert (on_primary, on_replica > 0) == (0, True)
    assert world.organisation.name in response.content.decode()
    # A cached public page too (its cache write goes to the primary); the public plan API as well.
    assert _queries(client, reverse("registry_report"))[2] > 0
    assert _queries(client, reverse("api-public-plan-list"))[2] > 0

    # A signed-in page reads from the primary.
    user = make_user(Role.VIEWER, make_organisation())
    signed_in(user)
    _response, on_primary, on_replica = _queries(client, reverse("dashboard"))
    assert on_primary > 0 and on_replica == 0

    # After a change (any POST), this browser's public pages read from the primary for a while.
    response = client.post(reverse("set_language"), {"language": "ja", "next": "/"})
    assert response.cookies[replica.STICKY_COOKIE]["max-age"] > 0
    _response, on_primary, on_replica = _queries(client, reverse("verification_body_list"))
    assert on_primary > 0 and on_replica == 0


def test_a_cached_public_page_is_not_rendered_from_a_replica_behind_the_last_change(
        streaming_replica, client, make_organisation):
    from django.core.cache import cache

    from gxregistry import public_cache

    make_organisation()  # a public model saved: the cache records the primary's position
    assert cache.get(public_cache.POSITION_KEY)
    cache.set(public_cache.POSITION_KEY, "FFFFFFFF/0")  # as if the replica were far behind
    with CaptureQueriesContext(connection) as on_primary, \
            CaptureQueriesContext(connections[replica.REPLICA]) as on_replica:
        assert client.get(reverse("registry_report")).status_code == 200

    def page_queries(queries):  # the page's own data, not the cache's table or the replica's position
        return [q["sql"] for q in queries if "gx_cache" not in q["sql"] and "pg_lsn" not in q["sql"]]
    assert any("pg_last_wal_replay_lsn" in q["sql"] for q in on_replica)
    assert page_queries(on_primary) and not page_queries(on_replica)
