"""sdd's data classes (`sdd.core.light_dataclass`) against the standard module's, side by side.

For random classes (fields with and without defaults, factories, fields left out of `==`,
frozen or not) and random values, the two make classes that construct, compare, hash, show,
replace, turn to dicts, list their fields and refuse what they refuse the same way. mypy types every sdd
class as the standard module's (sdd.core.structs), so any difference would be a lie to it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar  # noqa: F401 -- the standard module looks for ClassVar by name in the class's module

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import imported
from sdd.core import light_dataclass as light

NAMES = st.lists(
    st.sampled_from(["a", "b", "c", "d", "name", "items", "when"]),
    min_size=0,
    max_size=5,
    unique=True,
)
VALUES = st.one_of(st.integers(-5, 5), st.text(max_size=3), st.none(), st.booleans())


@st.composite
def class_specs(draw: Any) -> tuple[list[tuple[str, str, Any, bool]], bool]:
    """Fields as (name, kind, default, compare) where kind is required/default/factory."""
    names = draw(NAMES)
    specs = []
    defaults_started = False
    for name in names:
        kinds = ["default", "factory"] if defaults_started else ["required", "default", "factory"]
        kind = draw(st.sampled_from(kinds))
        defaults_started = defaults_started or kind != "required"
        specs.append((name, kind, draw(VALUES), draw(st.booleans())))
    return specs, draw(st.booleans())


def _make(module: Any, specs: list[tuple[str, str, Any, bool]], frozen: bool) -> type:
    namespace: dict[str, Any] = {"__annotations__": {}, "__doc__": "a class"}
    for name, kind, default, compare in specs:
        namespace["__annotations__"][name] = "Any"
        if kind == "default":
            namespace[name] = module.field(default=default, compare=compare)
        elif kind == "factory":
            namespace[name] = module.field(default_factory=list, compare=compare)
        elif not compare:
            namespace[name] = module.field(compare=False)
    namespace["__annotations__"]["LIMIT"] = "ClassVar[int]"
    namespace["LIMIT"] = 3
    made = type("Made", (), namespace)
    return module.dataclass(frozen=frozen)(made)  # type: ignore[no-any-return]


def same_hash(first: Any, second: Any) -> bool:
    return hash(first) == hash(second)


def _outcome(action: Any, *args: Any) -> Any:
    try:
        return ("ok", action(*args))
    except Exception as error:  # both sides' errors are compared by kind
        return ("error", type(error).__name__.replace("FrozenInstanceError", "Frozen"))


@settings(max_examples=150, deadline=None)
@given(class_specs(), st.lists(VALUES, max_size=6), st.lists(VALUES, max_size=6))
def test_same_behaviour_as_the_standard_module(
    spec: tuple[list[tuple[str, str, Any, bool]], bool], first: list[Any], second: list[Any]
) -> None:
    specs, frozen = spec
    standard = _make(dataclasses, specs, frozen)
    ours = _make(light, specs, frozen)

    def build(cls: type, values: list[Any]) -> Any:
        return cls(*values[: len(specs)])

    def by_name(cls: type, values: list[Any], extra: dict[str, Any]) -> str:
        names = [name for name, _, _, _ in specs]
        return repr(cls(**dict(zip(names, values, strict=False)), **extra))

    def shown(cls: type, values: list[Any]) -> str:
        return repr(build(cls, values))

    # Twice: a class's first instances bind their arguments; later ones run a compiled
    # __init__ (light_dataclass._COMPILE_AFTER).
    for phase in ("bound", "compiled"):
        if phase == "compiled":
            for _ in range(light._COMPILE_AFTER + 1):
                _outcome(shown, ours, first)
        _compare(standard, ours, specs, first, second, build, shown, by_name)


def _compare(
    standard: type,
    ours: type,
    specs: list[tuple[str, str, Any, bool]],
    first: list[Any],
    second: list[Any],
    build: Any,
    shown: Any,
    by_name: Any,
) -> None:
    required = [name for name, kind, _, _ in specs if kind == "required"]
    for values in (first, second):
        assert _outcome(shown, standard, values) == _outcome(shown, ours, values)
        for extra in ({}, {"unknown": 1}, {specs[0][0]: 2} if specs else {}):
            assert _outcome(by_name, standard, values, extra) == _outcome(
                by_name, ours, values, extra
            )
    if len(first) < len(required) or len(second) < len(required):
        return
    a_std, b_std = build(standard, first), build(standard, second)
    a_ours, b_ours = build(ours, first), build(ours, second)
    assert (a_std == b_std) == (a_ours == b_ours)
    assert (a_std == a_std) == (a_ours == a_ours)
    assert (a_ours == object()) is False
    assert _outcome(same_hash, a_std, b_std) == _outcome(same_hash, a_ours, b_ours)
    assert [f.name for f in dataclasses.fields(a_std)] == [f.name for f in light.fields(a_ours)]
    assert dataclasses.asdict(a_std) == light.asdict(a_ours)
    assert ours.__match_args__ == standard.__match_args__  # type: ignore[attr-defined]
    assert ours.LIMIT == 3 and light.is_dataclass(a_ours) and light.is_dataclass(ours)  # type: ignore[attr-defined]
    for name, _, _, _ in specs:
        changed_std = dataclasses.replace(a_std, **{name: "new"})
        changed_ours = light.replace(a_ours, **{name: "new"})
        assert repr(changed_std) == repr(changed_ours)
        assert _outcome(setattr, a_std, name, 1) == _outcome(setattr, a_ours, name, 1)
        assert _outcome(delattr, b_std, name) == _outcome(delattr, b_ours, name)


def test_factories_make_a_new_value_for_each_instance() -> None:
    @light.dataclass
    class Basket:
        """a basket"""

        items: list[int] = light.field(default_factory=list)

    first, second = Basket(), Basket()
    first.items.append(1)
    assert second.items == [] and first.items == [1]


def test_post_init_runs_after_the_fields_are_set() -> None:
    @light.dataclass(frozen=True)
    class Span:
        """a span"""

        low: int
        high: int

        def __post_init__(self) -> None:
            if self.low > self.high:
                raise ValueError("low above high")

    assert Span(1, 2).high == 2
    with pytest.raises(ValueError, match="low above high"):
        Span(3, 2)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("a: int = 1\n    b: int", TypeError),  # a required field after a default
        ("a: list = []", ValueError),  # a shared mutable default
    ],
)
def test_refuses_what_the_standard_module_refuses(body: str, error: type[Exception]) -> None:
    for module in (dataclasses, light):
        source = f"@dataclass\nclass Bad:\n    {body}\n"
        with pytest.raises(error):
            exec(source, {"dataclass": module.dataclass})


def test_a_class_made_from_another_is_refused_not_half_made() -> None:
    @light.dataclass
    class Base:
        """a base"""

        a: int

    with pytest.raises(TypeError, match="not supported"):

        @light.dataclass
        class Child(Base):
            """a child"""

            b: int


def test_field_metadata_is_kept_and_read_only() -> None:
    @light.dataclass
    class Secret:
        """a secret"""

        code: str = light.field(default="", metadata={"json": False})

    (only,) = light.fields(Secret)
    assert only.metadata["json"] is False
    with pytest.raises(TypeError):
        only.metadata["json"] = True  # type: ignore[index]


def test_an_sdd_command_never_imports_the_standard_module(project: Path) -> None:
    """The point of the module: a command's start-up without `dataclasses` and `inspect`."""
    loaded = imported(project, "findings", "add", "--stage", "spec", "--severity", "minor", "x")
    assert not {"dataclasses", "inspect"} & loaded


def test_the_standard_module_does_not_take_them_for_its_own() -> None:
    """A library that asks `dataclasses.is_dataclass` gets False, not a class whose fields
    its `dataclasses.fields` would fail to read."""

    @light.dataclass
    class Plain:
        """a plain one"""

        a: int = 1

    assert light.is_dataclass(Plain) and not dataclasses.is_dataclass(Plain)
