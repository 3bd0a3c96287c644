"""Jinja tests: regex, version, sets, controller paths, registered results, truthiness."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook_engine.modules.base import Result
from runbook_engine.templating import Templar, TemplateError


def test_match_search_regex(templar: Templar) -> None:
    v = {"host": "web01.prod"}
    assert templar.evaluate("host is match('web')", v) is True
    assert templar.evaluate("host is match('prod')", v) is False
    assert templar.evaluate("host is search('prod')", v) is True
    assert templar.evaluate("host is search('PROD', ignorecase=True)", v) is True
    assert templar.evaluate("host is regex('^web\\\\d+')", v) is True
    assert templar.evaluate("host is regex('prod', match_type='match')", v) is False
    assert templar.evaluate("host is not search('db')", v) is True
    with pytest.raises(TemplateError, match=r"search: bad regular expression '\['"):
        templar.evaluate("host is search('[')", v)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [("'1.10' is version('1.9', '>')", True), ("'1.10' is version('1.9', 'lt')", False),
     ("'2.0' is version('2.0.0', '==')", False), ("'1.2.3' is version('1.2', '>=')", True),
     ("'1.0rc1' is version('1.0', '>')", True),
     ("'1.0.0-rc.1' is version('1.0.0', '<', version_type='semver')", True),
     ("'1.0.0-alpha.2' is version('1.0.0-alpha.10', '<', version_type='semver')", True),
     ("'1.2' is version('1.2.0', '==', strict=True)", True),
     ("'1.2a1' is version('1.2', '<', strict=True)", True),
     ("'2.0.post1' is version('2.0', '>', version_type='pep440')", True),
     ("'9.6' is version('10.1', '<')", True),
     ("'OpenSSH_9.6' is version('OpenSSH_8.9', 'ge')", True)],
)  # fmt: skip
def test_version_compares_numbers_not_strings(templar: Templar, expr: str, expected: bool) -> None:
    assert templar.evaluate(expr, {}) is expected


def test_version_errors_name_the_test(templar: Templar) -> None:
    with pytest.raises(TemplateError, match="version: unknown operator"):
        templar.evaluate("'1' is version('2', '=>')", {})
    with pytest.raises(TemplateError, match=r"version: not a strict version .*'1\.x'"):
        templar.evaluate("'1.x' is version('2.0', strict=True)", {})
    with pytest.raises(TemplateError, match="version: needs a version to compare"):
        templar.evaluate("'' is version('2.0')", {})


def test_subset_superset_contains(templar: Templar) -> None:
    v = {"a": [1, 2], "b": [1, 2, 3]}
    assert templar.evaluate("a is subset(b)", v) is True
    assert templar.evaluate("b is subset(a)", v) is False
    assert templar.evaluate("b is superset(a)", v) is True
    assert templar.evaluate("b is contains(3)", v) is True
    assert templar.evaluate("b | select('contains', 3) | list", {"b": [[3], [4]]}) == [[3]]


def test_controller_path_tests(templar: Templar, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    (tmp_path / "l").symlink_to(tmp_path / "f.txt")
    v = {"d": str(tmp_path), "f": str(tmp_path / "f.txt"), "l": str(tmp_path / "l")}
    assert templar.evaluate("f is file and f is exists and f is not directory", v) is True
    assert templar.evaluate("d is directory and d is not file", v) is True
    assert templar.evaluate("l is link and d is abs", v) is True
    assert templar.evaluate("(d ~ '/missing') is exists", v) is False


def test_registered_result_tests(templar: Templar) -> None:
    ok = Result(changed=True, rc=0, stdout="done").registered()
    bad = Result(failed=True, rc=1, msg="boom").registered()
    skipped = Result(skipped=True).registered()
    loop = {"results": [Result().registered(), Result(changed=True).registered()]}
    v = {"ok": ok, "bad": bad, "skipped": skipped, "loop": loop}
    assert templar.evaluate("ok is succeeded and ok is success and ok is changed", v) is True
    assert templar.evaluate("bad is failed and bad is not succeeded", v) is True
    assert templar.evaluate("skipped is skipped and ok is not skipped", v) is True
    assert templar.evaluate("loop is changed", v) is True
    assert templar.evaluate("bad is not changed", v) is True
    with pytest.raises(TemplateError, match="failed: expects a registered task result"):
        templar.evaluate("'text' is failed", {})


def test_truthy_falsy(templar: Templar) -> None:
    assert templar.evaluate("'no' is truthy", {}) is True
    assert templar.evaluate("'no' is truthy(convert_bool=True)", {}) is False
    assert templar.evaluate("[] is falsy", {}) is True
    assert templar.evaluate("'yes' is falsy(convert_bool=True)", {}) is False


def test_aliases_and_collection_tests(templar: Templar) -> None:
    gone = Result(unreachable=True, failed=True, msg="no route").registered()
    v = {"gone": gone, "bad": Result(failed=True).registered()}
    assert templar.evaluate("gone is unreachable and bad is not unreachable", v) is True
    assert templar.evaluate("bad is failure and bad is not change and bad is not skip", v) is True
    assert templar.evaluate("'2.1' is version_compare('2.0', '>')", {}) is True
    assert templar.evaluate("[0, 1] is any and [0, 1] is not all", {}) is True
