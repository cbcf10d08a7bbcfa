"""hotline.lib.planner: the join hint holds inside its transaction only."""

import pytest
from django.db import connection

from hotline.lib.planner import joins_by_key

pytestmark = pytest.mark.django_db(transaction=True)


def setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


def test_hash_joins_off_inside_on_after():
    if connection.vendor != "postgresql":
        with joins_by_key():  # elsewhere: just a transaction
            assert connection.in_atomic_block
        return
    with joins_by_key():
        assert connection.in_atomic_block
        assert (setting("enable_hashjoin"), setting("enable_mergejoin")) == ("off", "off")
    assert (setting("enable_hashjoin"), setting("enable_mergejoin")) == ("on", "on")
