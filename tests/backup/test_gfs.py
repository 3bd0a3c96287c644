"""Property-based tests of the grandfather-father-son policy over random backup dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runbook_engine.s3.gfs import BUCKETS, Policy, decide, parse_duration

moments = st.datetimes(
    min_value=datetime(2019, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
).map(lambda t: t.replace(microsecond=0))
histories = st.lists(moments, min_size=1, max_size=60, unique=True)
counts = st.integers(min_value=0, max_value=6)
policies = st.builds(
    Policy,
    keep_last=counts,
    keep_hourly=counts,
    keep_daily=counts,
    keep_weekly=counts,
    keep_monthly=counts,
    keep_yearly=counts,
    keep_within=st.one_of(st.none(), st.integers(1, 24 * 400).map(lambda h: timedelta(hours=h))),
).filter(lambda p: not p.empty)


@settings(max_examples=300, deadline=None)
@given(policies, histories)
def test_every_backup_is_kept_or_deleted_never_both(policy: Policy, times: list) -> None:
    decision = decide(policy, times)
    assert set(decision.keep) | set(decision.delete) == set(range(len(times)))
    assert not set(decision.keep) & set(decision.delete)
    assert all(decision.keep.values())  # every survivor names its rule


@settings(max_examples=300, deadline=None)
@given(policies, histories)
def test_the_newest_backup_always_survives(policy: Policy, times: list) -> None:
    newest = times.index(max(times))
    assert newest in decide(policy, times).keep


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10), histories)
def test_keep_last_keeps_exactly_the_n_newest(n: int, times: list) -> None:
    kept = set(decide(Policy(keep_last=n), times).keep)
    expected = set(sorted(range(len(times)), key=lambda i: times[i], reverse=True)[:n])
    assert kept == expected


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(BUCKETS)), st.integers(1, 8), histories)
def test_bucket_rules_keep_the_newest_of_the_n_latest_buckets(
    rule: str, n: int, times: list
) -> None:
    policy = Policy(**{f"keep_{rule}": n})
    kept = decide(policy, times).keep
    bucket_of = BUCKETS[rule]
    buckets = sorted({bucket_of(t) for t in times}, reverse=True)[:n]
    newest_in = {b: max(t for t in times if bucket_of(t) == b) for b in buckets}
    assert {times[i] for i in kept} == set(newest_in.values())


@settings(max_examples=200, deadline=None)
@given(policies, histories, st.sampled_from(
    ["keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly"]
))
def test_a_more_generous_policy_never_deletes_more(policy: Policy, times: list, rule: str) -> None:
    from dataclasses import replace

    wider = replace(policy, **{rule: getattr(policy, rule) + 1})
    assert set(decide(policy, times).keep) <= set(decide(wider, times).keep)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 24 * 400), histories)
def test_keep_within_keeps_all_close_to_the_newest(hours: int, times: list) -> None:
    window = timedelta(hours=hours)
    kept = decide(Policy(keep_within=window), times).keep
    newest = max(times)
    assert {times[i] for i in kept} == {t for t in times if t >= newest - window}


@settings(max_examples=100, deadline=None)
@given(policies, histories, st.randoms())
def test_input_order_does_not_matter(policy: Policy, times: list, rng) -> None:
    shuffled = list(times)
    rng.shuffle(shuffled)
    kept = {times[i] for i in decide(policy, times).keep}
    assert kept == {shuffled[i] for i in decide(policy, shuffled).keep}


def test_durations() -> None:
    assert parse_duration("1y2m3w4d5h") == timedelta(days=365 + 60 + 21 + 4, hours=5)
    assert parse_duration("36h") == timedelta(hours=36)
    for bad in ("", "7", "7x", "d7", "1d-2h"):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad)
