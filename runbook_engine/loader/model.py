"""The loaded playbook: plain dataclasses the executor walks. Built and validated by
`loader.playbook`; nothing here touches a host."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook_engine.errors import Position


@dataclass(slots=True)
class LoopControl:
    """A task's `loop_control`."""

    loop_var: str = "item"
    index_var: str | None = None
    label: str | None = None
    pause: float = 0
    extended: bool = False


@dataclass(eq=False, slots=True)
class RoleContext:
    """A role as one play uses it: where its files are and its variable layers."""

    name: str
    path: Path
    defaults: dict[str, Any] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False, slots=True)
class Task:
    """One task, block, include or meta action, in source order.

    `kind` is "task", "block", "include" (include_tasks / include_role: dynamic, may loop)
    or "meta". `order` is the task's index in a depth-first walk of the play; the linear
    strategy always runs the pending task with the lowest order next.
    """

    kind: str
    position: Position
    name: str = ""
    module: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    arg_positions: dict[str, Position] = field(default_factory=dict)
    when: list[Any] = field(default_factory=list)
    loop: Any = None
    loop_control: LoopControl = field(default_factory=LoopControl)
    register: str | None = None
    changed_when: list[Any] | None = None
    failed_when: list[Any] | None = None
    ignore_errors: Any = False
    ignore_unreachable: bool = False
    notify: list[str] = field(default_factory=list)
    listen: list[str] = field(default_factory=list)
    tags: frozenset[str] = frozenset()
    no_log: Any = False
    become: bool | None = None
    become_user: str | None = None
    become_method: str | None = None
    become_flags: str | None = None
    delegate_to: str | None = None
    run_once: bool = False
    retries: Any = None
    delay: Any = 5
    until: Any = None
    timeout: Any = None
    environment: dict[str, Any] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)
    check_mode: Any = None
    diff: Any = None
    any_errors_fatal: bool | None = None
    # blocks and includes
    block: list[Task] = field(default_factory=list)
    rescue: list[Task] = field(default_factory=list)
    always: list[Task] = field(default_factory=list)
    # where the task came from
    role: RoleContext | None = None
    search_paths: tuple[Path, ...] = ()
    task_id: str = ""
    order: int = 0
    handler: bool = False

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        if self.kind == "block":
            return "block"
        prefix = f"{self.role.name} : " if self.role else ""
        return f"{prefix}{self.module}"


@dataclass(eq=False, slots=True)
class Play:
    """One play of a playbook, as loaded and checked."""

    name: str
    hosts: str
    position: Position
    vars: dict[str, Any] = field(default_factory=dict)
    vars_files_data: list[dict[str, Any]] = field(default_factory=list)
    pre_tasks: list[Task] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)  # roles' tasks first, then the play's
    post_tasks: list[Task] = field(default_factory=list)
    handlers: list[Task] = field(default_factory=list)
    gather_facts: bool | None = None
    become: bool = False
    become_user: str | None = None
    become_method: str | None = None
    serial: list[int | str] = field(default_factory=list)
    max_fail_percentage: float | None = None
    any_errors_fatal: bool = False
    strategy: str = "linear"
    tags: frozenset[str] = frozenset()
    environment: dict[str, Any] = field(default_factory=dict)
    params: list[Any] = field(default_factory=list)  # runbook_engine.params.ParamSpec
    description: str = ""
    notify: Any = None
    roles: list[RoleContext] = field(default_factory=list)
    check_mode: Any = None
    ignore_unreachable: bool = False
    force_handlers: bool = False
    uses_facts: bool = False
    order: str = "inventory"  # host order: inventory|sorted|reverse_inventory|reverse_sorted
    task_count: int = 0  # tasks in pre_tasks, roles, tasks and post_tasks (not handlers)


@dataclass(eq=False, slots=True)
class Playbook:
    """A loaded playbook: its plays and the files it was read from."""

    path: Path
    plays: list[Play]
    sha256: str
    files: list[Path] = field(default_factory=list)  # every file read, for resume checks
