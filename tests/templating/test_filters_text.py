"""Text filters: regular expressions, paths, encodings, hashes, time and sizes, comments."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time

import pytest

from runbook_engine.templating import Templar, TemplateError


def test_regex_replace(templar: Templar) -> None:
    assert templar.evaluate("'ansible' | regex_replace('^a.*i(.*)$', 'a\\\\1')", {}) == "able"
    assert templar.evaluate("'a.b.c' | regex_replace('\\\\.', '-', count=1)", {}) == "a-b.c"
    assert templar.evaluate("'AbA' | regex_replace('a', 'x', ignorecase=True)", {}) == "xbx"
    named = "'k=1\nk=2' | regex_replace('^k=(?P<v>.)', 'v\\\\g<v>', multiline=True)"
    assert templar.evaluate(named, {}) == "v1\nv2"
    with pytest.raises(TemplateError, match=r"regex_replace: expected 2 matches of 'a'"):
        templar.evaluate("'a' | regex_replace('a', 'b', mandatory_count=2)", {})
    with pytest.raises(TemplateError, match=r"regex_replace: bad regular expression '\('"):
        templar.evaluate("'a' | regex_replace('(', 'b')", {})


def test_regex_search(templar: Templar) -> None:
    v = {"s": "server1 port 8080"}
    assert templar.evaluate("s | regex_search('port \\\\d+')", v) == "port 8080"
    assert templar.evaluate("s | regex_search('nothing')", v) is None
    groups = "s | regex_search('(\\\\w+)(\\\\d) port (?P<p>\\\\d+)', '\\\\1', '\\\\g<p>')"
    assert templar.evaluate(groups, v) == ["server", "8080"]
    assert templar.evaluate("'ABC' | regex_search('b', ignorecase=True)", {}) == "B"
    with pytest.raises(TemplateError, match=r"regex_search: group arguments look like"):
        templar.evaluate("s | regex_search('x', 'oops')", v)


def test_regex_findall_and_escape(templar: Templar) -> None:
    assert templar.evaluate("'a1 b22 c333' | regex_findall('\\\\d+')", {}) == ["1", "22", "333"]
    assert templar.evaluate("'k=1 j=2' | regex_findall('(\\\\w)=(\\\\d)')", {}) == [
        ("k", "1"), ("j", "2")
    ]  # fmt: skip
    assert templar.evaluate("'1.2.3.4' | regex_escape", {}) == "1\\.2\\.3\\.4"
    assert templar.evaluate("'a.b*' | regex_escape('posix_basic')", {}) == "a\\.b\\*"


def test_path_filters(templar: Templar, tmp_path: os.PathLike[str]) -> None:
    assert templar.evaluate("'/etc/nginx/nginx.conf' | basename", {}) == "nginx.conf"
    assert templar.evaluate("'/etc/nginx/nginx.conf' | dirname", {}) == "/etc/nginx"
    assert templar.evaluate("'/a/b.tar.gz' | splitext", {}) == ["/a/b.tar", ".gz"]
    assert templar.evaluate("['/etc', 'app', 'x.conf'] | path_join", {}) == "/etc/app/x.conf"
    assert templar.evaluate("'~/x' | expanduser", {}) == os.path.expanduser("~/x")
    link = os.path.join(tmp_path, "link")
    os.symlink(tmp_path, link)
    assert templar.evaluate("p | realpath", {"p": link}) == os.path.realpath(tmp_path)


def test_base64_round_trip_and_error(templar: Templar) -> None:
    assert templar.evaluate("'héllo' | b64encode", {}) == "aMOpbGxv"
    assert templar.evaluate("'aMOpbGxv' | b64decode", {}) == "héllo"
    with pytest.raises(TemplateError, match=r"b64decode: not valid base64.*'%%%'"):
        templar.evaluate("'%%%' | b64decode", {})


def test_hashes(templar: Templar) -> None:
    assert templar.evaluate("'abc' | hash", {}) == hashlib.sha1(b"abc").hexdigest()
    assert templar.evaluate("'abc' | hash('md5')", {}) == hashlib.md5(b"abc").hexdigest()
    assert templar.evaluate("'abc' | hash('sha256')", {}) == hashlib.sha256(b"abc").hexdigest()
    assert templar.evaluate("'abc' | checksum", {}) == hashlib.sha1(b"abc").hexdigest()
    with pytest.raises(TemplateError, match=r"hash: unknown hash type.*'sha999'"):
        templar.evaluate("'abc' | hash('sha999')", {})


def test_quote_makes_shell_safe_words(templar: Templar) -> None:
    rendered = templar.render("rm -f {{ f | quote }}", {"f": "a b; rm -rf /"})
    assert rendered == "rm -f 'a b; rm -rf /'"
    assert templar.evaluate("none_value | quote", {"none_value": None}) == "''"


def test_urlsplit(templar: Templar) -> None:
    url = "https://user:pw@example.com:8443/a/b?x=1#top"
    parts = templar.evaluate("u | urlsplit", {"u": url})
    assert parts["hostname"] == "example.com"
    assert parts["port"] == 8443
    assert parts["path"] == "/a/b"
    assert templar.evaluate("u | urlsplit('query')", {"u": url}) == "x=1"
    with pytest.raises(TemplateError, match=r"urlsplit: unknown URL component"):
        templar.evaluate("u | urlsplit('nope')", {"u": url})
    with pytest.raises(TemplateError, match=r"urlsplit: the port is not a number"):
        templar.evaluate("'http://h:http/' | urlsplit", {})


def test_to_datetime_and_arithmetic(templar: Templar) -> None:
    days = templar.evaluate(
        "(('2024-03-01 00:00:00' | to_datetime) - ('2024-02-01' | to_datetime('%Y-%m-%d'))).days",
        {},
    )
    assert days == 29
    with pytest.raises(TemplateError, match=r"to_datetime: .*'yesterday'"):
        templar.evaluate("'yesterday' | to_datetime", {})


def test_strftime(templar: Templar) -> None:
    assert templar.evaluate("'%Y-%m-%d %H:%M' | strftime(0, utc=True)", {}) == "1970-01-01 00:00"
    assert templar.evaluate("'%Y' | strftime", {}) == time.strftime("%Y")
    with pytest.raises(TemplateError, match=r"strftime: second must be a number"):
        templar.evaluate("'%Y' | strftime('soon')", {})


def test_now_global(templar: Templar) -> None:
    assert templar.evaluate("now(fmt='%Y')", {}) == time.strftime("%Y")
    assert templar.evaluate("now(utc=True).tzinfo", {}) == dt.UTC


@pytest.mark.parametrize(
    ("expr", "expected"),
    [("10 | human_readable", "10.00 Bytes"), ("1024 | human_readable", "1.00 KB"),
     ("(1536 * 1024) | human_readable", "1.50 MB"), ("2048 | human_readable(unit='K')", "2.00 KB"),
     ("1024 | human_readable(isbits=True)", "1.00 Kb")],
)  # fmt: skip
def test_human_readable(templar: Templar, expr: str, expected: str) -> None:
    assert templar.evaluate(expr, {}) == expected


def test_human_to_bytes(templar: Templar) -> None:
    assert templar.evaluate("'1.5 GB' | human_to_bytes", {}) == 1536 * 1024 * 1024
    assert templar.evaluate("'10M' | human_to_bytes", {}) == 10 * 1024 * 1024
    assert templar.evaluate("'512' | human_to_bytes", {}) == 512
    assert templar.evaluate("'2' | human_to_bytes(default_unit='K')", {}) == 2048
    assert templar.evaluate("'1 Kb' | human_to_bytes(isbits=True)", {}) == 1024
    with pytest.raises(TemplateError, match=r"human_to_bytes: expects a size.*'lots'"):
        templar.evaluate("'lots' | human_to_bytes", {})
    with pytest.raises(TemplateError, match=r"human_to_bytes: unit 'Kb' is not in bytes"):
        templar.evaluate("'1 Kb' | human_to_bytes", {})


def test_comment_styles(templar: Templar) -> None:
    assert templar.evaluate("'Managed by runbook' | comment", {}) == (
        "#\n# Managed by runbook\n#"
    )
    assert templar.evaluate("'a\nb' | comment('c')", {}) == "//\n// a\n// b\n//"
    assert templar.evaluate("'x' | comment('cblock')", {}) == "/*\n *\n * x\n *\n */"
    assert templar.evaluate("'x' | comment('xml')", {}) == "<!--\n -\n - x\n -\n-->"
    assert templar.evaluate("'x' | comment(decoration='; ')", {}) == ";\n; x\n;"
    with pytest.raises(TemplateError, match=r"comment: style must be one of"):
        templar.evaluate("'x' | comment('cobol')", {})


def test_map_select_reject_selectattr_still_work(templar: Templar) -> None:
    v = {"users": [{"n": "a", "admin": True}, {"n": "b", "admin": False}]}
    assert templar.evaluate("users | selectattr('admin') | map(attribute='n') | list", v) == ["a"]
    assert templar.evaluate("[1, 2, 3] | select('>', 1) | list", {}) == [2, 3]
    assert templar.evaluate("['a1', 'b'] | reject('match', 'a') | list", {}) == ["b"]


def test_less_common_path_and_hash_filters(
    templar: Templar, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBOOK_DIR", "/srv/app")
    assert templar.evaluate("'$RUNBOOK_DIR/logs' | expandvars", {}) == "/srv/app/logs"
    assert templar.evaluate("'/srv/app/logs/x' | relpath('/srv/app')", {}) == "logs/x"
    assert templar.evaluate("'abc' | md5", {}) == hashlib.md5(b"abc").hexdigest()
    assert templar.evaluate("'abc' | sha1", {}) == hashlib.sha1(b"abc").hexdigest()


def test_to_json_of_an_undefined_value_names_it(templar: Templar) -> None:
    with pytest.raises(TemplateError, match="'api_token' is undefined"):
        templar.evaluate("{'token': api_token} | to_json", {})
