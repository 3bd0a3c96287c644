import subprocess
import sys
from pathlib import Path

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


def test_run_freezes_what_was_loaded_and_collects_again_only_when_the_command_turned_gc_off():
    import gc

    from runbook_engine.commands.run import _freeze_what_is_loaded

    frozen_before = gc.get_freeze_count()
    _freeze_what_is_loaded(None)  # in-process (gc on): tests and embedders are left alone
    assert gc.isenabled() and gc.get_freeze_count() == frozen_before
    thresholds = gc.get_threshold()
    gc.disable()  # as `cli.entry` does for `runbook run`
    try:
        _freeze_what_is_loaded(None)
        assert gc.isenabled(), "the run itself must collect cyclic garbage"
        assert gc.get_freeze_count() > frozen_before
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        gc.enable()


def test_the_runbook_command_turns_gc_off_only_for_commands_that_load_then_run():
    code = ("import gc, sys\n"
            "sys.argv = ['runbook', sys.argv[1], '--help']\n"
            "import runbook_engine.cli as cli\n"
            "cli.main = lambda: print(gc.isenabled()) or 0\n"
            "cli.entry()\n")
    seen = {command: subprocess.run([sys.executable, "-c", code, command], capture_output=True,
                                    text=True, check=True).stdout.strip()
            for command in ("run", "resume", "serve", "scheduler")}
    assert seen == {"run": "False", "resume": "False", "serve": "True", "scheduler": "True"}


def test_prepare_says_whether_any_target_is_reached_over_ssh(tmp_path):
    from runbook_engine.engine import RunRequest, prepare

    playbook = tmp_path / "play.yml"
    playbook.write_text("- hosts: all\n  gather_facts: false\n  tasks:\n    - ping:\n")
    local = tmp_path / "local.yml"
    local.write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")
    mixed = tmp_path / "mixed.yml"
    mixed.write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                     "    web1:\n      ansible_host: 127.0.0.9\n")
    assert prepare(RunRequest(playbook=playbook, inventories=[str(local)])).uses_ssh is False
    assert prepare(RunRequest(playbook=playbook, inventories=[str(mixed)])).uses_ssh is True


def test_a_named_command_sets_up_only_itself_and_help_still_lists_every_command():
    import runbook_engine.cli as cli

    code = ("import atexit, sys\n"
            "atexit.register(lambda: print(sorted(\n"
            "    m for m in sys.modules if m.startswith('runbook_engine.commands.'))))\n"
            "import runbook_engine.cli as cli\n"
            "cli.main(['history', '--help'])\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and "usage: runbook history" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "['runbook_engine.commands.history']"
    everything = subprocess.run([sys.executable, "-m", "runbook_engine", "--help"],
                                capture_output=True, text=True)
    assert everything.returncode == 0
    assert all(name in everything.stdout for name in cli.command_modules())
    typo = subprocess.run([sys.executable, "-m", "runbook_engine", "rnu"],
                          capture_output=True, text=True)
    assert typo.returncode == 2 and "invalid choice: 'rnu'" in typo.stderr
    assert "'run'" in typo.stderr  # the choices are all listed


def _modules_imported_by(
    argv: list[str], cwd: Path
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    proc = subprocess.run([sys.executable, "-X", "importtime", *argv], cwd=cwd,
                          capture_output=True, text=True)
    names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
             if line.startswith("import time:") and "|" in line}
    return proc, names


def test_a_run_starts_without_reading_package_metadata(tmp_path):
    # pydantic looks for plugins when it builds its first model, through importlib.metadata
    # (email, zipfile, csv) and every installed package's metadata: the `runbook` command
    # tells it there are none (cli._without_pydantic_plugins). The models still check.
    (tmp_path / "play.yml").write_text("- hosts: all\n  gather_facts: false\n  tasks:\n"
                                       "    - debug:\n        msg: checked\n")
    (tmp_path / "inv.yml").write_text("all:\n  hosts:\n    localhost:\n"
                                      "      ansible_connection: local\n")
    proc, imported = _modules_imported_by(
        ["-m", "runbook_engine", "run", "play.yml", "-i", "inv.yml", "--no-journal"], tmp_path)
    assert proc.returncode == 0 and "checked" in proc.stdout
    assert "pydantic" in imported and "importlib.metadata" not in imported
    (tmp_path / "bad.yml").write_text("- hosts: all\n  tasks:\n    - copy:\n"
                                      "        dest: /tmp/x\n        contentt: x\n")
    bad, _ = _modules_imported_by(["-m", "runbook_engine", "run", "bad.yml", "-i", "inv.yml"],
                                  tmp_path)
    assert bad.returncode == 2 and "bad.yml:5:9" in bad.stderr and "'contentt'" in bad.stderr


def test_validators_a_playbook_does_not_use_are_never_built(tmp_path):
    # Building a pydantic validator costs 1-2 ms; the keyword models for roles and
    # loop_control and the params model are built when a playbook first uses them.
    (tmp_path / "plain.yml").write_text("- hosts: all\n  gather_facts: false\n  tasks:\n"
                                        "    - debug:\n        msg: plain\n")
    (tmp_path / "looped.yml").write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - debug:\n        msg: '{{ x }}'\n      loop: [a, b]\n"
        "      loop_control:\n        loop_var: x\n")
    (tmp_path / "inv.yml").write_text("all:\n  hosts:\n    localhost:\n"
                                      "      ansible_connection: local\n")
    code = ("import sys\n"
            "from pathlib import Path\n"
            "from runbook_engine.engine import RunRequest, prepare\n"
            "prepare(RunRequest(playbook=Path(sys.argv[1]), inventories=['inv.yml']))\n"
            "from runbook_engine.loader.keywords import LoopControlSpec, RoleRefSpec\n"
            "from runbook_engine.params import ParamSpec\n"
            "print([m.__pydantic_complete__ for m in (LoopControlSpec, RoleRefSpec, ParamSpec)])\n")
    built = {}
    for playbook in ("plain.yml", "looped.yml"):
        proc = subprocess.run([sys.executable, "-c", code, playbook], cwd=tmp_path,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        built[playbook] = proc.stdout.strip()
    assert built == {"plain.yml": "[False, False, False]", "looped.yml": "[True, False, False]"}
    run = subprocess.run([sys.executable, "-m", "runbook_engine", "run", "looped.yml",
                          "-i", "inv.yml", "--no-journal"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "(item=a) => a" in run.stdout and "(item=b) => b" in run.stdout


def test_paramiko_loads_without_invoke_or_package_metadata_and_knows_its_version():
    code = ("import sys\n"
            "from runbook_engine.connection.paramiko_loader import paramiko\n"
            "print(sorted(m for m in ('invoke', 'importlib.metadata') if m in sys.modules))\n"
            "import importlib.metadata\n"
            "print(paramiko.__version__ == importlib.metadata.version('paramiko'))\n"
            "print(paramiko.Transport._CLIENT_ID)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    hidden, same_version, client_id = proc.stdout.splitlines()
    assert hidden == "[]" and same_version == "True"
    assert client_id.startswith("paramiko_") and client_id != "paramiko_"
