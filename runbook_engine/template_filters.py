"""Ansible's filters, tests and lookups for the Templar.

Everything here runs inside the sandbox, so every function takes plain values, returns new
values (never mutates its input: the environment is immutable) and, on bad input, raises
`FilterError` naming the filter and the value. The Templar turns that into a TemplateError.

The `pipe` and `lines` lookups are deliberately absent: they run commands on the
controller, which would let any template (and so any inventory variable) escape the sandbox.
"""

from __future__ import annotations

import base64
import datetime as dt
import glob
import hashlib
import itertools
import json
import math
import os
import random as _random
import re
import shlex
import time
import uuid
from collections import ChainMap
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit as _urlsplit

import yaml
from jinja2 import pass_context
from jinja2.exceptions import TemplateRuntimeError, UndefinedError
from jinja2.runtime import Context, Undefined
from jinja2.utils import missing

if TYPE_CHECKING:
    from runbook_engine.templating import Templar


class FilterError(TemplateRuntimeError):
    """A filter, test or lookup was given something it cannot work with."""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _fail(name: str, message: str, value: Any = None) -> FilterError:
    suffix = f" (got {_short(value)})" if value is not None else ""
    return FilterError(f"{name}: {message}{suffix}")


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence | set | frozenset) and not isinstance(value, str | bytes)


# -- type conversion ---------------------------------------------------------------
def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, str):
        value = value.strip().lower()
    return value in ("yes", "on", "1", "true", 1)


def type_debug(value: Any) -> str:
    return type(value).__name__


def _json_default(value: Any) -> Any:
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Undefined):
        str(value)  # raises the undefined error with the variable's name
    return str(value)


def to_json(value: Any, **kwargs: Any) -> str:
    kwargs.setdefault("default", _json_default)
    return json.dumps(value, **kwargs)


def to_nice_json(value: Any, indent: int = 4, sort_keys: bool = True, **kwargs: Any) -> str:
    return to_json(value, indent=indent, sort_keys=sort_keys, separators=(",", ": "), **kwargs)


def from_json(value: Any) -> Any:
    try:
        return json.loads(value)
    except (TypeError, ValueError) as exc:
        raise _fail("from_json", f"not valid JSON: {exc}", value) from None


class _Dumper(yaml.SafeDumper):
    """Safe YAML dumper that also knows tuples, sets and str subclasses (Markup)."""


_Dumper.add_representer(tuple, _Dumper.represent_list)
_Dumper.add_representer(set, lambda d, v: d.represent_list(sorted(v, key=str)))
_Dumper.add_multi_representer(str, lambda d, v: d.represent_str(str(v)))


def to_yaml(value: Any, **kwargs: Any) -> str:
    kwargs.setdefault("default_flow_style", None)
    kwargs.setdefault("allow_unicode", True)
    try:
        return yaml.dump(value, Dumper=_Dumper, **kwargs)
    except yaml.YAMLError as exc:
        raise _fail("to_yaml", str(exc), value) from None


def to_nice_yaml(value: Any, indent: int = 4, **kwargs: Any) -> str:
    kwargs.setdefault("default_flow_style", False)
    return to_yaml(value, indent=indent, **kwargs)


def from_yaml(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise _fail("from_yaml", f"not valid YAML: {exc}", value) from None


def from_yaml_all(value: Any) -> list[Any]:
    try:
        return list(yaml.safe_load_all(value))
    except yaml.YAMLError as exc:
        raise _fail("from_yaml_all", f"not valid YAML: {exc}", value) from None


# -- regular expressions -----------------------------------------------------------
def _flags(ignorecase: bool, multiline: bool) -> int:
    return (re.IGNORECASE if ignorecase else 0) | (re.MULTILINE if multiline else 0)


def _compile(name: str, pattern: str, flags: int) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise _fail(name, f"bad regular expression {pattern!r}: {exc}") from None


def regex_replace(
    value: Any = "",
    pattern: str = "",
    replacement: str = "",
    ignorecase: bool = False,
    multiline: bool = False,
    count: int = 0,
    mandatory_count: int = 0,
) -> str:
    regex = _compile("regex_replace", pattern, _flags(ignorecase, multiline))
    try:
        text, done = regex.subn(replacement, str(value), count=count)
    except re.error as exc:
        raise _fail("regex_replace", f"bad replacement {replacement!r}: {exc}") from None
    if mandatory_count and done != mandatory_count:
        raise _fail("regex_replace", f"expected {mandatory_count} matches of {pattern!r}", done)
    return text


def regex_search(value: Any, pattern: str, *groups: str, **kwargs: Any) -> Any:
    wanted: list[int | str] = []
    for group in groups:
        named = re.fullmatch(r"\\g<(\S+)>", group)
        numbered = re.fullmatch(r"\\(\d+)", group)
        if named:
            wanted.append(named.group(1))
        elif numbered:
            wanted.append(int(numbered.group(1)))
        else:
            raise _fail("regex_search", "group arguments look like '\\1' or '\\g<name>'", group)
    flags = _flags(kwargs.get("ignorecase", False), kwargs.get("multiline", False))
    match = _compile("regex_search", pattern, flags).search(str(value))
    if match is None:
        return None
    if not wanted:
        return match.group()
    try:
        return [match.group(g) for g in wanted]
    except IndexError:
        raise _fail("regex_search", f"no such group in {pattern!r}", groups) from None


def regex_findall(
    value: Any, pattern: str, multiline: bool = False, ignorecase: bool = False
) -> list[Any]:
    return _compile("regex_findall", pattern, _flags(ignorecase, multiline)).findall(str(value))


def regex_escape(value: Any, re_type: str = "python") -> str:
    if re_type == "python":
        return re.escape(str(value))
    if re_type == "posix_basic":
        return re.sub(r"([].[^$*\\])", r"\\\1", str(value))
    raise _fail("regex_escape", "re_type must be 'python' or 'posix_basic'", re_type)


# -- paths and encodings -------------------------------------------------------------
def splitext(value: Any) -> list[str]:
    return list(os.path.splitext(str(value)))


def path_join(paths: Any) -> str:
    if isinstance(paths, str):
        return paths
    if _is_sequence(paths):
        return os.path.join(*(str(p) for p in paths)) if paths else ""
    raise _fail("path_join", "expects a string or a list of path parts", paths)


def b64encode(value: Any, encoding: str = "utf-8") -> str:
    data = value if isinstance(value, bytes) else str(value).encode(encoding)
    return base64.b64encode(data).decode("ascii")


def b64decode(value: Any, encoding: str = "utf-8") -> str:
    try:
        return base64.b64decode(str(value), validate=True).decode(encoding)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _fail("b64decode", f"not valid base64 ({exc})", value) from None


def hash_filter(value: Any, hashtype: str = "sha1") -> str:
    if hashtype not in hashlib.algorithms_available:
        raise _fail("hash", "unknown hash type", hashtype)
    data = value if isinstance(value, bytes) else str(value).encode("utf-8")
    return hashlib.new(hashtype, data).hexdigest()


def urlsplit(value: Any, query: str = "") -> Any:
    parts = _urlsplit(str(value))
    try:
        port = parts.port
    except ValueError:
        raise _fail("urlsplit", "the port is not a number", value) from None
    result = {
        "scheme": parts.scheme,
        "netloc": parts.netloc,
        "path": parts.path,
        "query": parts.query,
        "fragment": parts.fragment,
        "username": parts.username,
        "password": parts.password,
        "hostname": parts.hostname,
        "port": port,
    }
    if not query:
        return result
    if query not in result:
        raise _fail("urlsplit", f"unknown URL component; use one of {sorted(result)}", query)
    return result[query]


# -- dictionaries ------------------------------------------------------------------
def _merge(base: Mapping[str, Any], top: Mapping[str, Any], recursive: bool, lists: str) -> dict:
    merged = dict(base)
    for key, new in top.items():
        if key not in merged:
            merged[key] = new
            continue
        old = merged[key]
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            merged[key] = _merge(old, new, recursive, lists) if recursive else new
        elif isinstance(old, list) and isinstance(new, list):
            merged[key] = _merge_lists(old, new, lists)
        else:
            merged[key] = new
    return merged


def _merge_lists(old: list[Any], new: list[Any], how: str) -> list[Any]:
    if how == "replace":
        return new
    if how == "keep":
        return old
    if how == "append":
        return old + new
    if how == "prepend":
        return new + old
    if how == "append_rp":
        return [x for x in old if x not in new] + new
    return new + [x for x in old if x not in new]  # prepend_rp


_LIST_MERGES = ("replace", "keep", "append", "prepend", "append_rp", "prepend_rp")


def combine(*terms: Any, recursive: bool = False, list_merge: str = "replace") -> dict:
    if list_merge not in _LIST_MERGES:
        raise _fail("combine", f"list_merge must be one of {', '.join(_LIST_MERGES)}", list_merge)
    dicts = flatten(terms, levels=1)
    result: dict[str, Any] = {}
    for d in dicts:
        if not isinstance(d, Mapping):
            raise _fail("combine", "expects dictionaries", d)
        result = _merge(result, d, recursive, list_merge)
    return result


def dict2items(value: Any, key_name: str = "key", value_name: str = "value") -> list[dict]:
    if not isinstance(value, Mapping):
        raise _fail("dict2items", "expects a dictionary", value)
    return [{key_name: k, value_name: v} for k, v in value.items()]


def items2dict(value: Any, key_name: str = "key", value_name: str = "value") -> dict:
    if not _is_sequence(value):
        raise _fail("items2dict", "expects a list of dictionaries", value)
    result = {}
    for item in value:
        if not isinstance(item, Mapping) or key_name not in item or value_name not in item:
            raise _fail("items2dict", f"each item needs {key_name!r} and {value_name!r}", item)
        result[item[key_name]] = item[value_name]
    return result


def extract(item: Any, container: Any, morekeys: Any = None) -> Any:
    try:
        value = container[item]
        keys = [] if morekeys is None else morekeys if _is_sequence(morekeys) else [morekeys]
        for key in keys:
            value = value[key]
    except (KeyError, IndexError, TypeError):
        raise _fail("extract", f"{item!r} (then {morekeys!r}) not found in the container") from None
    return value


def subelements(value: Any, path: str, skip_missing: bool = False) -> list[tuple[Any, Any]]:
    elements = list(value.values()) if isinstance(value, Mapping) else value
    if not _is_sequence(elements):
        raise _fail("subelements", "expects a list of dictionaries", value)
    pairs = []
    for element in elements:
        sub: Any = element
        for key in str(path).split("."):
            if isinstance(sub, Mapping) and key in sub:
                sub = sub[key]
            elif skip_missing:
                sub = []
                break
            else:
                raise _fail("subelements", f"no key {path!r} in", element)
        if not _is_sequence(sub):
            raise _fail("subelements", f"{path!r} must be a list", sub)
        pairs.extend((element, s) for s in sub)
    return pairs


def mandatory(value: Any, msg: str | None = None) -> Any:
    if isinstance(value, Undefined):
        if msg:
            raise UndefinedError(msg)
        name = getattr(value, "_undefined_name", None)
        what = f"variable {name!r}" if name else "variable"
        raise UndefinedError(f"mandatory {what} is not defined")
    return value


def ternary(value: Any, true_val: Any, false_val: Any, none_val: Any = None) -> Any:
    if value is None and none_val is not None:
        return none_val
    return true_val if value else false_val


# -- lists and sets ----------------------------------------------------------------
def _unique(values: Iterable[Any]) -> list[Any]:
    seen: list[Any] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def unique(values: Any, case_sensitive: bool = False, attribute: Any = None) -> list[Any]:
    """Ansible's (and Jinja's) unique: case-insensitive unless asked; works on dicts too."""
    if attribute is None and case_sensitive:
        return _unique(values)
    result, keys = [], []
    for value in values:
        key = value[attribute] if attribute is not None else value
        if not case_sensitive and isinstance(key, str):
            key = key.lower()
        if key not in keys:
            keys.append(key)
            result.append(value)
    return result


def union(a: Any, b: Any) -> list[Any]:
    return _unique(itertools.chain(a, b))


def intersect(a: Any, b: Any) -> list[Any]:
    b = list(b)
    return _unique(x for x in a if x in b)


def difference(a: Any, b: Any) -> list[Any]:
    b = list(b)
    return _unique(x for x in a if x not in b)


def symmetric_difference(a: Any, b: Any) -> list[Any]:
    a, b = list(a), list(b)
    return _unique([x for x in a if x not in b] + [x for x in b if x not in a])


def flatten(values: Any, levels: int | None = None, skip_nulls: bool = True) -> list[Any]:
    result: list[Any] = []
    for element in values:
        if skip_nulls and element is None:
            continue
        if _is_sequence(element) and (levels is None or levels >= 1):
            deeper = None if levels is None else int(levels) - 1
            result.extend(flatten(element, levels=deeper, skip_nulls=skip_nulls))
        else:
            result.append(element)
    return result


def zip_filter(*lists: Any) -> list[list[Any]]:
    return [list(t) for t in zip(*lists, strict=False)]


def zip_longest(*lists: Any, fillvalue: Any = None) -> list[list[Any]]:
    return [list(t) for t in itertools.zip_longest(*lists, fillvalue=fillvalue)]


# Same bound as the sandbox's range(): a template must not eat the controller's memory.
MAX_ITEMS = 100_000


def _bounded(name: str, size: int) -> None:
    if size > MAX_ITEMS:
        raise _fail(name, f"would make {size} items (the limit is {MAX_ITEMS})")


def product(*lists: Any, repeat: int = 1) -> list[list[Any]]:
    lists = tuple(list(values) for values in lists)
    _bounded("product", math.prod(len(values) for values in lists) ** repeat)
    return [list(t) for t in itertools.product(*lists, repeat=repeat)]


def permutations(values: Any, r: int | None = None) -> list[list[Any]]:
    values = list(values)
    _bounded("permutations", math.perm(len(values), r))
    return [list(t) for t in itertools.permutations(values, r)]


def combinations(values: Any, r: int) -> list[list[Any]]:
    values = list(values)
    _bounded("combinations", math.comb(len(values), r))
    return [list(t) for t in itertools.combinations(values, r)]


def random_filter(
    end: Any, start: int | None = None, step: int | None = None, seed: Any = None
) -> Any:
    rng = _random.Random(seed) if seed is not None else _random.SystemRandom()
    if isinstance(end, int) and not isinstance(end, bool):
        return rng.randrange(start or 0, end, step or 1)
    if isinstance(end, Iterable):
        choices = list(end)
        if not choices:
            raise _fail("random", "cannot choose from an empty sequence")
        return rng.choice(choices)
    raise _fail("random", "expects an integer or a sequence", end)


def shuffle(values: Any, seed: Any = None) -> list[Any]:
    result = list(values)
    rng = _random.Random(seed) if seed is not None else _random.SystemRandom()
    rng.shuffle(result)
    return result


def split(value: Any, sep: str | None = None, maxsplit: int = -1) -> list[str]:
    return str(value).split(sep, maxsplit)


# -- time and sizes ----------------------------------------------------------------
def to_datetime(value: Any, format: str = "%Y-%m-%d %H:%M:%S") -> dt.datetime:
    try:
        return dt.datetime.strptime(str(value), format)
    except ValueError as exc:
        raise _fail("to_datetime", str(exc), value) from None


def strftime(fmt: str, second: Any = None, utc: bool = False) -> str:
    try:
        seconds = time.time() if second is None else float(second)
    except (TypeError, ValueError):
        raise _fail("strftime", "second must be a number of seconds", second) from None
    return time.strftime(fmt, time.gmtime(seconds) if utc else time.localtime(seconds))


_SIZES = {"Y": 1 << 80, "Z": 1 << 70, "E": 1 << 60, "P": 1 << 50, "T": 1 << 40, "G": 1 << 30,
          "M": 1 << 20, "K": 1 << 10, "B": 1}  # fmt: skip


def human_readable(size: Any, isbits: bool = False, unit: str | None = None) -> str:
    try:
        number = float(size)
    except (TypeError, ValueError):
        raise _fail("human_readable", "expects a number", size) from None
    base = "bits" if isbits else "Bytes"
    for suffix, limit in _SIZES.items():
        if (unit is None and number >= limit) or (unit is not None and unit[:1].upper() == suffix):
            break
    else:
        suffix, limit = "B", 1
    label = base if limit == 1 else suffix + base[0]
    return f"{number / limit:.2f} {label}"


def human_to_bytes(size: Any, default_unit: str | None = None, isbits: bool = False) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)\s*", str(size))
    if not match:
        raise _fail("human_to_bytes", "expects a size like '10 MB' or '1.5G'", size)
    number, unit = float(match.group(1)), match.group(2) or default_unit or "B"
    letter = unit[0].upper()
    if letter not in _SIZES:
        raise _fail("human_to_bytes", f"unknown unit {unit!r}", size)
    if len(unit) > 1 and unit[-1] in "bB" and (unit[-1] == "b") != isbits:
        kind = "bits" if isbits else "bytes"
        raise _fail("human_to_bytes", f"unit {unit!r} is not in {kind}", size)
    return round(number * _SIZES[letter])


# -- text --------------------------------------------------------------------------
_COMMENT_STYLES: dict[str, dict[str, str]] = {
    "plain": {"decoration": "# "},
    "erlang": {"decoration": "% "},
    "c": {"decoration": "// "},
    "cblock": {"beginning": "/*", "decoration": " * ", "end": " */"},
    "xml": {"beginning": "<!--", "decoration": " - ", "end": "-->"},
}


def comment(text: Any, style: str = "plain", **kw: Any) -> str:
    if style not in _COMMENT_STYLES:
        raise _fail("comment", f"style must be one of {', '.join(_COMMENT_STYLES)}", style)
    style_params = _COMMENT_STYLES[style]
    around = str(kw.get("decoration", style_params["decoration"])).rstrip()
    p: dict[str, Any] = {
        "newline": "\n", "beginning": "", "prefix": around, "prefix_count": 1,
        "decoration": "", "postfix": around, "postfix_count": 1, "end": "",
    }  # fmt: skip
    p.update(style_params)
    p.update(kw)
    nl, deco = p["newline"], p["decoration"]
    beginning = f"{p['beginning']}{nl}" if p["beginning"] else ""
    prefix = ""
    if p["prefix"]:
        line = nl if p["prefix"] == nl else f"{p['prefix']}{nl}"
        prefix = line * int(p["prefix_count"])
    body = deco + str(text).replace(nl, nl + deco)
    body = body.replace(deco + nl, deco.rstrip() + nl)
    postfix = nl.join([""] + [p["postfix"]] * int(p["postfix_count"]))
    end = f"{nl}{p['end']}" if p["end"] else ""
    return beginning + prefix + body + postfix + end


def json_query(value: Any, query: str) -> Any:
    try:
        import jmespath
    except ImportError:
        raise _fail("json_query", "needs the 'jmespath' library") from None
    try:
        return jmespath.search(query, value)
    except jmespath.exceptions.JMESPathError as exc:
        raise _fail("json_query", f"bad query {query!r}: {exc}") from None


def to_uuid(value: Any, namespace: str = "361E6D51-FAEC-444A-9079-341386DA8E2E") -> str:
    """Ansible's to_uuid: a name-based UUID (v5) in Ansible's own namespace by default."""
    try:
        return str(uuid.uuid5(uuid.UUID(str(namespace)), str(value)))
    except ValueError:
        raise _fail("to_uuid", "namespace is not a UUID", namespace) from None


# -- tests -------------------------------------------------------------------------
def _regex_test(name: str, match_type: str) -> Callable[..., bool]:
    def test(value: Any, pattern: str, ignorecase: bool = False, multiline: bool = False) -> bool:
        regex = _compile(name, pattern, _flags(ignorecase, multiline))
        return bool(getattr(regex, match_type)(str(value)))

    return test


def regex_test(
    value: Any,
    pattern: str,
    ignorecase: bool = False,
    multiline: bool = False,
    match_type: str = "search",
) -> bool:
    if match_type not in ("search", "match", "fullmatch"):
        raise _fail("regex", "match_type must be search, match or fullmatch", match_type)
    return _regex_test("regex", match_type)(value, pattern, ignorecase, multiline)


_VERSION_OPS: dict[str, Callable[[int], bool]] = {
    "==": lambda c: c == 0, "=": lambda c: c == 0, "eq": lambda c: c == 0,
    "!=": lambda c: c != 0, "<>": lambda c: c != 0, "ne": lambda c: c != 0,
    "<": lambda c: c < 0, "lt": lambda c: c < 0, "<=": lambda c: c <= 0, "le": lambda c: c <= 0,
    ">": lambda c: c > 0, "gt": lambda c: c > 0, ">=": lambda c: c >= 0, "ge": lambda c: c >= 0,
}  # fmt: skip
_STRICT = re.compile(r"^(\d+)\.(\d+)(\.(\d+))?([ab](\d+))?$")
_SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)


def _loose_key(version: str) -> list[tuple[int, Any]]:
    """distutils' LooseVersion, made total: numbers sort before words at the same place."""
    parts = re.findall(r"\d+|[a-z]+", version.lower())
    return [(0, int(p)) if p.isdigit() else (-1, p) for p in parts]


def _strict_key(version: str) -> tuple[Any, ...]:
    match = _STRICT.match(version)
    if not match:
        raise _fail("version", "not a strict version (N.N[.N][a|bN])", version)
    major, minor, _, patch, pre, pre_num = match.groups()
    release = (int(major), int(minor), int(patch or 0))
    prerelease = (0, pre[0], int(pre_num)) if pre else (1, "", 0)
    return release + prerelease


def _semver_key(version: str) -> tuple[Any, ...]:
    match = _SEMVER.match(version)
    if not match:
        raise _fail("version", "not a semantic version (MAJOR.MINOR.PATCH[-pre][+build])", version)
    major, minor, patch, pre = match.groups()
    if pre is None:
        return (int(major), int(minor), int(patch), 1, ())
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (int(major), int(minor), int(patch), 0, ids)


def _pep440_key(version: str) -> Any:
    try:
        from packaging.version import InvalidVersion, Version
    except ImportError:
        raise _fail("version", "version_type='pep440' needs the 'packaging' library") from None
    try:
        return Version(version)
    except InvalidVersion:
        raise _fail("version", "not a PEP 440 version", version) from None


_VERSION_KEYS: dict[str, Callable[[str], Any]] = {
    "loose": _loose_key, "strict": _strict_key, "semver": _semver_key,
    "semantic": _semver_key, "pep440": _pep440_key,
}  # fmt: skip


def version_test(
    value: Any,
    version: Any,
    operator: str = "eq",
    strict: bool = False,
    version_type: str | None = None,
) -> bool:
    if operator not in _VERSION_OPS:
        raise _fail("version", f"unknown operator; use one of {' '.join(_VERSION_OPS)}", operator)
    kind = version_type or ("strict" if strict else "loose")
    if kind not in _VERSION_KEYS:
        raise _fail("version", f"version_type must be one of {', '.join(_VERSION_KEYS)}", kind)
    if value in (None, "") or isinstance(value, Undefined):
        raise _fail("version", "needs a version to compare", value)
    key = _VERSION_KEYS[kind]
    left, right = key(str(value)), key(str(version))
    return _VERSION_OPS[operator]((left > right) - (left < right))


def _result(name: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(name, "expects a registered task result (a dictionary)", value)
    return value


def failed_test(value: Any) -> bool:
    return bool(_result("failed", value).get("failed", False))


def succeeded_test(value: Any) -> bool:
    return not bool(_result("succeeded", value).get("failed", False))


def changed_test(value: Any) -> bool:
    result = _result("changed", value)
    if "changed" in result:
        return bool(result["changed"])
    loop_results = result.get("results")
    if isinstance(loop_results, list):
        return any(isinstance(r, Mapping) and r.get("changed") for r in loop_results)
    return False


def skipped_test(value: Any) -> bool:
    return bool(_result("skipped", value).get("skipped", False))


def unreachable_test(value: Any) -> bool:
    return bool(_result("unreachable", value).get("unreachable", False))


def truthy(value: Any, convert_bool: bool = False) -> bool:
    return to_bool(value) if convert_bool else bool(value)


def subset(a: Any, b: Any) -> bool:
    return all(x in b for x in a)


def superset(a: Any, b: Any) -> bool:
    return all(x in a for x in b)


def contains(seq: Any, value: Any) -> bool:
    return value in seq


# -- lookups -----------------------------------------------------------------------
class _Lookups:
    """`lookup()` / `query()`: controller-side data sources, rooted at the search paths."""

    def __init__(self, templar: Templar) -> None:
        self.templar = templar
        self.plugins: dict[str, Callable[..., list[Any]]] = {
            "env": self.env,
            "file": self.file,
            "template": self.template,
            "first_found": self.first_found,
            "vars": self.vars,
            "fileglob": self.fileglob,
            "items": lambda _ctx, *terms: flatten(terms, levels=1),
            "flattened": lambda _ctx, *terms: flatten(terms),
            "indexed_items": lambda _ctx, *terms: list(enumerate(flatten(terms, levels=1))),
            "dict": self.dict_items,
            "together": lambda _ctx, *terms: zip_longest(*terms),
            "nested": lambda _ctx, *terms: product(*terms),
            "sequence": self.sequence,
        }

    def search_paths(self, ctx: Context) -> list[Path]:
        """The task's `ansible_search_path` (role first, set by the executor), then the
        Templar's own paths."""
        task_paths = ctx.resolve_or_missing("ansible_search_path")
        paths = list(task_paths) if isinstance(task_paths, list | tuple) else []
        return list(dict.fromkeys(Path(p) for p in [*paths, *self.templar.search_paths]))

    def find(self, ctx: Context, name: str, kind: str) -> Path | None:
        path = Path(name)
        if path.is_absolute():
            return path if path.is_file() else None
        for base in self.search_paths(ctx):
            for candidate in (Path(base) / kind / name, Path(base) / name):
                if candidate.is_file():
                    return candidate
        return None

    def _read(self, ctx: Context, lookup: str, name: str, kind: str) -> str:
        path = self.find(ctx, str(name), kind)
        if path is None:
            looked = ", ".join(str(p / kind) for p in self.search_paths(ctx))
            raise _fail(lookup, f"could not find {name!r} in {looked or '(no search path)'}")
        return path.read_text(encoding="utf-8")

    def env(self, _ctx: Context, *names: str, default: Any = "") -> list[Any]:
        return [os.environ.get(str(name), default) for name in names]

    def file(
        self, ctx: Context, *names: str, lstrip: bool = False, rstrip: bool = True
    ) -> list[str]:
        contents = []
        for name in names:
            text = self._read(ctx, "file", name, "files")
            text = text.lstrip() if lstrip else text
            contents.append(text.rstrip() if rstrip else text)
        return contents

    def template(
        self, ctx: Context, *names: str, template_vars: Mapping[str, Any] | None = None
    ) -> list[str]:
        variables = ChainMap(dict(template_vars or {}), ctx.get_all())
        return [
            self.templar.render_string(self._read(ctx, "template", name, "templates"), variables)
            for name in names
        ]

    def first_found(
        self, ctx: Context, *terms: Any, files: Any = None, paths: Any = None, skip: bool = False
    ) -> list[str]:
        candidates: list[tuple[str, list[str]]] = []
        for term in [*terms, *([{"files": files, "paths": paths}] if files else [])]:
            if isinstance(term, Mapping):
                skip = bool(term.get("skip", skip))
                term_paths = _as_list(term.get("paths"))
                candidates += [(f, term_paths) for f in _as_list(term.get("files"))]
            else:
                candidates += [(f, _as_list(paths)) for f in _as_list(term)]
        for name, dirs in candidates:
            found = self._first_in(ctx, name, dirs) if dirs else self.find(ctx, name, "files")
            if found is not None:
                return [str(found)]
        if skip:
            return []
        tried = ", ".join(name for name, _ in candidates)
        raise _fail("first_found", f"none of these files was found: {tried}")

    def _first_in(self, ctx: Context, name: str, dirs: list[str]) -> Path | None:
        """`name` in the first of `dirs` holding it; relative dirs hang off the search paths."""
        for directory in dirs:
            bases = [Path(directory)]
            if not bases[0].is_absolute():
                bases = [p / directory for p in self.search_paths(ctx)]
            for base in bases:
                if (base / name).is_file():
                    return base / name
        return None

    def vars(self, ctx: Context, *names: str, default: Any = Undefined) -> list[Any]:
        values = []
        for name in names:
            value = ctx.resolve_or_missing(str(name))
            if value is missing or isinstance(value, Undefined):
                if default is Undefined:
                    raise UndefinedError(f"lookup('vars'): variable {name!r} is not defined")
                value = default
            values.append(value)
        return values

    def fileglob(self, ctx: Context, *patterns: str) -> list[str]:
        found: list[str] = []
        for pattern in patterns:
            if os.path.isabs(pattern):
                roots = [Path("/")]
            else:
                roots = [p / sub for p in self.search_paths(ctx) for sub in ("files", "")]
            for root in roots:
                matches = sorted(glob.glob(str(root / pattern)))
                files = [m for m in matches if os.path.isfile(m)]
                if files:
                    found.extend(files)
                    break
        return found

    def dict_items(self, _ctx: Context, *mappings: Any) -> list[dict[str, Any]]:
        items = []
        for mapping in mappings:
            items.extend(dict2items(mapping))
        return items

    def sequence(self, _ctx: Context, *terms: Any, **kw: Any) -> list[str]:
        results: list[str] = []
        for term in terms or [""]:
            spec = dict(kw)
            for word in str(term).split():
                key, sep, value = word.partition("=")
                if sep:
                    spec[key] = value
                elif "-" in word:
                    spec["start"], spec["end"] = word.split("-", 1)
                else:
                    spec["end"] = word
            try:
                start = int(str(spec.get("start", 1)), 0)
                stride = int(str(spec.get("stride", 1)), 0)
                if "end" in spec:
                    end = int(str(spec["end"]), 0)
                else:
                    end = start + (int(str(spec["count"]), 0) - 1) * stride
            except (KeyError, ValueError, TypeError):
                raise _fail("sequence", "needs integer start/end or count", term) from None
            if stride == 0:
                raise _fail("sequence", "stride cannot be 0", term)
            fmt = str(spec.get("format", "%d"))
            stop = end + (1 if stride > 0 else -1)
            _bounded("sequence", len(range(start, stop, stride)) + len(results))
            try:
                results.extend(fmt % n for n in range(start, stop, stride))
            except (TypeError, ValueError):
                raise _fail("sequence", f"bad format {fmt!r}", term) from None
        return results

    def run(self, ctx: Context, name: str, terms: tuple[Any, ...], kw: dict[str, Any]) -> list:
        name = name.removeprefix("ansible.builtin.")
        plugin = self.plugins.get(name)
        if plugin is None:
            known = ", ".join(sorted(self.plugins))
            hint = " (it runs controller commands)" if name in ("pipe", "lines") else ""
            raise _fail("lookup", f"unknown lookup {name!r}{hint}; available: {known}")
        errors = kw.pop("errors", "strict")
        try:
            return plugin(ctx, *terms, **kw)
        except TypeError as exc:
            raise _fail(f"lookup('{name}')", str(exc)) from None
        except FilterError:
            if errors in ("ignore", "warn"):
                return []
            raise


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in re.split(r"[,;]", value) if v.strip()]
    return list(value)


def _make_lookup_globals(templar: Templar) -> dict[str, Any]:
    lookups = _Lookups(templar)

    @pass_context
    def lookup(ctx: Context, name: str, *terms: Any, wantlist: bool = False, **kw: Any) -> Any:
        values = lookups.run(ctx, name, terms, kw)
        if wantlist:
            return values
        if all(isinstance(v, str) for v in values):  # Ansible joins; [] becomes ""
            return ",".join(values)
        return values[0] if len(values) == 1 else values

    @pass_context
    def query(ctx: Context, name: str, *terms: Any, **kw: Any) -> list[Any]:
        kw.pop("wantlist", None)
        return lookups.run(ctx, name, terms, kw)

    return {"lookup": lookup, "query": query, "q": query}


def now(utc: bool = False, fmt: str | None = None) -> Any:
    moment = dt.datetime.now(dt.UTC) if utc else dt.datetime.now()
    return moment.strftime(fmt) if fmt else moment


FILTERS: dict[str, Callable[..., Any]] = {
    "bool": to_bool,
    "to_json": to_json,
    "to_nice_json": to_nice_json,
    "from_json": from_json,
    "to_yaml": to_yaml,
    "to_nice_yaml": to_nice_yaml,
    "from_yaml": from_yaml,
    "from_yaml_all": from_yaml_all,
    "regex_replace": regex_replace,
    "regex_search": regex_search,
    "regex_findall": regex_findall,
    "regex_escape": regex_escape,
    "basename": lambda p: os.path.basename(str(p)),
    "dirname": lambda p: os.path.dirname(str(p)),
    "expanduser": lambda p: os.path.expanduser(str(p)),
    "expandvars": lambda p: os.path.expandvars(str(p)),
    "realpath": lambda p: os.path.realpath(str(p)),
    "relpath": lambda p, start=os.curdir: os.path.relpath(str(p), str(start)),
    "splitext": splitext,
    "path_join": path_join,
    "b64encode": b64encode,
    "b64decode": b64decode,
    "hash": hash_filter,
    "checksum": lambda v: hash_filter(v, "sha1"),
    "sha1": lambda v: hash_filter(v, "sha1"),
    "md5": lambda v: hash_filter(v, "md5"),
    "quote": lambda v: shlex.quote("" if v is None else str(v)),
    "combine": combine,
    "dict2items": dict2items,
    "items2dict": items2dict,
    "mandatory": mandatory,
    "ternary": ternary,
    "unique": unique,
    "union": union,
    "intersect": intersect,
    "difference": difference,
    "symmetric_difference": symmetric_difference,
    "flatten": flatten,
    "zip": zip_filter,
    "zip_longest": zip_longest,
    "product": product,
    "permutations": permutations,
    "combinations": combinations,
    "to_datetime": to_datetime,
    "strftime": strftime,
    "human_readable": human_readable,
    "human_to_bytes": human_to_bytes,
    "random": random_filter,
    "shuffle": shuffle,
    "split": split,
    "type_debug": type_debug,
    "comment": comment,
    "subelements": subelements,
    "extract": extract,
    "urlsplit": urlsplit,
    "json_query": json_query,
    "to_uuid": to_uuid,
}

TESTS: dict[str, Callable[..., bool]] = {
    "match": _regex_test("match", "match"),
    "search": _regex_test("search", "search"),
    "regex": regex_test,
    "version": version_test,
    "version_compare": version_test,
    "subset": subset,
    "superset": superset,
    "contains": contains,
    "file": lambda p: os.path.isfile(str(p)),
    "directory": lambda p: os.path.isdir(str(p)),
    "exists": lambda p: os.path.exists(os.path.expanduser(str(p))),
    "link": lambda p: os.path.islink(str(p)),
    "abs": lambda p: os.path.isabs(str(p)),
    "success": succeeded_test,
    "succeeded": succeeded_test,
    "failed": failed_test,
    "failure": failed_test,
    "changed": changed_test,
    "change": changed_test,
    "skipped": skipped_test,
    "skip": skipped_test,
    "unreachable": unreachable_test,
    "truthy": truthy,
    "falsy": lambda value, convert_bool=False: not truthy(value, convert_bool),
    "any": lambda values: any(values),
    "all": lambda values: all(values),
}


def _qualified(names: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """Each name also under its Ansible FQCN (`x | ansible.builtin.to_json`)."""
    aliases = {f"ansible.builtin.{name}": f for name, f in names.items()}
    aliases["community.general.json_query"] = json_query
    return {**names, **aliases}


def install(templar: Templar) -> None:
    """Register filters, tests and globals on the Templar's environment."""
    builtin = ("default", "d", "int", "float", "string", "min", "max", "map", "select",
               "reject", "selectattr", "rejectattr", "join", "list", "length", "lower", "upper")
    jinja = {name: templar.env.filters[name] for name in builtin if name in templar.env.filters}
    templar.add_filters(_qualified({**jinja, **FILTERS}))
    templar.add_tests(_qualified(TESTS))
    templar.add_globals({**_make_lookup_globals(templar), "now": now})
