"""File modes as users write them in YAML, and symbolic modes computed for check mode."""

from __future__ import annotations

import os
import stat as stat_bits
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from runbook_engine.loader.yaml_source import load_yaml_text
from runbook_engine.modules.copy import Args as CopyArgs
from runbook_engine.modules.file import Args as FileArgs
from runbook_engine.modules.fileops import new_mode


def _file_args(yaml_text: str) -> FileArgs:
    return FileArgs.model_validate(dict(load_yaml_text(yaml_text, "play.yml")))


@pytest.mark.parametrize(
    ("written", "mode"),
    [("0644", "0644"), ("'0644'", "0644"), ("'644'", "0644"), ("'0o750'", None),
     ("01777", "1777"), ("u+x,go-w", "u+x,go-w"), ("+x", "a+x"), ("'u=rwX,g=u'", "u=rwX,g=u")],
)  # fmt: skip
def test_yaml_modes(written: str, mode: str | None) -> None:
    if mode is None:
        with pytest.raises(ValidationError):
            _file_args(f"path: /x\nmode: {written}\n")
    else:
        assert _file_args(f"path: /x\nmode: {written}\n").mode == mode


def test_a_decimal_mode_is_refused_with_a_hint() -> None:
    with pytest.raises(ValidationError, match=r"mode: '0644'"):
        _file_args("path: /x\nmode: 644\n")
    with pytest.raises(ValidationError, match=r"'0755'"):
        CopyArgs.model_validate(
            dict(load_yaml_text("dest: /x\ncontent: y\ndirectory_mode: 755\n", "p.yml"))
        )


@pytest.mark.parametrize(
    "mode", ["u+x", "go-rwx", "a=r,u+w", "u=rwX,go=rX", "g=u", "o=g,u-r", "+t", "u+s,g+s", "a-X"]
)
@pytest.mark.parametrize("start", [0o644, 0o600, 0o755, 0o4711])
@pytest.mark.parametrize("isdir", [False, True])
def test_new_mode_agrees_with_chmod(tmp_path: Path, mode: str, start: int, isdir: bool) -> None:
    path = tmp_path / "p"
    path.mkdir() if isdir else path.touch()
    os.chmod(path, start)
    subprocess.run(["chmod", mode if mode[0] in "ugoa" else "a" + mode, str(path)], check=True)
    assert new_mode(start, mode if mode[0] in "ugoa" else "a" + mode, isdir) == stat_bits.S_IMODE(
        path.stat().st_mode
    )
