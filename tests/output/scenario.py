"""A realistic run, emitted through a real EventBus with real Result objects.

Play "web": web1 ok/changed, web2 fails on "restart app", db1 unreachable; a loop task
with an ignored failing item; a no_log task whose result the executor already masked.
Play "db": skipped on db1 (unreachable earlier, so not there) - one host, a handler.
"""

from __future__ import annotations

from runbook_engine.events import EventBus
from runbook_engine.modules.base import Result

MASKED = "the output has been hidden due to the fact that 'no_log: true' was specified"

STATS = {
    "web1": {"ok": 5, "changed": 2, "failed": 0, "skipped": 1, "unreachable": 0,
             "rescued": 0, "ignored": 1},
    "web2": {"ok": 3, "changed": 1, "failed": 1, "skipped": 0, "unreachable": 0,
             "rescued": 0, "ignored": 0},
    "db1": {"ok": 0, "changed": 0, "failed": 0, "skipped": 0, "unreachable": 1,
            "rescued": 0, "ignored": 0},
}  # fmt: skip


def task(bus: EventBus, play: str, name: str, task_id: str, module: str, line: int,
         hosts: list[str], handler: bool = False) -> None:  # fmt: skip
    bus.emit(
        "task_start",
        play=play,
        task=name,
        task_id=task_id,
        module=module,
        position=f"playbooks/site.yml:{line}:7",
        hosts=hosts,
        handler=handler,
    )


def result(bus: EventBus, play: str, name: str, task_id: str, host: str, status: str,
           res: Result, duration: float = 0.5, **extra: object) -> None:  # fmt: skip
    bus.emit(
        "host_result",
        play=play,
        task=name,
        host=host,
        task_id=task_id,
        status=status,
        result=res,
        duration=duration,
        ignored=bool(extra.pop("ignored", False)),
        rescued=bool(extra.pop("rescued", False)),
        **extra,
    )


def emit_run(bus: EventBus, *, finish: bool = True) -> None:
    bus.emit(
        "run_start",
        run_id="r-42",
        playbook="playbooks/site.yml",
        inventory=["inventories/prod.yml"],
        limit=None,
        tags=[],
        skip_tags=[],
        check=False,
        diff=True,
    )
    web = ["web1", "web2", "db1"]
    bus.emit("play_start", play="web", hosts=web)

    task(bus, "web", "check uptime", "t1", "command", 5, web)
    result(bus, "web", "check uptime", "t1", "web1", "ok",
           Result(rc=0, stdout="up 3 days"), 0.25)  # fmt: skip
    result(bus, "web", "check uptime", "t1", "web2", "ok",
           Result(rc=0, stdout="up 1 day"), 0.3)  # fmt: skip
    result(bus, "web", "check uptime", "t1", "db1", "unreachable",
           Result(unreachable=True, failed=True,
                  msg="ssh: connect to db1:22: Connection refused"), 3.0)  # fmt: skip

    task(bus, "web", "write config", "t2", "copy", 9, ["web1", "web2"])
    diff = [{"before": "port=80\n", "after": "port=8080\n",
             "before_header": "/etc/app.conf", "after_header": "/etc/app.conf"}]  # fmt: skip
    result(bus, "web", "write config", "t2", "web1", "changed",
           Result(changed=True, diff=diff, data={"dest": "/etc/app.conf"}))  # fmt: skip
    result(bus, "web", "write config", "t2", "web2", "ok", Result(data={"dest": "/etc/app.conf"}))

    task(bus, "web", "install packages", "t3", "package", 14, ["web1"])
    result(bus, "web", "install packages", "t3", "web1", "changed",
           Result(changed=True, msg="installed nginx"), item="nginx")  # fmt: skip
    result(bus, "web", "install packages", "t3", "web1", "failed",
           Result(failed=True, rc=100, msg="no such package: ngnix",
                  stderr="E: Unable to locate package ngnix"),
           item="ngnix", ignored=True)  # fmt: skip

    task(bus, "web", "set db password", "t4", "shell", 20, ["web1", "web2"])
    for host in ("web1", "web2"):
        result(bus, "web", "set db password", "t4", host, "changed",
               Result(changed=True, msg=MASKED, data={"censored": MASKED}))  # fmt: skip

    task(bus, "web", "restart app", "t5", "command", 25, ["web1", "web2"])
    result(bus, "web", "restart app", "t5", "web1", "skipped",
           Result(skipped=True, msg="conditional result was False"))  # fmt: skip
    stderr = "".join(f"trace line {i}\n" for i in range(1, 26)) + "Error: port 8080 in use\n"
    result(bus, "web", "restart app", "t5", "web2", "failed",
           Result(failed=True, rc=3, msg="non-zero return code", stdout="starting <app> & co",
                  stderr=stderr), 1.5)  # fmt: skip
    bus.emit("warning", msg="host web2 failed; continuing with the remaining hosts")
    bus.emit("play_end", play="web")

    bus.emit("play_start", play="db", hosts=["web1"])
    task(bus, "db", "reload nginx", "h1", "service", 40, ["web1"], handler=True)
    result(bus, "db", "reload nginx", "h1", "web1", "ok", Result(), 0.1, rescued=True)
    if not finish:
        return
    bus.emit("play_end", play="db")
    bus.emit("run_end", stats=STATS, exit_code=12, duration=75.4)
