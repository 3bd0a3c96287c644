"""Checks that need the playbook and the inventory together, run before any host is
touched: every variable a template reads must be defined somewhere."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from runbook_engine.errors import InputError, Position, did_you_mean
from runbook_engine.loader.model import Play, Playbook, Task
from runbook_engine.loader.playbook import walk_tasks
from runbook_engine.templating import Templar, TemplateError

MAGIC = frozenset({
    "inventory_hostname", "inventory_hostname_short", "groups", "group_names", "hostvars",
    "play_hosts", "ansible_play_hosts", "ansible_play_batch", "ansible_play_hosts_all",
    "ansible_play_name", "playbook_dir", "role_path", "role_name", "ansible_check_mode",
    "ansible_diff_mode", "ansible_run_id", "omit", "item", "ansible_loop", "environment",
    "ansible_facts", "inventory_dir", "inventory_file", "ansible_version",
    "ansible_parent_role_names", "ansible_verbosity", "runbook_preapproved",
    "ansible_search_path", "ansible_failed_task", "ansible_failed_result",
})
# Expressions of these keywords are bare Jinja2 expressions, not `{{ }}` templates.
_EXPRESSIONS = ("when", "changed_when", "failed_when", "until")
_FACT_NAMES_USED_BY_MAGIC = {"ansible_check_mode", "ansible_diff_mode", "ansible_run_id",
                             "ansible_play_hosts", "ansible_play_batch", "ansible_play_name",
                             "ansible_play_hosts_all", "ansible_loop", "ansible_version",
                             "ansible_parent_role_names"}


def check_playbook(
    playbook: Playbook,
    inventory: Any,
    play_hosts: list[list[str]],
    extra_vars: Mapping[str, Any],
    templar: Templar,
) -> None:
    """Raise InputError at the first template that reads a variable nobody defines.

    A variable counts as defined when any source could define it for any host of the play:
    inventory, play, roles, vars files, `register`, `set_fact`, loop variables, facts,
    extra vars. Per-host gaps are still caught at run time, on that host only.
    """
    for play, hosts in zip(playbook.plays, play_hosts, strict=True):
        defined = _defined_names(play, inventory, hosts, extra_vars)
        for task in _all_tasks(play):
            _check_task(task, defined | _task_local_names(task), templar, play)


def _all_tasks(play: Play) -> Iterable[Task]:
    for section in (play.pre_tasks, play.tasks, play.post_tasks, play.handlers):
        yield from walk_tasks(section)


def _defined_names(
    play: Play, inventory: Any, hosts: list[str], extra_vars: Mapping[str, Any]
) -> set[str]:
    names = set(MAGIC) | set(extra_vars) | set(play.vars)
    for data in play.vars_files_data:
        names |= set(data)
    for param in play.params:
        names.add(param.name)
    for role in play.roles:
        names |= set(role.defaults) | set(role.vars) | set(role.params)
    for host in hosts:
        names |= set(inventory.host_vars(host))
    names |= set(inventory.host_vars("localhost")) if "localhost" in hosts else set()
    for task in _all_tasks(play):
        if task.register:
            names.add(task.register)
        if task.module in ("set_fact", "include_vars"):
            names |= {str(k) for k in task.args if k != "cacheable"}
            if task.module == "include_vars":
                names.add("*")  # a file's names are only known when it is read
        names |= set(task.vars)
        names.add(task.loop_control.loop_var)
        if task.loop_control.index_var:
            names.add(task.loop_control.index_var)
    return names


def _task_local_names(task: Task) -> set[str]:
    names = set(task.vars)
    if task.role is not None:
        names |= set(task.role.defaults) | set(task.role.vars) | set(task.role.params)
    return names


def _check_task(task: Task, defined: set[str], templar: Templar, play: Play) -> None:
    if "*" in defined:
        return
    checks: list[tuple[Any, bool, Position]] = []
    for key, value in task.args.items():
        checks.append((value, False, task.arg_positions.get(key, task.position)))
    for keyword in _EXPRESSIONS:
        value = getattr(task, keyword)
        if value:
            checks.append((value, True, task.position))
    for value in (task.loop, task.name, task.delegate_to, task.environment, task.vars):
        if value:
            checks.append((value, False, task.position))
    for value, expression, position in checks:
        try:
            names = templar.referenced_names(value, expression=expression)
        except TemplateError as exc:
            raise InputError(str(exc), position) from None
        if any(n.startswith("ansible_") and n not in _FACT_NAMES_USED_BY_MAGIC for n in names):
            play.uses_facts = True
        for name in sorted(names):
            if name in defined or name in templar.env.globals:
                continue
            if name.startswith("ansible_"):
                continue  # facts and connection variables
            raise InputError(
                f"undefined variable '{name}' (in task '{task.display_name}')",
                position,
                did_you_mean(name, defined) or
                "define it in vars:, the inventory, or pass it with -e "
                f"{name}=VALUE; use `{name} | default(...)` if it is optional",
            )
