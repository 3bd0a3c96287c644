"""Masking a run's secrets out of anything before it is shown or stored."""

from __future__ import annotations

from runbook_engine.modules.base import Result
from runbook_engine.secrets import MASK, SecretRegistry, mask_keys


def test_every_occurrence_at_any_depth_is_masked() -> None:
    registry = SecretRegistry(["pa55", "pa55word"])
    masked = registry.mask({"cmd": "login -p pa55word", "list": ["x pa55 y", 3, None],
                            "nested": {"pa55": ("pa55",)}})
    assert masked == {"cmd": f"login -p {MASK}", "list": [f"x {MASK} y", 3, None],
                      "nested": {MASK: (MASK,)}}


def test_results_keep_their_type_and_lose_the_secret() -> None:
    registry = SecretRegistry()
    registry.add("t0ken")
    result = registry.mask(Result(changed=True, stdout="t0ken\n", data={"h": ["t0ken"]}))
    assert isinstance(result, Result) and result.changed
    assert result.stdout == f"{MASK}\n" and result.data == {"h": [MASK]}


def test_empty_values_are_ignored_and_nothing_is_copied_needlessly() -> None:
    registry = SecretRegistry(["", None])
    value = {"a": "b"}
    assert len(registry) == 0 and registry.mask(value) is value


def test_secret_params_are_masked_by_name() -> None:
    assert mask_keys({"user": "bob", "password": "x", "inner": [{"password": "y"}]},
                     ["password"]) == {"user": "bob", "password": MASK,
                                       "inner": [{"password": MASK}]}
