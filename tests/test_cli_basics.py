import subprocess
import sys

from runbook_engine import __version__
from runbook_engine.loader.yaml_source import OctalInt, load_yaml_text


def test_version_prints_and_exits_zero():
    proc = subprocess.run(
        [sys.executable, "-m", "runbook_engine", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"runbook {__version__}"


def test_yaml_positions_duplicates_and_octal():
    data = load_yaml_text("a: 1\nmode: 0644\nitems:\n  - x\n  - y\n", "p.yml")
    assert str(data.pos("mode")) == "p.yml:2:1"
    assert isinstance(data["mode"], OctalInt) and data["mode"] == 0o644
    assert str(data["items"].pos(1)) == "p.yml:5:5"
