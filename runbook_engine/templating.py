"""One sandboxed Jinja2 environment for the whole run.

- `ImmutableSandboxedEnvironment`: templates can't reach Python internals nor mutate the
  variables they are given.
- Undefined variables fail loudly (`StrictUndefined`), but `x.y` on an undefined `x` stays
  undefined until used, so `x.y | default(1)` and `x.y is defined` work as in Ansible.
- A string that is exactly one `{{ expression }}` renders to the expression's native value
  (a list stays a list); anything else renders to a string.
- Compiled templates are cached by source text (and whitespace options), and variables
  are handed to Jinja2 as a ChainMap, never copied: rendering is on the hot path of every
  task on every host, and a variable is rendered only if a template reads it.
"""

from __future__ import annotations

import re
from collections import ChainMap
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.exceptions import TemplateError as JinjaTemplateError
from jinja2.runtime import Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from runbook_engine.errors import RunbookError


class TemplateError(RunbookError):
    """A template failed to compile or render (undefined variable, bad filter...)."""


@contextmanager
def _reported(where: str) -> Iterator[None]:
    """Every failure inside a template becomes one TemplateError naming the template."""
    try:
        yield
    except TemplateError:
        raise
    except UndefinedError as exc:
        raise TemplateError(f"{exc.message or 'undefined variable'} in {where}") from None
    except SecurityError as exc:
        raise TemplateError(f"not allowed in a template: {exc} in {where}") from None
    except JinjaTemplateError as exc:
        raise TemplateError(f"{exc} in {where}") from None
    except Exception as exc:  # filters raise anything; report, don't crash
        raise TemplateError(f"{type(exc).__name__}: {exc} in {where}") from None


def _snippet(source: str) -> str:
    text = source if len(source) <= 80 else source[:77] + "..."
    return repr(text)


def _where_in(source: str, template: Any, exc: BaseException) -> str:
    """Where a template failed: the line of a template file, or the one-line text."""
    lines = source.splitlines()
    if len(lines) <= 1:
        return _snippet(source)
    # Jinja2 compiles a template to Python named "<template>"; its debug info maps the
    # compiled line the error was raised at back to the template's line.
    compiled_line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            compiled_line = tb.tb_lineno
        tb = tb.tb_next
    if compiled_line is None:
        return _snippet(source)
    line = template.get_corresponding_lineno(compiled_line)
    if not 1 <= line <= len(lines):
        return _snippet(source)
    return f"line {line}: {_snippet(lines[line - 1].strip())}"


MAX_RESULT_SIZE = 10_000_000  # characters or items one operator may produce


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox also bounds `'a' * 10**9`-style operators (memory exhaustion)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(count, int) and \
                        len(seq) * count > MAX_RESULT_SIZE:
                    raise SecurityError(f"'*' would build more than {MAX_RESULT_SIZE} items")
        if operator == "**" and isinstance(right, int) and right > 10_000:
            raise SecurityError("exponent too large")
        return super().call_binop(context, operator, left, right)


class RunbookUndefined(ChainableUndefined, StrictUndefined):
    """Strict when used, chainable when only looked into (`x.y | default(..)`)."""

    __slots__ = ()


# \Z, not $: "{{ x }}\n" is a string with a newline, not the native value of x
_SINGLE_EXPR = re.compile(r"^\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\Z", re.DOTALL)
_MARKERS = ("{{", "{%", "{#")
# Names a template may use without any inventory or playbook defining them.
_GUARD_TESTS = {"defined", "undefined", "none"}
_GUARD_FILTERS = {"default", "d", "mandatory"}


def is_template(value: Any) -> bool:
    return isinstance(value, str) and any(m in value for m in _MARKERS)


class Templar:
    """Renders values with one host's variables. Thread-safe; one per run."""

    def __init__(self, search_paths: Sequence[Path] = ()) -> None:
        self.search_paths = list(search_paths)
        self.env = _Sandbox(
            undefined=RunbookUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            extensions=["jinja2.ext.loopcontrols", "jinja2.ext.do"],
        )
        self._expressions: dict[str, Any] = {}
        self._templates: dict[tuple[str, bool, bool], Any] = {}
        # Ansible's whitespace options (`template` module): variants of the same sandbox
        self._whitespace_envs: dict[tuple[bool, bool], Any] = {(True, False): self.env}
        self._names: dict[tuple[str, bool], set[str]] = {}
        from runbook_engine import template_filters  # filters, tests, lookups

        template_filters.install(self)

    # -- compilation (cached) ----------------------------------------------------
    def _expression(self, source: str) -> Any:
        compiled = self._expressions.get(source)
        if compiled is None:
            try:
                compiled = self.env.compile_expression(source, undefined_to_none=False)
            except TemplateSyntaxError as exc:
                raise TemplateError(f"template syntax in {source!r}: {exc.message}") from None
            self._expressions[source] = compiled
        return compiled._template

    def _template(self, source: str, trim_blocks: bool = True,
                  lstrip_blocks: bool = False) -> Any:
        key = (source, trim_blocks, lstrip_blocks)
        compiled = self._templates.get(key)
        if compiled is None:
            env = self._whitespace_envs.get((trim_blocks, lstrip_blocks))
            if env is None:
                env = self._whitespace_envs[(trim_blocks, lstrip_blocks)] = self.env.overlay(
                    trim_blocks=trim_blocks, lstrip_blocks=lstrip_blocks)
            try:
                compiled = env.from_string(source)
            except TemplateSyntaxError as exc:
                raise TemplateError(f"template syntax: {exc.message} (line {exc.lineno})") from None
            self._templates[key] = compiled
        return compiled

    def _context(self, template: Any, variables: Mapping[str, Any]) -> Any:
        return template.new_context(ChainMap(variables, self.env.globals), shared=True)  # type: ignore[arg-type]

    # -- rendering -------------------------------------------------------------
    def evaluate(self, expression: Any, variables: Mapping[str, Any]) -> Any:
        """Evaluate a bare expression (`when`, `until`, `that`, `var`)."""
        if not isinstance(expression, str):
            return expression
        source = expression.strip()
        match = _SINGLE_EXPR.match(source)
        if match:  # `when: "{{ x }}"` is tolerated, as Ansible does
            source = match.group("expr").strip()
        template = self._expression(source)
        context = self._context(template, variables)
        with _reported(repr(expression)):
            for _ in template.root_render_func(context):
                pass
            result = context.vars["result"]
            if isinstance(result, Undefined):
                result._fail_with_undefined_error()
        return result

    def render_string(self, source: str, variables: Mapping[str, Any], *,
                      trim_blocks: bool = True, lstrip_blocks: bool = False) -> str:
        """Render a whole template text (the `template` module) to a string. Variables are
        read when the template uses them, never all copied (an unused one that cannot be
        rendered does not matter)."""
        template = self._template(source, trim_blocks, lstrip_blocks)
        context = self._context(template, variables)
        try:
            return self.env.concat(template.root_render_func(context))  # type: ignore[attr-defined]
        except Exception as exc:
            with _reported(_where_in(source, template, exc)):
                raise

    def render(self, value: Any, variables: Mapping[str, Any]) -> Any:
        """Render strings inside any structure; non-templates are returned as they are."""
        if isinstance(value, str):
            if not any(m in value for m in _MARKERS):
                return value
            match = _SINGLE_EXPR.match(value)
            if match:
                return self.evaluate(match.group("expr"), variables)
            return self.render_string(value, variables)
        if isinstance(value, Mapping):
            return {self.render(k, variables): self.render(v, variables) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.render(v, variables) for v in value]
        return value

    def condition(self, expression: Any, variables: Mapping[str, Any]) -> bool:
        """A `when`-style condition: a list means all of them."""
        if isinstance(expression, list):
            return all(self.condition(e, variables) for e in expression)
        result = self.evaluate(expression, variables)
        if isinstance(result, str):
            return result.strip().lower() in ("true", "yes", "on", "1")
        return bool(result)

    # -- static analysis (load time) ---------------------------------------------
    def referenced_names(self, value: Any, *, expression: bool = False) -> set[str]:
        """Top-level variable names a value needs, minus those it guards itself with
        `is defined`, `| default(...)` and the like. Used to report undefined variables
        before any host is touched."""
        names: set[str] = set()
        for source, is_expr in _template_sources(value, expression):
            cached = self._names.get((source, is_expr))
            if cached is not None:
                names |= cached
                continue
            try:
                ast = self.env.parse(f"{{{{ {source} }}}}" if is_expr else source)
            except TemplateSyntaxError as exc:
                raise TemplateError(f"template syntax in {source!r}: {exc.message}") from None
            found = _needed_names(ast)
            self._names[(source, is_expr)] = found
            names |= found
        return names

    def add_filters(self, filters: Mapping[str, Callable[..., Any]]) -> None:
        self.env.filters.update(filters)

    def add_tests(self, tests: Mapping[str, Callable[..., Any]]) -> None:
        self.env.tests.update(tests)

    def add_globals(self, values: Mapping[str, Any]) -> None:
        self.env.globals.update(values)


def _template_sources(value: Any, expression: bool) -> Iterable[tuple[str, bool]]:
    if isinstance(value, str):
        if expression:
            match = _SINGLE_EXPR.match(value.strip())
            yield (match.group("expr") if match else value), True
        elif is_template(value):
            yield value, False
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _template_sources(k, False)
            yield from _template_sources(v, expression)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _template_sources(v, expression)


def _needed_names(ast: nodes.Template) -> set[str]:
    from jinja2 import meta

    undeclared = meta.find_undeclared_variables(ast)
    guarded: set[str] = set()
    for node in ast.find_all((nodes.Test, nodes.Filter)):
        name = node.name
        if (isinstance(node, nodes.Test) and name in _GUARD_TESTS) or (
            isinstance(node, nodes.Filter) and name in _GUARD_FILTERS
        ):
            root = node.node
            while isinstance(root, nodes.Getattr | nodes.Getitem):
                root = root.node
            if isinstance(root, nodes.Name):
                guarded.add(root.name)
    return set(undeclared) - guarded
