"""Load a whole playbook (imports, roles, vars files) into `model.Playbook`, validating
everything before any host is touched. Every error is an InputError at file:line:column."""

from __future__ import annotations

import hashlib
import os
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from runbook_engine import modules as module_registry
from runbook_engine.connection.settings import CONNECTION_VARS
from runbook_engine.errors import InputError, Position, did_you_mean
from runbook_engine.loader.keywords import (
    INCLUDE_KEYWORDS,
    PLAY_KEYWORDS,
    TASK_KEYWORDS,
    PlayKeywords,
    RoleRefSpec,
    TaskKeywords,
    validate_keywords,
)
from runbook_engine.loader.model import LoopControl, Play, Playbook, RoleContext, Task
from runbook_engine.loader.yaml_source import YamlList, YamlMap, load_yaml_file
from runbook_engine.params import parse_param_specs
from runbook_engine.templating import is_template

# Task keywords a block passes down to the tasks inside it.
_INHERITED = (
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "delegate_to",
    "ignore_errors",
    "ignore_unreachable",
    "no_log",
    "check_mode",
    "diff",
    "any_errors_fatal",
    "timeout",
    "run_once",
)

VaultDecoder = Callable[[str, Path], str]

# Accepted by Ansible, refused here rather than silently ignored.
_UNSUPPORTED_PLAY_KEYWORDS = {
    "vars_prompt": "declare runbook params: (validated, prompted on a terminal, -p in CI)",
    "remote_user": "set ansible_user in the inventory (host, group or group_vars) or -e",
    "connection": "set ansible_connection in the inventory; localhost is local already",
    "module_defaults": "give the arguments on each task, or use a variable",
}


def _refuse_connection_vars(
    values: Mapping[str, Any], where: str, fallback: Position | None = None
) -> None:
    """Connection variables in a play's, task's or role's vars would be ignored: the run
    keeps one connection per host, made from the inventory (and -e), for all its tasks.
    Reported at the name's own position when `values` was read from YAML."""
    name = next((n for n in values if n in CONNECTION_VARS), None)
    if name is None:
        return
    at = values.key_positions.get(name) if isinstance(values, YamlMap) else None
    raise InputError(
        f"{where}: {name} is a connection variable: it is read from the inventory "
        "or -e, not from a playbook",
        at or fallback,
        f"set {name} on the hosts or groups in the inventory, or give -e {name}=...",
    )


@dataclass
class _Scope:
    """What a task inherits from the blocks, imports and role around it."""

    file: Path
    role: RoleContext | None = None
    when: list[Any] = field(default_factory=list)
    tags: frozenset[str] = frozenset()
    vars: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    keywords: dict[str, Any] = field(default_factory=dict)
    handler: bool = False

    def child(self, **changes: Any) -> _Scope:
        values = {
            "file": self.file,
            "role": self.role,
            "when": list(self.when),
            "tags": self.tags,
            "vars": dict(self.vars),
            "environment": dict(self.environment),
            "keywords": dict(self.keywords),
            "handler": self.handler,
        }
        values.update(changes)
        return _Scope(**values)


def _tags(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, list):
        return frozenset(str(v) for v in value)
    return frozenset(t.strip() for t in str(value).split(",") if t.strip())


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def role_search_paths(playbook_dir: Path) -> list[Path]:
    paths = [playbook_dir / "roles", playbook_dir.parent / "roles", Path.cwd() / "roles"]
    for var in ("RUNBOOK_ROLES_PATH", "ANSIBLE_ROLES_PATH"):
        paths += [Path(p) for p in os.environ.get(var, "").split(":") if p]
    unique: list[Path] = []
    for p in paths:
        if p not in unique:
            unique.append(p)
    return unique


class PlaybookLoader:
    def __init__(
        self, path: Path, *, extra_vars: dict[str, Any] | None = None,
        vault: VaultDecoder | None = None,
    ) -> None:
        self.path = path.resolve()
        self.playbook_dir = self.path.parent
        self.extra_vars = extra_vars or {}
        self.vault = vault
        self.files: list[Path] = []
        self._hash = hashlib.sha256()
        self._roles_seen: dict[tuple[str, str], RoleContext] = {}
        self._import_stack: list[Path] = []
        self._play_vars: dict[str, Any] = {}
        self._current_play: Play | None = None

    # -- files -------------------------------------------------------------------
    def _read(self, path: Path, position: Position | None = None) -> Any:
        path = path.resolve()
        if not path.is_file():
            raise InputError(f"file not found: {path}", position)
        if path in self._import_stack:
            raise InputError(f"{path.name} imports itself (import loop)", position)
        data = load_yaml_file(path)
        self.files.append(path)
        self._hash.update(str(path).encode() + b"\0" + path.read_bytes())
        return data

    def _vars_file(self, path: Path, position: Position | None) -> dict[str, Any]:
        path = path.resolve()
        if not path.is_file():
            raise InputError(f"vars file not found: {path}", position)
        head = path.read_bytes()[:14]
        if head.startswith(b"$ANSIBLE_VAULT"):
            if self.vault is None:
                raise InputError(
                    f"{path.name} is vault-encrypted and no vault password was given",
                    position,
                    "pass --vault-password-file FILE or set RUNBOOK_VAULT_PASSWORD",
                )
            from runbook_engine.loader.yaml_source import load_yaml_text

            self.files.append(path)
            self._hash.update(path.read_bytes())
            data = load_yaml_text(self.vault(path.read_text(), path), str(path))
        else:
            data = self._read(path, position)
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise InputError("a vars file must be a mapping of names to values",
                             Position(str(path)))
        return data

    def _resolve_relative(self, name: str, scope: _Scope, kind: str, pos: Position | None) -> Path:
        if is_template(name):
            name = self._static_render(name, pos)
        candidates = []
        if Path(name).is_absolute():
            candidates.append(Path(name))
        else:
            if scope.role is not None:
                candidates.append(scope.role.path / kind / name)
            candidates += [scope.file.parent / name, self.playbook_dir / name]
        for c in candidates:
            if c.is_file():
                return c
        looked = ", ".join(dict.fromkeys(str(c.parent) for c in candidates))
        raise InputError(
            f"file not found: {name} (looked in {looked})",
            pos,
        )

    def _static_render(self, text: str, pos: Position | None) -> str:
        """File names may use extra vars and play vars: both are known before the run."""
        from runbook_engine.templating import Templar, TemplateError

        try:
            return str(Templar().render(text, {**self._play_vars, **self.extra_vars}))
        except TemplateError as exc:
            raise InputError(
                f"a file name must be known before the run: {exc}", pos,
                "only play vars and -e extra vars can be used in import/include file names",
            ) from None

    # -- playbook ----------------------------------------------------------------
    def load(self) -> Playbook:
        plays = self._load_plays_file(self.path)
        if not plays:
            raise InputError("the playbook has no plays", Position(str(self.path)))
        for index, play in enumerate(plays):
            _number_tasks(play, index)
        return Playbook(self.path, plays, self._hash.hexdigest(), self.files)

    def _load_plays_file(self, path: Path, position: Position | None = None) -> list[Play]:
        data = self._read(path, position)
        if data is None:
            return []
        if not isinstance(data, YamlList):
            raise InputError(
                "a playbook must be a list of plays (each starting with '- hosts: ...')",
                getattr(data, "position", None) or Position(str(path)),
            )
        self._import_stack.append(path.resolve())
        plays: list[Play] = []
        for index, entry in enumerate(data):
            pos = data.pos(index)
            if not isinstance(entry, YamlMap):
                raise InputError("a play must be a mapping", pos)
            if "import_playbook" in entry:
                target = (path.parent / str(entry["import_playbook"])).resolve()
                plays += self._load_plays_file(target, entry.pos("import_playbook"))
                continue
            plays.append(self._load_play(entry, path))
        self._import_stack.pop()
        return plays

    def _load_play(self, data: YamlMap, path: Path) -> Play:
        if not set(data) & PLAY_KEYWORDS:
            raise InputError(
                "this looks like a task, not a play: a playbook is a list of plays",
                data.position,
                "start the file with '- hosts: all' and put tasks under 'tasks:'",
            )
        kw = validate_keywords(PlayKeywords, data, "play")
        for key, hint in _UNSUPPORTED_PLAY_KEYWORDS.items():
            if data.get(key) is not None:
                raise InputError(f"play keyword '{key}' is not supported", data.pos(key), hint)
        play_vars = data.get("vars")
        if isinstance(play_vars, YamlMap):
            _refuse_connection_vars(play_vars, "play vars", play_vars.position)
        hosts = ",".join(kw.hosts) if isinstance(kw.hosts, list) else str(kw.hosts)
        play = Play(
            name=kw.name or hosts,
            hosts=hosts,
            position=data.position or Position(str(path)),
            vars=dict(data.get("vars") or {}),
            gather_facts=kw.gather_facts,
            become=kw.become,
            become_user=kw.become_user,
            become_method=kw.become_method,
            serial=[s for s in _as_list(kw.serial)],
            max_fail_percentage=kw.max_fail_percentage,
            any_errors_fatal=kw.any_errors_fatal,
            strategy=kw.strategy,
            tags=_tags(kw.tags),
            environment=dict(kw.environment or {}),
            params=parse_param_specs(data.get("params"), data.pos("params")),
            description=kw.description or "",
            notify=kw.notify,
            check_mode=kw.check_mode,
            ignore_unreachable=kw.ignore_unreachable,
            force_handlers=kw.force_handlers,
            order=kw.order,
        )
        self._play_vars = dict(play.vars)
        self._current_play = play
        for param in play.params:
            self._play_vars.setdefault(param.name, param.default)
        vars_files = _as_list(data.get("vars_files"))
        for i, name in enumerate(vars_files):
            pos = data["vars_files"].pos(i) if isinstance(data["vars_files"], YamlList) else None
            scope = _Scope(file=path)
            file = self._resolve_relative(str(name), scope, "vars", pos)
            loaded = self._vars_file(file, pos)
            _refuse_connection_vars(loaded, f"vars file {name}", pos)
            play.vars_files_data.append(loaded)
            self._play_vars.update(loaded)

        scope = _Scope(file=path, tags=play.tags)
        if play.environment:
            scope.environment = dict(play.environment)
        play.pre_tasks = self._tasks(data.get("pre_tasks"), scope, data.pos("pre_tasks"))
        for i, ref in enumerate(_as_list(data.get("roles"))):
            roles_list = data["roles"]
            pos = roles_list.pos(i) if isinstance(roles_list, YamlList) else data.pos("roles")
            play.tasks += self._role_from_play(ref, scope, pos, play)
        play.tasks += self._tasks(data.get("tasks"), scope, data.pos("tasks"))
        play.post_tasks = self._tasks(data.get("post_tasks"), scope, data.pos("post_tasks"))
        handler_scope = scope.child(handler=True)
        play.handlers = self._tasks(data.get("handlers"), handler_scope, data.pos("handlers"))
        for role in play.roles:
            play.handlers += role_handlers(self, role, handler_scope)
        _check_notify(play)
        return play

    # -- roles -------------------------------------------------------------------
    def _role_from_play(
        self, ref: Any, scope: _Scope, pos: Position | None, play: Play
    ) -> list[Task]:
        if isinstance(ref, str):
            name, params, ref_data = ref, {}, YamlMap()
            ref_data.position = pos
        elif isinstance(ref, YamlMap):
            spec = validate_keywords(RoleRefSpec, ref, "role")
            name = spec.role or spec.name or ""
            if not name:
                raise InputError("a role entry needs 'role: NAME'", ref.position)
            known = {"role", "name", "when", "tags", "vars", "become", "become_user"}
            params = YamlMap({k: v for k, v in ref.items() if k not in known})
            params.key_positions = {k: p for k, p in ref.key_positions.items() if k in params}
            role_vars = ref.get("vars") or {}
            params.update(role_vars)
            if isinstance(role_vars, YamlMap):
                params.key_positions.update(role_vars.key_positions)
            ref_data = ref
        else:
            raise InputError("a role entry must be a name or a mapping with 'role:'", pos)
        child = scope.child(
            when=scope.when + _as_list(ref_data.get("when")),
            tags=scope.tags | _tags(ref_data.get("tags")),
        )
        for key in ("become", "become_user"):
            if key in ref_data:
                child.keywords[key] = ref_data[key]
        return self._role_tasks(name, params, child, pos, play, "main")

    def _find_role(self, name: str, pos: Position | None) -> Path:
        if is_template(name):
            name = self._static_render(name, pos)
        search = role_search_paths(self.playbook_dir)
        for base in search:
            if (base / name).is_dir():
                return (base / name).resolve()
        available = sorted({p.name for base in search if base.is_dir() for p in base.iterdir()})
        raise InputError(
            f"role '{name}' not found (looked in {', '.join(str(p) for p in search)})",
            pos,
            did_you_mean(name, available),
        )

    def load_role(
        self, name: str, params: dict[str, Any], pos: Position | None,
        defaults_from: str = "main", vars_from: str = "main",
    ) -> RoleContext:
        path = self._find_role(name, pos)
        _refuse_connection_vars(params, f"role {path.name}", pos)
        role = RoleContext(name=path.name, path=path, params=dict(params))
        for sub, target, base in (("defaults", role.defaults, defaults_from),
                                  ("vars", role.vars, vars_from)):
            for ext in (".yml", ".yaml", ".json"):
                file = path / sub / f"{base}{ext}"
                if file.is_file():
                    loaded = self._vars_file(file, pos)
                    _refuse_connection_vars(loaded, f"role {path.name} {sub}/{file.name}", pos)
                    target.update(loaded)
                    break
        role.vars.update(params)
        return role

    def _role_tasks(
        self, name: str, params: dict[str, Any], scope: _Scope, pos: Position | None,
        play: Play, tasks_from: str, *, dedupe: bool = True,
        defaults_from: str = "main", vars_from: str = "main",
    ) -> list[Task]:
        role = self.load_role(name, params, pos, defaults_from, vars_from)
        key = (str(role.path), repr(sorted(params.items(), key=lambda kv: str(kv[0]))) + tasks_from)
        if dedupe and key in self._roles_seen:
            return []  # a role runs once per play, as in Ansible
        self._roles_seen[key] = role
        tasks: list[Task] = []
        for dep in self._role_dependencies(role):
            dep_name, dep_params, dep_pos = dep
            tasks += self._role_tasks(dep_name, dep_params, scope, dep_pos, play, "main")
        if role not in play.roles:
            play.roles.append(role)
        role_scope = scope.child(role=role, file=role.path / "tasks" / f"{tasks_from}.yml")
        file = _first_existing(role.path / "tasks", tasks_from)
        if file is not None:
            role_scope.file = file
            data = self._read(file, pos)
            tasks += self._tasks(data, role_scope, Position(str(file)))
        elif tasks_from != "main":
            raise InputError(f"role '{name}' has no tasks/{tasks_from}.yml", pos)
        return tasks

    def _role_dependencies(self, role: RoleContext) -> Iterable[tuple[str, dict, Position | None]]:
        meta = _first_existing(role.path / "meta", "main")
        if meta is None:
            return []
        data = self._read(meta)
        if not isinstance(data, YamlMap):
            return []
        deps = data.get("dependencies") or []
        found = []
        for i, dep in enumerate(deps):
            pos = deps.pos(i) if isinstance(deps, YamlList) else None
            if isinstance(dep, str):
                found.append((dep, {}, pos))
            elif isinstance(dep, YamlMap):
                name = dep.get("role") or dep.get("name")
                if not name:
                    raise InputError("a role dependency needs 'role: NAME'", pos)
                params = {k: v for k, v in dep.items() if k not in ("role", "name")}
                found.append((str(name), params, pos))
            else:
                raise InputError("a role dependency must be a name or a mapping", pos)
        return found

    # -- tasks -------------------------------------------------------------------
    def _tasks(self, data: Any, scope: _Scope, position: Position | None) -> list[Task]:
        if data is None:
            return []
        if not isinstance(data, YamlList):
            raise InputError("expected a list of tasks", getattr(data, "position", position))
        tasks: list[Task] = []
        for index, entry in enumerate(data):
            pos = data.pos(index)
            if not isinstance(entry, YamlMap):
                raise InputError(
                    "a task must be a mapping (did you forget the module name?)", pos
                )
            tasks += self._task(entry, scope)
        return tasks

    def _task(self, data: YamlMap, scope: _Scope) -> list[Task]:
        keys = set(data)
        actions = [k for k in keys if k not in TASK_KEYWORDS]
        is_block = "block" in data
        if is_block and actions:
            raise InputError(
                f"a block cannot also run a module ('{actions[0]}')", data.pos(actions[0])
            )
        if not is_block:
            if not actions:
                raise InputError(
                    "this task does not say what to run (no module name)", data.position,
                    "add a module, e.g. 'command: echo hello'",
                )
            for key in actions:
                if key not in INCLUDE_KEYWORDS and not module_registry.is_module(str(key)):
                    candidates = list(module_registry.available_modules()) + sorted(TASK_KEYWORDS)
                    raise InputError(
                        f"unknown module or task keyword '{key}'", data.pos(key),
                        did_you_mean(key, candidates),
                    )
            if len(actions) > 1:
                names = ", ".join(sorted(str(a) for a in actions))
                raise InputError(
                    f"a task runs one module, this one names several: {names}",
                    data.pos(sorted(actions, key=lambda k: data.pos(k).line)[1]),
                )
        keyword_data = YamlMap({k: v for k, v in data.items() if k in TASK_KEYWORDS})
        keyword_data.position = data.position
        keyword_data.key_positions = data.key_positions
        keyword_data.value_positions = data.value_positions
        kw = validate_keywords(TaskKeywords, keyword_data, "task", TASK_KEYWORDS)
        task = self._base_task(data, kw, scope)
        if is_block:
            return [self._block(data, task, scope)]
        action = str(actions[0])
        if action in INCLUDE_KEYWORDS:
            return self._include(action, data, task, scope)
        return [self._module_task(action, data, task, kw)]

    def _base_task(self, data: YamlMap, kw: TaskKeywords, scope: _Scope) -> Task:
        task = Task(kind="task", position=data.position or Position(str(scope.file)))
        task.name = kw.name or ""
        task.when = list(scope.when) + _as_list(kw.when)
        task.tags = scope.tags | _tags(kw.tags)
        task_vars = data.get("vars")
        if isinstance(task_vars, YamlMap):
            _refuse_connection_vars(task_vars, "vars", task_vars.position)
        task.vars = {**scope.vars, **(kw.vars or {})}
        task.environment = {**scope.environment, **(kw.environment or {})}
        task.role = scope.role
        task.handler = scope.handler
        task.search_paths = _search_paths(scope, self.playbook_dir)
        for key in _INHERITED:
            if key in scope.keywords:
                setattr(task, key, scope.keywords[key])
        for key in _INHERITED:
            if key in data:
                setattr(task, key, getattr(kw, key))
        task.register = kw.register_
        task.changed_when = None if kw.changed_when is None else _as_list(kw.changed_when)
        task.failed_when = None if kw.failed_when is None else _as_list(kw.failed_when)
        task.notify = [str(n) for n in _as_list(kw.notify)]
        task.listen = [str(n) for n in _as_list(kw.listen)]
        task.retries = kw.retries
        task.delay = kw.delay
        task.until = kw.until
        if kw.until is not None and kw.retries is None:
            task.retries = 3  # Ansible's default when only `until` is given
        task.loop = _loop_of(kw, data)
        if kw.loop_control is not None:
            task.loop_control = LoopControl(**kw.loop_control.model_dump())
        return task

    def _block(self, data: YamlMap, task: Task, scope: _Scope) -> Task:
        task.kind = "block"
        keywords = dict(scope.keywords)
        for key in _INHERITED:
            if key in data:
                keywords[key] = data[key]
        child = scope.child(
            when=task.when, tags=task.tags, vars=task.vars,
            environment=task.environment, keywords=keywords,
        )
        for part in ("block", "rescue", "always"):
            setattr(task, part, self._tasks(data.get(part), child, data.pos(part)))
        if not task.block:
            raise InputError("a block needs at least one task under 'block:'", data.pos("block"))
        return task

    def _include(self, action: str, data: YamlMap, task: Task, scope: _Scope) -> list[Task]:
        value = data[action]
        pos = data.value_pos(action)
        if action == "include":
            raise InputError(
                "'include' was removed from Ansible; use import_tasks or include_tasks", pos
            )
        if action == "meta":
            task.kind = "meta"
            task.module = "meta"
            task.args = {"action": str(value)}
            if str(value) not in ("flush_handlers", "noop", "end_play", "end_host",
                                  "clear_host_errors", "refresh_inventory"):
                raise InputError(f"unknown meta action '{value}'", pos,
                                 did_you_mean(value, ["flush_handlers", "noop", "end_play",
                                                      "end_host", "clear_host_errors"]))
            return [task]
        args: dict[str, Any]
        if isinstance(value, YamlMap):
            args = dict(value)
        elif isinstance(value, str):
            args = {"file": value} if action.endswith("tasks") else {"name": value}
        else:
            raise InputError(f"{action} expects a file name or a mapping", pos)
        args.update(data.get("args") or {})
        dynamic = action.startswith("include")
        # An import's conditions and vars go down to every task it brings; an include's
        # are evaluated once, when it is reached, so they stay on the include itself.
        child = scope.child(
            tags=task.tags,
            vars=task.vars if not dynamic else scope.vars,
            when=task.when if not dynamic else scope.when,
            environment=task.environment,
        )
        if dynamic:
            child.when = []
            child.vars = {}
        if action.endswith("tasks"):
            file_name = args.pop("file", None) or args.pop("_raw_params", None)
            if not file_name:
                raise InputError(f"{action} needs a file name", pos)
            task.vars = {**task.vars, **{k: v for k, v in args.items() if k != "apply"}}
            if not dynamic:
                child.vars = {**child.vars, **args}
            file = self._resolve_relative(str(file_name), scope, "tasks", pos)
            child.file = file
            data = self._read(file, pos)
            self._import_stack.append(file.resolve())
            body = self._tasks(data, child, Position(str(file)))
            self._import_stack.pop()
        else:
            name = args.pop("name", None) or args.pop("role", None)
            if not name:
                raise InputError(f"{action} needs 'name: ROLE'", pos)
            tasks_from = str(args.pop("tasks_from", "main")).removesuffix(".yml")
            defaults_from = str(args.pop("defaults_from", "main")).removesuffix(".yml")
            vars_from = str(args.pop("vars_from", "main")).removesuffix(".yml")
            args.pop("handlers_from", None)
            args.pop("public", None)
            args.pop("apply", None)
            assert self._current_play is not None
            body = self._role_tasks(
                str(name), {**args}, child, pos, self._current_play, tasks_from, dedupe=False,
                defaults_from=defaults_from, vars_from=vars_from,
            )
        if not dynamic:
            return body
        task.kind = "include"
        task.module = action
        task.block = body
        return [task]

    def _module_task(self, action: str, data: YamlMap, task: Task, kw: TaskKeywords) -> Task:
        module = module_registry.load_module(action)
        task.module = module_registry.canonical_name(action)
        raw = data[action]
        pos = data.pos(action)
        args = _module_args(module, raw, pos)
        if kw.args:
            args = {**kw.args, **args}
        task.args = args
        if isinstance(raw, YamlMap):
            task.arg_positions = {k: raw.pos(k) for k in raw}  # type: ignore[misc]
        check_module_args(module, task.module, args, raw, pos)
        if task.module == "set_fact":
            if isinstance(raw, YamlMap):  # at the name's line when written as a mapping
                _refuse_connection_vars(raw, "set_fact", pos)
            _refuse_connection_vars(args, "set_fact", pos)
        return task


def _first_existing(directory: Path, base: str) -> Path | None:
    for ext in (".yml", ".yaml", ""):
        candidate = directory / f"{base}{ext}"
        if candidate.is_file():
            return candidate
    return None


def role_handlers(loader: PlaybookLoader, role: RoleContext, scope: _Scope) -> list[Task]:
    file = _first_existing(role.path / "handlers", "main")
    if file is None:
        return []
    data = loader._read(file)
    return loader._tasks(data, scope.child(role=role, file=file), Position(str(file)))


def _search_paths(scope: _Scope, playbook_dir: Path) -> tuple[Path, ...]:
    paths = []
    if scope.role is not None:
        paths.append(scope.role.path)
    paths.append(scope.file.parent)
    if playbook_dir not in paths:
        paths.append(playbook_dir)
    return tuple(paths)


def _loop_of(kw: TaskKeywords, data: YamlMap) -> Any:
    given = [k for k in ("loop", "with_items", "with_list", "with_dict", "with_sequence")
             if data.get(k) is not None]
    if len(given) > 1:
        raise InputError(f"a task may have one loop, this one has {', '.join(given)}",
                         data.pos(given[1]))
    if not given:
        return None
    key = given[0]
    value = data[key]
    if key == "with_items":
        return {"flatten": value}
    if key == "with_dict":
        return {"dict2items": value}
    if key == "with_sequence":
        raise InputError("with_sequence is not supported; use loop with range()", data.pos(key),
                         "loop: \"{{ range(1, 11) | list }}\"")
    return value


def _module_args(module: Any, raw: Any, pos: Position | None) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return dict(raw)
    if isinstance(raw, str | int | float):
        text = str(raw)
        free_form = getattr(module, "FREE_FORM", None)
        fields = set(module.Args.model_fields) | {
            f.alias for f in module.Args.model_fields.values() if f.alias
        }
        words = _split_kv(text, pos)
        args: dict[str, Any] = {}
        rest: list[str] = []
        for word in words:
            key, sep, value = word.partition("=")
            if sep and key in fields and key != free_form:
                args[key] = value
            else:
                rest.append(word)
        if rest:
            if free_form is None:
                raise InputError(
                    f"cannot read module arguments '{text}': expected key=value words", pos,
                    "write the arguments as a mapping under the module name",
                )
            # keep the command as written, minus the key=value words we took out
            args[free_form] = text if len(rest) == len(words) else " ".join(rest)
        return args
    raise InputError(f"module arguments must be a mapping or a string, not {type(raw).__name__}",
                     pos)


def _split_kv(text: str, pos: Position | None) -> list[str]:
    try:
        return shlex.split(text, posix=True)
    except ValueError as exc:
        raise InputError(f"cannot read module arguments: {exc}", pos) from None


def check_module_args(
    module: Any, name: str, args: dict[str, Any], raw: Any, pos: Position | None
) -> None:
    """Validate what can be known before the run: argument names always; values only
    where they are not templates (those are validated again once rendered)."""
    templated = {k for k, v in args.items() if contains_template(v)}
    concrete = {k: v for k, v in args.items() if k not in templated}
    try:
        module.Args.model_validate(concrete)
    except ValidationError as exc:
        errors = sorted(exc.errors(include_url=False),
                        key=lambda e: e["type"] != "extra_forbidden")  # a typo explains a "missing"
        for error in errors:
            loc = error.get("loc", ())
            key = loc[0] if loc else None
            if error["type"] == "missing" and key in templated:
                continue
            if key in templated or (key is None and templated):
                continue  # judged again at run time, once the templates are rendered
            if error["type"] == "missing":
                # an alias may have been given under another name
                field = module.Args.model_fields.get(key)
                if field is not None and field.alias and field.alias in templated:
                    continue
            where = raw.pos(key) if isinstance(raw, YamlMap) and key in raw else pos
            fields = list(module.Args.model_fields) + [
                f.alias for f in module.Args.model_fields.values() if f.alias
            ]
            if error["type"] == "extra_forbidden":
                raise InputError(f"module '{name}' has no argument '{key}'", where,
                                 did_you_mean(key, fields) or
                                 f"its arguments are: {', '.join(sorted(fields))}") from None
            if error["type"] == "missing":
                raise InputError(f"module '{name}' needs the argument '{key}'", pos) from None
            message = error["msg"]
            if key is None or error["type"] in ("value_error", "assertion_error"):
                message = message.removeprefix("Value error, ")
                label = f"module '{name}'" if key is None else f"module '{name}' argument '{key}'"
                raise InputError(f"{label}: {message}", where) from None
            raise InputError(f"module '{name}' argument '{key}': {message}", where) from None


def contains_template(value: Any) -> bool:
    if isinstance(value, str):
        return is_template(value)
    if isinstance(value, dict):
        return any(contains_template(k) or contains_template(v) for k, v in value.items())
    if isinstance(value, list):
        return any(contains_template(v) for v in value)
    return False


def walk_tasks(tasks: Iterable[Task]) -> Iterable[Task]:
    for task in tasks:
        yield task
        yield from walk_tasks(task.block)
        yield from walk_tasks(task.rescue)
        yield from walk_tasks(task.always)


def _number_tasks(play: Play, play_index: int) -> None:
    order = 0
    for section in (play.pre_tasks, play.tasks, play.post_tasks, play.handlers):
        for task in walk_tasks(section):
            task.order = order
            task.task_id = f"{play_index}.{order}"
            order += 1
            if task.kind == "task" and not task.handler:
                play.task_count += 1


def _check_notify(play: Play) -> None:
    names: set[str] = set()
    for handler in walk_tasks(play.handlers):
        if handler.kind == "task":
            if handler.name:
                names.add(handler.name)
                if handler.role:
                    names.add(f"{handler.role.name} : {handler.name}")
            names.update(handler.listen)
    for section in (play.pre_tasks, play.tasks, play.post_tasks, play.handlers):
        for task in walk_tasks(section):
            for name in task.notify:
                if name not in names and not is_template(name):
                    raise InputError(
                        f"notify names a handler that does not exist: '{name}'", task.position,
                        did_you_mean(name, names) or "define it under the play's handlers:",
                    )


def load_playbook(
    path: str | Path, *, extra_vars: dict[str, Any] | None = None,
    vault: VaultDecoder | None = None,
) -> Playbook:
    return PlaybookLoader(Path(path), extra_vars=extra_vars, vault=vault).load()
