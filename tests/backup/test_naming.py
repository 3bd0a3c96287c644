"""Backup keys: what `backup` writes, retention and restores parse back, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runbook_engine.s3.naming import EXTENSIONS, new_key, parse_key

names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)
hosts = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,20}", fullmatch=True)
prefixes = st.sampled_from(["", "backups", "a/b/c"])
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1), timezones=st.just(UTC)
)


@given(prefixes, hosts, names, st.sampled_from(EXTENSIONS), moments)
def test_keys_round_trip(prefix: str, host: str, name: str, ext: str, when: datetime) -> None:
    made = new_key(prefix, host, name, ext, when)
    assert parse_key(made.key, prefix, host, name) == made
    assert made.timestamp == when.replace(microsecond=0)


@given(hosts, names, moments)
def test_another_name_or_host_is_never_matched(host: str, name: str, when: datetime) -> None:
    made = new_key("p", host, name, "tar.gz", when)
    assert parse_key(made.key, "p", host, name + "x") is None
    assert parse_key(made.key, "p", host + "x", name) is None
    assert parse_key(made.key, "q", host, name) is None


@pytest.mark.parametrize("bad", ["", "-x", "a/b", "a b", "x" * 200, "über"])
def test_unsafe_names_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="backup name"):
        new_key("p", "h", bad, "tar.gz")
