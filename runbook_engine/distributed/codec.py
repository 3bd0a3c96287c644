"""JSON for payloads and replies, keeping the loader's value types that change meaning
when flattened: a `!vault` value must stay ciphertext to be revealed on the worker, and an
octal mode (0644) must not turn into the decimal 420 that modules refuse."""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from runbook_engine.executor.task_runner import ItemResult, Outcome
from runbook_engine.executor.variables import OMIT, Omit
from runbook_engine.loader.yaml_source import OctalInt, VaultTagged
from runbook_engine.modules.base import Result

TAG = "__rb__"


def to_plain(value: Any) -> Any:
    """`value` as JSON-compatible data, tagged where a type must come back."""
    if isinstance(value, VaultTagged):
        return {TAG: "vault", "v": str(value)}
    if isinstance(value, Omit):
        return {TAG: "omit"}
    if isinstance(value, bool | float | str) or value is None:
        return value
    if isinstance(value, OctalInt):
        return {TAG: "octal", "v": int(value)}
    if isinstance(value, int):
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_plain(v) for v in value]
    if isinstance(value, bytes):
        return {TAG: "bytes", "v": base64.b64encode(value).decode()}
    if isinstance(value, PurePath):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_plain({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    return str(value)


def _revive(obj: dict[str, Any]) -> Any:
    tag = obj.get(TAG)
    if tag is None:
        return obj
    if tag == "vault":
        return VaultTagged(obj["v"])
    if tag == "omit":
        return OMIT
    if tag == "octal":
        return OctalInt(obj["v"])
    if tag == "bytes":
        return base64.b64decode(obj["v"])
    return obj


def dumps(value: Any) -> str:
    return json.dumps(to_plain(value), separators=(",", ":"), sort_keys=True)


def loads(text: str | bytes) -> Any:
    return json.loads(text, object_hook=_revive)


# -- outcomes -------------------------------------------------------------------------
def outcome_to_plain(outcome: Outcome) -> dict[str, Any]:
    return {
        "items": [{"result": to_plain(i.result), "item_label": to_plain(i.item_label),
                   "has_item": i.has_item, "duration": i.duration, "ignored": i.ignored}
                  for i in outcome.items],
        "failed": outcome.failed, "unreachable": outcome.unreachable,
        "changed": outcome.changed, "skipped": outcome.skipped,
        "registered": to_plain(outcome.registered),
        "iterations": to_plain(outcome.iterations),
    }


def outcome_from_plain(data: Mapping[str, Any]) -> Outcome:
    items = [ItemResult(Result(**item["result"]), item["item_label"], item["has_item"],
                        item["duration"], item["ignored"]) for item in data["items"]]
    return Outcome(items=items, failed=data["failed"], unreachable=data["unreachable"],
                   changed=data["changed"], skipped=data["skipped"],
                   registered=data["registered"], iterations=list(data["iterations"]))
