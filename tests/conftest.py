from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Property tests never depend on timing luck: no per-example deadline, no "too slow" health check (a
# busy 2-core machine may generate slowly), and in `make test` the same examples every run
# (`make fuzz` sets FBS_FUZZ_RANDOM=1 for random ones). Tests that set their own settings keep these
# for what they leave out.
settings.register_profile(
    "fbs",
    deadline=None,
    derandomize=not os.environ.get("FBS_FUZZ_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("fbs")

from generator import api, snapshot
from tests.support import pg
from tests.support.make_fixtures import FIXTURES, load_records
from tests.support.migrations import generate, psql_apply, sql_files
from tests.support.odoo_server import FakeOdoo


@pytest.fixture(scope="session")
def pg_server() -> None:
    problem = pg.check_server()
    if problem:
        pytest.fail(problem, pytrace=False)


@pytest.fixture
def db(pg_server) -> str:
    """DSN of a fresh, empty database, dropped after the test."""
    with pg.fresh_database() as dsn:
        yield dsn


@pytest.fixture(scope="session")
def records() -> dict:
    return load_records(FIXTURES)


@pytest.fixture(scope="session")
def rpc_catalog(records):
    """The catalog read once over XML-RPC from the fixture server (capture is ~3 s, like real Odoo)."""
    from generator.capture.transports import OdooConfig
    from tests.support.odoo_server import DB, PASSWORD, USER

    with FakeOdoo(records) as server:
        source = api.Source(odoo=OdooConfig(url=server.url, database=DB, user=USER, password=PASSWORD))
        return api.read_catalog(source, api.Silent())


@pytest.fixture
def odoo(records):
    with FakeOdoo(records) as server:
        yield server


@pytest.fixture(scope="session")
def bundled() -> snapshot.Snapshot:
    return snapshot.load(api.BUNDLED_SNAPSHOT)


@pytest.fixture(scope="session")
def bundled_migrations(tmp_path_factory, bundled) -> Path:
    folder = tmp_path_factory.mktemp("bundled") / "migrations"
    generate(bundled, folder)
    return folder


@pytest.fixture(scope="session")
def bundled_template(pg_server, bundled_migrations) -> dict:
    """A database with the bundled migrations applied by psql; tests get copies of it."""
    with pg.fresh_database("fbs_tpl") as dsn:
        output = psql_apply(dsn, sql_files(bundled_migrations))
        yield {"dsn": dsn, "name": pg.dbname(dsn), "psql_output": output}


@pytest.fixture
def schema_db(bundled_template) -> str:
    """A fresh copy of the database holding the bundled schema."""
    with pg.template_copy(bundled_template["name"]) as dsn:
        yield dsn
