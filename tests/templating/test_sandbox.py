"""Templates come from inventories and playbooks: they must not reach Python internals
nor change the variables they are rendered with."""

from __future__ import annotations

import pytest

from runbook_engine.templating import Templar, TemplateError


@pytest.mark.parametrize(
    "expr",
    [
        "''.__class__.__mro__[1].__subclasses__()",
        "x.__class__",
        "lookup.__globals__",
        "now.__globals__['os']",
        "(1).__class__.__base__.__subclasses__()",
        "cycler.__init__.__globals__",
        "lookup('env', 'HOME').__class__",
    ],
)
def test_dunder_walks_are_blocked(templar: Templar, expr: str) -> None:
    with pytest.raises(TemplateError, match=r"not allowed in a template: access to .* unsafe"):
        templar.evaluate(expr, {"x": "a"})


def test_format_string_cannot_reach_attributes(templar: Templar) -> None:
    with pytest.raises(TemplateError, match="attribute '__class__' of 'int' object is unsafe"):
        templar.evaluate("'{0.__class__}'.format(x)", {"x": 1})


@pytest.mark.parametrize(
    "template",
    [
        "{% do items.append(4) %}",
        "{{ items.pop() }}",
        "{{ conf.update({'b': 2}) }}",
        "{% do conf.clear() %}",
        "{{ conf.setdefault('c', 3) }}",
    ],
)
def test_templates_cannot_mutate_variables(templar: Templar, template: str) -> None:
    items = [1, 2, 3]
    conf = {"a": 1}
    with pytest.raises(TemplateError, match="not allowed in a template"):
        templar.render(template, {"items": items, "conf": conf})
    assert items == [1, 2, 3]
    assert conf == {"a": 1}


def test_filters_return_new_values(templar: Templar) -> None:
    base = {"a": {"x": 1}, "l": [2, 1]}
    variables = {"base": base}
    templar.evaluate("base | combine({'a': {'y': 2}}, recursive=True)", variables)
    templar.evaluate("base.l | shuffle", variables)
    templar.evaluate("base.l | union([3])", variables)
    assert base == {"a": {"x": 1}, "l": [2, 1]}


def test_set_inside_template_stays_local(templar: Templar) -> None:
    variables = {"name": "outer"}
    assert templar.render("{% set name = 'inner' %}{{ name }}", variables) == "inner"
    assert variables == {"name": "outer"}


def test_filters_on_undefined_input_name_the_variable(templar: Templar) -> None:
    with pytest.raises(TemplateError, match="'secret_key' is undefined"):
        templar.evaluate("secret_key | b64encode", {})


@pytest.mark.parametrize(
    "expr",
    [
        "range(20) | product(range(20), range(20), range(20))",
        "range(12) | permutations",
        "range(40) | combinations(10)",
        "query('sequence', 'start=1 end=1000000')",
    ],
)
def test_combinatorial_filters_are_bounded(templar: Templar, expr: str) -> None:
    with pytest.raises(TemplateError, match=r"would make \d+ items \(the limit is 100000\)"):
        templar.evaluate(expr, {})
