"""The one quoting helper and the name shortening: property tests, checked by PostgreSQL itself."""

from __future__ import annotations

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from generator.errors import RenderError
from generator.naming import MAX_IDENTIFIER_BYTES, ident, literal, shorten

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=120)
hostile = st.sampled_from(['a"b', "x'; DROP TABLE t; --", "$$", "$x$", "back\\slash", "ünïcödé", "ORDER", "select",
                           "a b", "new\nline", "é" * 200, "x" * 200, "Tab\tle", "semi;colon", "--", "/*"])


@given(st.one_of(text, hostile))
def test_shorten_fits_is_deterministic_and_keeps_short_names(name):
    short = shorten(name)
    assert len(short.encode("utf-8")) <= MAX_IDENTIFIER_BYTES
    assert shorten(name) == short
    if len(name.encode("utf-8")) <= MAX_IDENTIFIER_BYTES:
        assert short == name
    else:
        assert short.encode("utf-8")[:20] == name.encode("utf-8")[:20] or len(name.encode()[:20].decode("utf-8", "ignore")) < 20


@given(st.lists(st.text(min_size=64, max_size=90, alphabet="abc_"), min_size=2, max_size=2, unique=True))
def test_shorten_is_collision_free_for_names_sharing_a_long_prefix(pair):
    a, b = pair
    assert shorten(a) != shorten(b)


def test_shorten_same_prefix_different_tail():
    a, b = "x" * 70 + "_left", "x" * 70 + "_right"
    assert shorten(a) != shorten(b)
    assert len(shorten(a).encode()) == MAX_IDENTIFIER_BYTES


def test_ident_refuses_what_postgresql_would_truncate():
    with pytest.raises(RenderError, match="would truncate"):
        ident("x" * 64)
    with pytest.raises(RenderError, match="NUL"):
        ident("a\x00b")


@pytest.fixture(scope="module")
def conn(pg_server):
    from tests.support import pg

    with psycopg.connect(pg.server_dsn(), autocommit=True) as c:
        yield c


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(text, hostile))
def test_ident_and_literal_round_trip_through_postgresql(conn, name):
    short = shorten(name)
    with conn.cursor() as cur:
        cur.execute(f"SELECT {literal(name)} AS {ident(short)}")
        assert cur.fetchone()[0] == name
        assert cur.description[0].name == short
