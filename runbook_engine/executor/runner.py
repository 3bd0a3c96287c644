"""Plays -> batches -> tasks -> hosts.

Each host walks the play's task tree with a generator (blocks, rescue, always, includes),
yielding the next task it wants to run. The linear strategy runs the pending task with the
lowest source order on every host that wants it, in a thread pool of `forks`, then asks
each host for its next one: hosts in a rescue or an include stay in step with the rest.
The free strategy lets every host walk on its own.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

from runbook_engine.connection.base import Connection
from runbook_engine.errors import ExitCode
from runbook_engine.events import EventBus
from runbook_engine.executor.task_runner import ItemResult, Outcome, TaskRunner, status_of
from runbook_engine.executor.variables import OMIT, LazyHostvars, VarView
from runbook_engine.loader.model import Play, Playbook, Task
from runbook_engine.modules.base import Result
from runbook_engine.secrets import SecretRegistry
from runbook_engine.templating import Templar, TemplateError

Step = tuple[Task, dict[str, Any]]
Group = list[tuple["HostState", dict[str, Any]]]
Walker = Generator[Step, Outcome, bool]


class TaskExecutor(Protocol):
    """Runs one task on one host and returns its outcome, updating `state` (facts,
    registered vars, notified handlers) as TaskRunner.execute does. The controller keeps
    the walk, the strategy's barrier, stats and every event; only this call may run
    elsewhere (runbook_engine.distributed runs it on Celery workers)."""

    def __call__(self, play_run: PlayRun, task: Task, state: HostState,
                 extra: dict[str, Any]) -> Outcome: ...


def local_task_executor(play_run: PlayRun, task: Task, state: HostState,
                        extra: dict[str, Any]) -> Outcome:
    return play_run.task_runner.execute(task, state, extra)


class PlayAborted(Exception):
    """any_errors_fatal or max_fail_percentage stopped the play (and the run)."""


@dataclass
class HostState:
    """What a run knows about one host: facts, notifications, stats, failure."""

    name: str
    facts: dict[str, Any] = field(default_factory=dict)
    secret_facts: set[str] = field(default_factory=set)
    notified: set[str] = field(default_factory=set)
    failed: bool = False
    unreachable: bool = False
    done: bool = False
    # what a rescue section sees: ansible_failed_task / ansible_failed_result
    last_failure: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("ok", "changed", "failed", "skipped", "unreachable", "rescued", "ignored"), 0))

    @property
    def active(self) -> bool:
        return not (self.failed or self.unreachable or self.done)

    def set_facts(self, facts: Mapping[str, Any], *, secret: bool = False) -> None:
        self.facts.update(facts)
        if secret:
            self.secret_facts.update(facts)
        else:
            self.secret_facts.difference_update(facts)

    def notify(self, names: Iterable[str], templar: Templar, variables: Any) -> None:
        for name in names:
            self.notified.add(str(templar.render(name, variables)))


@dataclass
class RunOptions:
    """The options of a run that the executor reads."""

    check: bool = False
    diff: bool = False
    forks: int = 20
    limit: str | None = None
    tags: frozenset[str] = frozenset()
    skip_tags: frozenset[str] = frozenset()
    start_at_task: str | None = None
    extra_vars: dict[str, Any] = field(default_factory=dict)
    verbosity: int = 0
    run_id: str = ""
    step: bool = False  # confirm each task (y/n/c), like ansible-playbook --step
    preapproved: frozenset[str] = frozenset()  # approve steps granted up front (CI)


class ConnectionPool:
    """One connection per host for the whole run, created on first use."""

    def __init__(self, factory: Callable[[str], Connection]) -> None:
        self._factory = factory
        self._connections: dict[str, Connection] = {}
        self._lock = threading.Lock()

    def get(self, host: str) -> Connection:
        conn = self._connections.get(host)
        if conn is None:
            with self._lock:
                conn = self._connections.get(host)
                if conn is None:
                    conn = self._factory(host)
                    self._connections[host] = conn
        return conn

    def close(self) -> None:
        for conn in self._connections.values():
            try:
                conn.close()
            except Exception:
                pass


def tags_selected(task_tags: frozenset[str], options: RunOptions) -> bool:
    """Ansible's rules: `always` runs unless skipped by name, `never` only when asked."""
    if options.skip_tags and (task_tags & options.skip_tags or
                              ("all" in options.skip_tags and "always" not in task_tags)):
        return False
    if "always" in task_tags:
        return True
    if "never" in task_tags and not (task_tags & options.tags):
        return False
    if not options.tags or "all" in options.tags:
        return True
    if "tagged" in options.tags and task_tags:
        return True
    if "untagged" in options.tags and not task_tags:
        return True
    return bool(task_tags & options.tags)


class PlaybookRunner:
    def __init__(
        self,
        playbook: Playbook,
        inventory: Any,
        play_hosts: list[list[str]],
        *,
        options: RunOptions,
        bus: EventBus,
        connect: Callable[[str], Connection],
        templar: Templar | None = None,
        secrets: SecretRegistry | None = None,
        reveal: Callable[[Any], Any] | None = None,
        resume: Mapping[str, Any] | None = None,
        confirm: Callable[[str], str] | None = None,
        task_executor: TaskExecutor | None = None,
    ) -> None:
        self.playbook = playbook
        self.inventory = inventory
        self.play_hosts = play_hosts
        self.options = options
        self.bus = bus
        self.templar = templar or Templar(search_paths=[playbook.path.parent])
        self.connections = ConnectionPool(connect)
        self.secrets = secrets or SecretRegistry()
        self.hosts: dict[str, HostState] = {}
        self.started = options.start_at_task is None
        self.run_id = options.run_id or uuid.uuid4().hex[:12]
        self.reveal = reveal  # decrypts `!vault` values when a variable is read
        self.confirm = confirm  # --step: asks about each task, answers y/n/c
        # Where one task runs on one host: here (default) or on a worker (celery).
        self.task_executor: TaskExecutor = task_executor or local_task_executor
        self.stopping = threading.Event()  # set when the run is interrupted
        self.done: dict[str, set[str]] = {}  # resume: host -> task_ids already done
        for host, progress in (resume or {}).items():
            self.done[host] = set(progress.completed)
            self.host(host).set_facts(progress.facts)
            self.host(host).set_facts(progress.registered)
        self.pool = ThreadPoolExecutor(max_workers=max(1, options.forks),
                                       thread_name_prefix="host")

    def host(self, name: str) -> HostState:
        state = self.hosts.get(name)
        if state is None:
            state = self.hosts[name] = HostState(name)
        return state

    def run(self) -> int:
        began = time.monotonic()
        aborted = interrupted = False
        try:
            for index, play in enumerate(self.playbook.plays):
                hosts = [h for h in self.play_hosts[index] if self.host(h).active or
                         self.host(h).done]
                for h in hosts:
                    self.host(h).done = False
                if not hosts:
                    self.bus.emit("warning", msg=f"play '{play.name}': no hosts left to run on")
                    continue
                try:
                    PlayRun(self, play, hosts).run()
                except PlayAborted as exc:
                    self.bus.emit("warning", play=play.name, msg=str(exc))
                    aborted = True
                    break
        except KeyboardInterrupt:
            # Ctrl-C or SIGTERM: stop scheduling, cut the connections (in-flight commands
            # end with them), and still close the run properly so every output is valid.
            interrupted = True
            self.stopping.set()  # executors waiting on remote work (celery) stop waiting
            self.bus.emit("warning", msg="interrupted: no new task was started after this")
        finally:
            self.connections.close()
            self.pool.shutdown(wait=not interrupted, cancel_futures=interrupted)
        code = ExitCode.INTERRUPTED if interrupted else self.exit_code(aborted)
        self.bus.emit(
            "run_end",
            stats={name: dict(h.stats) for name, h in self.hosts.items()},
            exit_code=int(code), duration=time.monotonic() - began, interrupted=interrupted,
        )
        return int(code)

    def exit_code(self, aborted: bool = False) -> int:
        code = 0
        if any(h.failed for h in self.hosts.values()) or aborted:
            code |= ExitCode.HOST_FAILED
        if any(h.unreachable for h in self.hosts.values()):
            code |= ExitCode.HOST_UNREACHABLE
        return code


class PlayRun:
    """One play over its hosts: batches, sections, strategies, handlers."""

    def __init__(self, runner: PlaybookRunner, play: Play, hosts: list[str]) -> None:
        self.runner = runner
        self.play = play
        self.hosts = hosts
        self.templar = runner.templar
        self.bus = runner.bus
        self.secrets = runner.secrets
        self.check_mode = runner.options.check if play.check_mode is None else play.check_mode
        self.diff = runner.options.diff
        self.batch: list[str] = []
        self.task_runner = TaskRunner(self)
        self._static_layers = self._play_layers()
        self._magic: dict[str, dict[str, Any]] = {}
        self._names: dict[str, str] = {}  # task_id -> name as displayed (rendered)
        self.hostvars = LazyHostvars(list(runner.inventory.hosts), self._hostvars_view)

    # -- variables -------------------------------------------------------------------
    def _play_layers(self) -> list[tuple[Mapping[str, Any], bool]]:
        play = self.play
        role_vars: dict[str, Any] = {}
        role_defaults: dict[str, Any] = {}
        for role in play.roles:
            role_vars.update(role.vars)
            for k, v in role.defaults.items():
                role_defaults.setdefault(k, v)
        layers: list[tuple[Mapping[str, Any], bool]] = [(role_vars, True)]
        layers += [(data, True) for data in reversed(play.vars_files_data)]
        layers.append((play.vars, True))
        self._role_defaults = role_defaults
        return layers

    def magic(self, host: str) -> dict[str, Any]:
        magic = self._magic.get(host)
        if magic is None:
            inv = self.runner.inventory
            magic = {
                "inventory_hostname": host,
                "inventory_hostname_short": host.split(".")[0],
                "groups": inv.groups,
                "group_names": [g for g in inv.group_names(host) if g != "all"],
                "hostvars": self.hostvars,
                "play_hosts": self.batch,
                "ansible_play_hosts": self.batch,
                "ansible_play_batch": self.batch,
                "ansible_play_hosts_all": self.hosts,
                "ansible_play_name": self.play.name,
                "playbook_dir": str(self.runner.playbook.path.parent),
                "ansible_check_mode": self.check_mode,
                "ansible_diff_mode": self.diff,
                "ansible_run_id": self.runner.run_id,
                "ansible_verbosity": self.runner.options.verbosity,
                "runbook_preapproved": sorted(self.runner.options.preapproved),
                "omit": OMIT,
            }
            self._magic[host] = magic
        return magic

    def variables(self, host: HostState, task: Task | None, extra: Mapping[str, Any]) -> VarView:
        layers: list[tuple[Mapping[str, Any], bool]] = [(self.magic(host.name), False)]
        options = self.runner.options
        if options.extra_vars:
            layers.append((options.extra_vars, True))
        if extra:
            layers.append((extra, False))
        layers.append((host.facts, False))
        role = task.role if task is not None else None
        if task is not None and task.vars:
            layers.append((task.vars, True))
        if task is not None:
            local: dict[str, Any] = {"ansible_search_path": [str(p) for p in task.search_paths]}
            if role is not None:
                local.update(role_path=str(role.path), role_name=role.name)
            layers.append((local, False))
        if role is not None:
            layers.append((role.vars, True))
        layers += self._static_layers
        layers.append((self.runner.inventory.host_vars(host.name), True))
        if role is not None and role.defaults:
            layers.append((role.defaults, True))
        layers.append((self._role_defaults, True))
        return VarView(self.templar, layers, self.runner.reveal)

    def _hostvars_view(self, host: str) -> Mapping[str, Any]:
        return self.variables(self.runner.host(host), None, {})

    def connection(self, host: str) -> Connection:
        return self.runner.connections.get(host)

    # -- the play ----------------------------------------------------------------------
    def run(self) -> None:
        self.bus.emit("play_start", play=self.play.name, hosts=list(self.hosts),
                      task_count=self.play.task_count)
        try:
            for batch in self._batches():
                self.batch[:] = batch
                self._run_batch(batch)
        finally:
            self.bus.emit("play_end", play=self.play.name)

    def _batches(self) -> list[list[str]]:
        serial = self.play.serial
        if not serial:
            return [list(self.hosts)]
        sizes = []
        for value in serial:
            text = str(value).strip()
            if text.endswith("%"):
                size = int(len(self.hosts) * float(text[:-1]) / 100)
            else:
                size = int(text)
            sizes.append(max(1, size))
        batches, start, i = [], 0, 0
        while start < len(self.hosts):
            size = sizes[min(i, len(sizes) - 1)]
            batches.append(self.hosts[start:start + size])
            start += size
            i += 1
        return batches

    def _run_batch(self, batch: list[str]) -> None:
        states = [self.runner.host(h) for h in batch]
        if self._should_gather():
            self._gather_facts(states)
        for section in (self.play.pre_tasks, self.play.tasks, self.play.post_tasks):
            if not section:
                continue
            self._run_tasks(section, [s for s in states if s.active])
            self._flush_handlers([s for s in states if s.active or
                                  (self.play.force_handlers and not s.unreachable)])

    def _should_gather(self) -> bool:
        if self.play.gather_facts is not None:
            return self.play.gather_facts
        return self.play.uses_facts

    def _gather_facts(self, states: list[HostState]) -> None:
        task = Task(kind="task", position=self.play.position, name="Gathering Facts",
                    module="setup", task_id="facts", order=-1)
        pending = [(s, {}) for s in states if s.active and "ansible_facts" not in s.facts]
        if pending:
            self._run_group(task, pending)

    # -- walking the task tree ---------------------------------------------------------
    def _walk(self, tasks: list[Task], host: HostState, extra: dict[str, Any]) -> Walker:
        """Yield the tasks this host runs; returns False when the host failed (unrescued)."""
        for task in tasks:
            if not host.active:
                return False
            if task.kind == "block":
                ok = yield from self._walk(task.block, host, extra)
                if not ok and task.rescue and not host.unreachable:
                    host.failed = False
                    host.stats["rescued"] += 1
                    host.stats["failed"] = max(0, host.stats["failed"] - 1)  # as Ansible counts
                    ok = yield from self._walk(task.rescue, host, {**extra, **host.last_failure})
                if task.always and not host.unreachable:
                    failed_now = host.failed
                    host.failed = False
                    always_ok = yield from self._walk(task.always, host, extra)
                    host.failed = failed_now or not always_ok
                    ok = ok and always_ok
                if not ok:
                    host.failed = host.failed or not host.unreachable
                    return False
                continue
            if not self._selected(task) or task.task_id in self.runner.done.get(host.name, ()):
                continue
            outcome = yield (task, extra)
            if task.kind == "include":
                if outcome.failed:
                    host.failed = True
                    return False
                for iteration in outcome.iterations:
                    ok = yield from self._walk(task.block, host, {**extra, **iteration})
                    if not ok:
                        return False
                continue
            if outcome.unreachable:
                host.unreachable = True
                return False
            if outcome.failed:
                host.failed = True
                host.last_failure = _failure_vars(task, outcome)
                return False
        return True

    def _selected(self, task: Task) -> bool:
        runner = self.runner
        if task.kind in ("task", "meta"):
            if not runner.started:
                if task.name != runner.options.start_at_task:
                    return False
                runner.started = True
            return tags_selected(task.tags | self.play.tags, runner.options)
        return True

    def _run_tasks(self, tasks: list[Task], states: list[HostState]) -> None:
        if self.play.strategy == "free":
            self._run_free(tasks, states)
            return
        walkers: dict[str, Walker] = {}
        pending: dict[str, Step] = {}
        for state in states:
            walker = self._walk(tasks, state, {})
            step = _advance(walker, None)
            if step is not None:
                walkers[state.name] = walker
                pending[state.name] = step
        while pending:
            first = min(pending.values(), key=lambda s: s[0].order)[0]
            group = [(self.runner.host(h), step[1]) for h, step in pending.items()
                     if step[0] is first]
            outcomes = self._run_step(first, group)
            for state, _extra in group:
                step = _advance(walkers[state.name], outcomes[state.name])
                if step is None:
                    del pending[state.name]
                else:
                    pending[state.name] = step
            self._check_failures(first, states)

    def _run_free(self, tasks: list[Task], states: list[HostState]) -> None:
        def drive(state: HostState) -> None:
            walker = self._walk(tasks, state, {})
            step = _advance(walker, None)
            while step is not None:
                task, extra = step
                outcome = self._run_step(task, [(state, extra)], threaded=False)[state.name]
                step = _advance(walker, outcome)

        # free: each host walks alone, `forks` hosts at a time; a walk runs its tasks
        # inline (threaded=False), so it never waits on the pool it runs in.
        futures = [self.runner.pool.submit(drive, s) for s in states]
        for future in futures:
            future.result()

    def _run_step(
        self, task: Task, group: Group, *, threaded: bool = True
    ) -> dict[str, Outcome]:
        if task.kind == "meta":
            return self._meta(task, group)
        if self.runner.confirm is not None and not self._confirmed(task):
            return {s.name: Outcome(skipped=True) for s, _ in group}
        if (task.run_once or _module_runs_once(task)) and len(group) > 1:
            outcomes = self._run_group(task, group[:1], threaded=threaded)
            first = outcomes[group[0][0].name]
            for state, _ in group[1:]:
                if first.registered is not None and task.register:
                    state.set_facts({task.register: first.registered})
                outcomes[state.name] = first
            return outcomes
        return self._run_group(task, group, threaded=threaded)

    def _confirmed(self, task: Task) -> bool:
        """--step: y runs this task, n skips it, c runs it and every task after it."""
        answer = self.runner.confirm(f"{task.display_name} ({task.position})")  # type: ignore[misc]
        if answer == "c":
            self.runner.confirm = None
        return answer in ("y", "c")

    def _meta(self, task: Task, group: Group) -> dict[str, Outcome]:
        action = task.args.get("action")
        states = [s for s, _ in group]
        if action == "flush_handlers":
            self._flush_handlers(states)
        elif action == "end_host":
            for s in states:
                s.done = True
        elif action == "end_play":
            for h in self.batch:
                self.runner.host(h).done = True
        elif action == "clear_host_errors":
            for s in states:
                s.failed = False
        return {s.name: Outcome() for s in states}

    def _run_group(
        self, task: Task, group: Group, *, threaded: bool = True
    ) -> dict[str, Outcome]:
        hosts = [s.name for s, _ in group]
        self._names[task.task_id] = self._task_name(task, group)
        self.bus.emit(
            "task_start", play=self.play.name, task=self._names[task.task_id],
            task_id=task.task_id,
            module=task.module, position=str(task.position), hosts=hosts, handler=task.handler,
        )
        outcomes: dict[str, Outcome] = {}
        if not threaded or len(group) == 1:
            for state, extra in group:
                outcomes[state.name] = self._execute(task, state, extra)
            return outcomes
        futures = [(state, self.runner.pool.submit(self._execute, task, state, extra))
                   for state, extra in group]
        # One wake-up when the last host is done (as_completed would wake us per host).
        wait([future for _, future in futures])
        for state, future in futures:
            outcomes[state.name] = future.result()
        return outcomes

    def _task_name(self, task: Task, group: Group) -> str:
        """Names may use variables; rendered with the first host's (as Ansible does)."""
        name = task.display_name
        if "{{" not in name or not group:
            return name
        state, extra = group[0]
        try:
            return str(self.templar.render(name, self.variables(state, task, extra)))
        except TemplateError:
            return name

    def _execute(self, task: Task, state: HostState, extra: dict[str, Any]) -> Outcome:
        self.bus.emit("host_task_start", play=self.play.name,
                      task=self._names.get(task.task_id, task.display_name),
                      host=state.name, task_id=task.task_id)
        try:
            outcome = self.runner.task_executor(self, task, state, extra)
        except Exception as exc:
            outcome = Outcome(failed=True, items=[ItemResult(Result(
                failed=True, msg=f"internal error: {type(exc).__name__}: {exc}"))])
        self._record(task, state, outcome)
        return outcome

    def _record(self, task: Task, state: HostState, outcome: Outcome) -> None:
        if task.kind == "include":
            if outcome.failed:
                state.stats["failed"] += 1
                self._emit_item(task, state, outcome.items[0], registered=None)
            return
        stats = state.stats
        if outcome.unreachable:
            stats["unreachable"] += 1
        elif outcome.failed:
            stats["failed"] += 1
        elif outcome.skipped:
            stats["skipped"] += 1
        else:
            stats["ok"] += 1
            if any(i.result.changed and not i.result.failed for i in outcome.items):
                stats["changed"] += 1
            if any(i.ignored for i in outcome.items):
                stats["ignored"] += 1
        for item in outcome.items:
            self._emit_item(task, state, item, registered=outcome.registered)

    def _emit_item(
        self, task: Task, state: HostState, item: ItemResult, registered: Any
    ) -> None:
        result = self.secrets.mask(item.result)
        data: dict[str, Any] = {
            "task_id": task.task_id, "status": status_of(item.result), "result": result,
            "duration": item.duration, "ignored": item.ignored, "rescued": False,
            "registered": task.register,
            "module": task.module,
        }
        if item.has_item:
            data["item"] = self.secrets.mask(item.item_label)
        if registered is not None and task.register not in state.secret_facts:
            data["register_value"] = self.secrets.mask(registered)
        facts = item.result.data.get("ansible_facts")
        if facts and not task.no_log:
            data["facts"] = self.secrets.mask(facts)
        self.bus.emit("host_result", play=self.play.name,
                      task=self._names.get(task.task_id, task.display_name),
                      host=state.name, **data)

    def _check_failures(self, task: Task, states: list[HostState]) -> None:
        failed = [s for s in states if s.failed or s.unreachable]
        if not failed:
            return
        fatal = task.any_errors_fatal if task.any_errors_fatal is not None else \
            self.play.any_errors_fatal
        if fatal and any(s.failed for s in failed):
            raise PlayAborted(f"any_errors_fatal: stopping after '{task.display_name}' failed "
                              f"on {', '.join(s.name for s in failed)}")
        limit = self.play.max_fail_percentage
        if limit is not None and self.batch:
            percent = 100.0 * len(failed) / len(self.batch)
            if percent > limit:
                raise PlayAborted(
                    f"max_fail_percentage {limit}% exceeded ({len(failed)} of "
                    f"{len(self.batch)} hosts failed): stopping the rollout")

    # -- handlers ----------------------------------------------------------------------
    def _flush_handlers(self, states: list[HostState]) -> None:
        for _ in range(10):  # handlers may notify handlers; bounded against loops
            ran = False
            for handler in self.play.handlers:
                if handler.kind != "task":
                    continue
                names = _handler_names(handler)
                group = [(s, {}) for s in states if s.notified & names and
                         (s.active or self.play.force_handlers)]
                if not group:
                    continue
                for s, _ in group:
                    s.notified -= names
                ran = True
                outcomes = self._run_step(handler, group)
                for s, _ in group:
                    o = outcomes[s.name]
                    if o.unreachable:
                        s.unreachable = True
                    elif o.failed:
                        s.failed = True
            if not ran:
                return


def _failure_vars(task: Task, outcome: Outcome) -> dict[str, Any]:
    failed = next((i.result for i in outcome.items if i.result.failed), None)
    return {
        "ansible_failed_task": {"name": task.display_name, "action": task.module,
                                "position": str(task.position)},
        "ansible_failed_result": outcome.registered or (failed.registered() if failed else {}),
    }


def _module_runs_once(task: Task) -> bool:
    if task.kind != "task" or not task.module:
        return False
    from runbook_engine.modules import load_module

    return bool(getattr(load_module(task.module), "RUN_ONCE", False))


def _handler_names(handler: Task) -> set[str]:
    names = set(handler.listen)
    if handler.name:
        names.add(handler.name)
        if handler.role:
            names.add(f"{handler.role.name} : {handler.name}")
    return names


def _advance(walker: Walker, outcome: Outcome | None) -> Step | None:
    try:
        return walker.send(outcome) if outcome is not None else next(walker)
    except StopIteration:
        return None

