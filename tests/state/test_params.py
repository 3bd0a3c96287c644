"""Runbook parameters: typed, validated, prompted on a terminal, a clear error in CI."""

from __future__ import annotations

import pytest

from runbook_engine.errors import InputError
from runbook_engine.loader.yaml_source import load_yaml_text
from runbook_engine.params import parse_param_specs, resolve_params

PLAY = """\
params:
  - name: ticket
    type: str
    pattern: "OPS-[0-9]+"
    description: the incident ticket
  - {name: replicas, type: int, min: 1, max: 9, default: 3}
  - {name: ratio, type: float, default: 0.5, max: 1}
  - {name: drain, type: bool, default: false}
  - {name: env, type: choice, choices: [staging, prod]}
  - {name: hosts, type: list, default: []}
  - {name: db_password, type: secret, min: 8}
"""


def specs():
    return parse_param_specs(load_yaml_text(PLAY, "play.yml")["params"])


def test_cli_values_become_typed_values() -> None:
    resolved = resolve_params(specs(), [
        "ticket=OPS-42", "replicas=5", "drain=yes", "env=prod", "hosts=web1, web2",
        "db_password=pa=ss-word-1"], interactive=False)
    assert resolved.values == {
        "ticket": "OPS-42", "replicas": 5, "ratio": 0.5, "drain": True, "env": "prod",
        "hosts": ["web1", "web2"], "db_password": "pa=ss-word-1"}
    assert resolved.masked()["db_password"] == "********"
    assert resolved.secret_values == ["pa=ss-word-1"]


@pytest.mark.parametrize(("assignment", "expected"), [
    ("replicas=12", "replicas"), ("replicas=two", "replicas"), ("ticket=INC-1", "ticket"),
    ("env=dev", "env"), ("drain=maybe", "drain"), ("ratio=1.5", "ratio"),
])
def test_bad_values_are_input_errors_naming_the_param(assignment: str, expected: str) -> None:
    given = {"ticket": "OPS-1", "env": "prod", "db_password": "long-enough"}
    name, value = assignment.split("=", 1)
    given[name] = value
    with pytest.raises(InputError, match=expected):
        resolve_params(specs(), [f"{k}={v}" for k, v in given.items()], interactive=False)


def test_a_bad_secret_is_reported_without_its_value() -> None:
    with pytest.raises(InputError) as caught:
        resolve_params(specs(), ["ticket=OPS-1", "env=prod", "db_password=short"],
                       interactive=False)
    assert "db_password" in caught.value.render() and "short" not in caught.value.render()


def test_missing_params_in_ci_are_listed_with_a_hint() -> None:
    with pytest.raises(InputError) as caught:
        resolve_params(specs(), ["ticket=OPS-1"], interactive=False)
    text = caught.value.render()
    assert "env (choice)" in text and "db_password (secret)" in text
    assert "-p env=..." in text and "ticket" not in text.split("hint")[0].split(":", 2)[2]


def test_unknown_params_are_refused() -> None:
    with pytest.raises(InputError, match="unknown parameter 'colour'"):
        resolve_params(specs(), ["colour=red"], interactive=False)


def test_missing_params_are_prompted_on_a_terminal_secret_without_echo() -> None:
    asked: list[str] = []
    answers = iter(["dev", "staging"])  # the first answer is refused, then asked again

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return next(answers)

    def ask_secret(prompt: str) -> str:
        asked.append("secret:" + prompt)
        return "s3cret-from-prompt"

    resolved = resolve_params(specs(), ["ticket=OPS-7"], interactive=True, ask=ask,
                              ask_secret=ask_secret)
    assert resolved.values["env"] == "staging"
    assert resolved.values["db_password"] == "s3cret-from-prompt"
    assert asked == ["env [staging/prod]: ", "env [staging/prod]: ", "secret:db_password: "]


def test_spec_errors_point_at_the_file_and_line() -> None:
    bad = "params:\n  - name: x\n    type: colour\n"
    with pytest.raises(InputError) as caught:
        parse_param_specs(load_yaml_text(bad, "play.yml")["params"])
    assert "play.yml:3:" in caught.value.render() and "type" in caught.value.render()
    with pytest.raises(InputError, match="no choices"):
        parse_param_specs([{"name": "c", "type": "choice"}])
