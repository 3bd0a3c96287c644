"""Running one task on one host: conditions, loops, retries, the module, register."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from runbook_engine.errors import HostUnreachable, ModuleFailure
from runbook_engine.executor.variables import Omit
from runbook_engine.loader.model import Task
from runbook_engine.loader.playbook import contains_template
from runbook_engine.modules import load_module
from runbook_engine.modules.base import Become, Result, TaskContext
from runbook_engine.templating import TemplateError

if TYPE_CHECKING:
    from runbook_engine.executor.runner import HostState, PlayRun

NO_LOG_MSG = "the output has been hidden due to 'no_log: true' for this result"


@dataclass(slots=True)
class ItemResult:
    """The result of a task on a host for one loop item (or the only one)."""

    result: Result
    item_label: Any = None  # what is shown (loop_control.label)
    has_item: bool = False
    duration: float = 0.0
    ignored: bool = False
    item: Any = None  # the loop item itself, as registered


@dataclass(slots=True)
class Outcome:
    """What a task did on one host, loop items included."""

    items: list[ItemResult] = field(default_factory=list)
    failed: bool = False  # failed and not ignored
    unreachable: bool = False
    changed: bool = False
    skipped: bool = False
    registered: dict[str, Any] | None = None
    iterations: list[dict[str, Any]] = field(default_factory=list)  # includes: per-item vars


def status_of(result: Result) -> str:
    if result.unreachable:
        return "unreachable"
    if result.failed:
        return "failed"
    if result.skipped:
        return "skipped"
    return "changed" if result.changed else "ok"


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "1")
    return bool(value)


def _label(task: Task, item: Any, variables: Mapping[str, Any], run: PlayRun) -> Any:
    label = task.loop_control.label
    if label is None:
        return item
    try:
        return run.templar.render(label, variables)
    except TemplateError:
        return item


class TaskRunner:
    """Runs tasks for one play; shared by all host threads (holds no per-host state)."""

    def __init__(self, run: PlayRun) -> None:
        self.run = run
        self.templar = run.templar
        self._static_args: dict[str, Any] = {}  # task_id -> parsed Args of template-free args

    # -- entry point ---------------------------------------------------------------
    def execute(self, task: Task, host: HostState, extra: Mapping[str, Any]) -> Outcome:
        variables = self.run.variables(host, task, extra)
        outcome = Outcome()
        try:
            loop_items = self._loop_items(task, variables)
        except TemplateError as exc:
            result = Result(failed=True, msg=f"{task.position}: {exc}")
            return self._finish(task, host, outcome, [ItemResult(result)], variables)

        if task.kind == "include":
            return self._include(task, variables, loop_items, outcome)

        if loop_items is None:
            item_results = [self._one(task, host, variables, None, has_item=False)]
        else:
            item_results = []
            loop_var = task.loop_control.loop_var
            for index, item in enumerate(loop_items):
                layer: dict[str, Any] = {loop_var: item}
                if task.loop_control.index_var:
                    layer[task.loop_control.index_var] = index
                if task.loop_control.extended:
                    layer["ansible_loop"] = {
                        "index": index + 1, "index0": index, "first": index == 0,
                        "last": index == len(loop_items) - 1, "length": len(loop_items),
                    }
                item_vars = variables.with_layer(layer)
                item_results.append(self._one(task, host, item_vars, item, has_item=True))
                if item_results[-1].result.unreachable:
                    break
                if task.loop_control.pause:
                    time.sleep(float(task.loop_control.pause))
        return self._finish(task, host, outcome, item_results, variables,
                            looped=loop_items is not None)

    def _loop_items(self, task: Task, variables: Any) -> list[Any] | None:
        if task.loop is None:
            return None
        loop = task.loop
        if isinstance(loop, dict) and "flatten" in loop:  # with_items flattens one level
            value = self.templar.render(loop["flatten"], variables)
            flat: list[Any] = []
            for v in value if isinstance(value, list) else [value]:
                flat.extend(v if isinstance(v, list) else [v])
            return flat
        if isinstance(loop, dict) and "dict2items" in loop:
            value = self.templar.render(loop["dict2items"], variables)
            return [{"key": k, "value": v} for k, v in dict(value).items()]
        value = self.templar.render(loop, variables)
        if isinstance(value, str):
            raise TemplateError(
                f"loop must be a list, got the string {value[:60]!r} "
                "(a template that renders to a list must be the whole value)"
            )
        if isinstance(value, Mapping):
            raise TemplateError("loop must be a list; for a mapping use `| dict2items`")
        return list(value)

    def _include(
        self, task: Task, variables: Any, loop_items: list[Any] | None, outcome: Outcome
    ) -> Outcome:
        """An include's body runs once per item (or once) for hosts where `when` holds."""
        try:
            if loop_items is None:
                if self.templar.condition(task.when, variables) if task.when else True:
                    outcome.iterations = [self._rendered_vars(task, variables)]
            else:
                loop_var = task.loop_control.loop_var
                for item in loop_items:
                    item_vars = variables.with_layer({loop_var: item})
                    if not task.when or self.templar.condition(task.when, item_vars):
                        outcome.iterations.append(
                            {loop_var: item, **self._rendered_vars(task, item_vars)}
                        )
        except TemplateError as exc:
            outcome.failed = True
            outcome.items = [ItemResult(Result(failed=True, msg=f"{task.position}: {exc}"))]
            return outcome
        outcome.skipped = not outcome.iterations
        return outcome

    def _rendered_vars(self, task: Task, variables: Any) -> dict[str, Any]:
        return {k: self.templar.render(v, variables) for k, v in task.vars.items()}

    # -- one item ----------------------------------------------------------------------
    def _one(
        self, task: Task, host: HostState, variables: Any, item: Any, *, has_item: bool
    ) -> ItemResult:
        started = time.monotonic()
        label = _label(task, item, variables, self.run) if has_item else None
        try:
            if task.when and not self.templar.condition(task.when, variables):
                result = Result(skipped=True, msg="Conditional result was False")
                result.data["false_condition"] = _condition_text(task.when)
            else:
                result = self._attempts(task, host, variables)
        except TemplateError as exc:
            result = Result(failed=True, msg=f"{task.position}: {exc}")
        except HostUnreachable as exc:
            result = Result(failed=True, unreachable=True, msg=str(exc))
        ignored = False
        if result.failed and not result.unreachable:
            try:
                ignored = _truthy(self.templar.render(task.ignore_errors, variables))
            except TemplateError:
                ignored = False
        if result.unreachable and task.ignore_unreachable:
            ignored = True
        return ItemResult(result, label, has_item, time.monotonic() - started, ignored, item)

    def _attempts(self, task: Task, host: HostState, variables: Any) -> Result:
        retries = int(self.templar.render(task.retries, variables) or 0) if task.retries else 0
        delay = float(self.templar.render(task.delay, variables) or 0)
        attempt = 0
        while True:
            attempt += 1
            result = self._call_module(task, host, variables)
            self._apply_conditions(task, result, variables)
            if task.until is None or result.unreachable:
                return result
            check_vars = variables.with_layer(self._register_view(task, result))
            done = self.templar.condition(task.until, check_vars)
            result.data["attempts"] = attempt
            if done:
                result.failed = False if task.failed_when is None else result.failed
                return result
            if attempt > retries:
                result.failed = True
                result.msg = result.msg or f"condition `until` not met after {attempt} attempts"
                return result
            time.sleep(delay)

    def _register_view(self, task: Task, result: Result) -> dict[str, Any]:
        value = result.registered()
        names = {"result": value}  # what `until`/`changed_when` see besides the register name
        if task.register:
            names[task.register] = value
        return names

    def _apply_conditions(self, task: Task, result: Result, variables: Any) -> None:
        if result.unreachable or (task.changed_when is None and task.failed_when is None):
            return
        check_vars = variables.with_layer(self._register_view(task, result))
        if task.changed_when is not None:
            result.changed = self.templar.condition(task.changed_when, check_vars)
        if task.failed_when is not None:
            result.failed = self.templar.condition(task.failed_when, check_vars)
            if result.failed and not result.msg:
                result.msg = f"failed_when: {_condition_text(task.failed_when)}"

    def _call_module(self, task: Task, host: HostState, variables: Any) -> Result:
        module = load_module(task.module)
        parsed = self._static_args.get(task.task_id)
        if parsed is None:
            args = {k: v for k, v in self.templar.render(task.args, variables).items()
                    if not isinstance(v, Omit)}
            try:
                parsed = module.Args.model_validate(args)
            except ValidationError as exc:
                return Result(failed=True, msg=f"{task.position}: {_validation_text(task, exc)}")
            if task.task_id and not contains_template(task.args):
                # the same for every host: validate once (Args models are frozen)
                self._static_args[task.task_id] = parsed
        ctx = self._context(task, host, variables, module)
        try:
            return module.run(ctx, parsed)
        except ModuleFailure as exc:
            return Result(failed=True, msg=str(exc))
        except TimeoutError as exc:
            return Result(failed=True, msg=f"timed out: {exc}")
        except HostUnreachable:
            raise
        except TemplateError:
            raise
        except Exception as exc:
            return Result(failed=True, msg=f"internal error in module {task.module}: "
                                            f"{type(exc).__name__}: {exc}")

    def _context(self, task: Task, host: HostState, variables: Any, module: Any) -> TaskContext:
        run = self.run
        delegate = self.templar.render(task.delegate_to, variables) if task.delegate_to else None
        conn = run.connection(delegate or host.name)
        become = None
        want_become = task.become if task.become is not None else (
            run.play.become or _truthy(variables.get("ansible_become", False)))
        if want_become and not getattr(module, "ON_CONTROLLER", False):
            user = task.become_user or run.play.become_user or variables.get(
                "ansible_become_user", "root")
            password = variables.get("ansible_become_password") or variables.get(
                "ansible_become_pass")
            become = Become(
                user=str(self.templar.render(user, variables)),
                method=task.become_method or run.play.become_method or "sudo",
                password=str(password) if password else None,
                flags=task.become_flags or "",
            )
            if password:
                run.secrets.add(str(password))
        check = run.check_mode
        if task.check_mode is not None:
            check = _truthy(self.templar.render(task.check_mode, variables))
        diff = run.diff if task.diff is None else _truthy(self.templar.render(task.diff, variables))
        environment = {**run.play.environment, **task.environment}
        if environment:
            environment = {str(k): str(v) for k, v in
                           self.templar.render(environment, variables).items()}
        timeout = float(self.templar.render(task.timeout, variables)) if task.timeout else None
        def emit(kind: str, **data: Any) -> None:
            run.bus.emit(kind, play=run.play.name, task=task.display_name, host=host.name,
                         **run.secrets.mask(data))

        return TaskContext(
            host=host.name, conn=conn, vars=variables, templar=self.templar,
            check_mode=check, diff=diff, become=become, environment=environment,
            timeout=timeout, search_paths=task.search_paths,
            no_log=bool(task.no_log), emit=emit, task_name=task.display_name,
        )

    # -- after the module ------------------------------------------------------------
    def _finish(
        self, task: Task, host: HostState, outcome: Outcome, items: list[ItemResult],
        variables: Any, *, looped: bool = False,
    ) -> Outcome:
        if looped and not items:  # as Ansible shows it: skipped, nothing to do
            items = [ItemResult(Result(skipped=True, msg="No items in the list"))]
        outcome.items = items
        results = [i.result for i in items]
        outcome.unreachable = any(r.unreachable and not i.ignored for r, i in zip(results, items,
                                                                                   strict=True))
        outcome.failed = any(r.failed and not i.ignored for r, i in zip(results, items,
                                                                         strict=True))
        outcome.changed = any(r.changed for r in results)
        outcome.skipped = bool(results) and all(r.skipped for r in results)
        if looped:
            if not any(i.has_item for i in items):
                outcome.skipped = True
                aggregate = {"changed": False, "skipped": True, "results": [],
                             "msg": "No items in the list"}
            else:
                aggregate = {
                    "changed": outcome.changed, "failed": outcome.failed,
                    "skipped": outcome.skipped,
                    "msg": "All items completed" if not outcome.failed
                    else "One or more items failed",
                    "results": [self._item_registered(task, i) for i in items],
                }
            registered = aggregate
        else:
            registered = results[0].registered()
        no_log = self._no_log(task, variables)
        for item in items:
            facts = item.result.data.get("ansible_facts")
            if facts and not item.result.failed:
                host.set_facts(facts)
        if task.register and not no_log:
            host.set_facts({task.register: registered})
            outcome.registered = registered
        elif task.register:
            # the value is usable by later tasks, but never recorded anywhere
            host.set_facts({task.register: registered}, secret=True)
        if outcome.changed and task.notify and not outcome.failed:
            host.notify(task.notify, self.templar, variables)
        if no_log:
            for item in items:
                item.result = _hidden(item.result)
        return outcome

    def _item_registered(self, task: Task, item: ItemResult) -> dict[str, Any]:
        value = item.result.registered()
        value[task.loop_control.loop_var] = item.item
        value["item"] = item.item
        if task.loop_control.label is not None:
            value["_label"] = item.item_label
        return value

    def _no_log(self, task: Task, variables: Any) -> bool:
        try:
            return _truthy(self.templar.render(task.no_log, variables))
        except TemplateError:
            return True  # when in doubt, hide


def _hidden(result: Result) -> Result:
    return Result(
        changed=result.changed, failed=result.failed, skipped=result.skipped,
        unreachable=result.unreachable, msg=NO_LOG_MSG,
        data={"censored": NO_LOG_MSG},
    )


def _condition_text(conditions: Any) -> str:
    if isinstance(conditions, list):
        return " and ".join(str(c) for c in conditions)
    return str(conditions)


def _validation_text(task: Task, exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    loc = ".".join(str(p) for p in error.get("loc", ()))
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return f"module '{task.module}' has no argument '{loc}'"
    if error["type"] == "missing":
        return f"module '{task.module}' needs the argument '{loc}'"
    return f"module '{task.module}' argument '{loc}': {message}" if loc else message
