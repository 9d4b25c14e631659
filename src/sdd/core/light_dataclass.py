"""The part of `dataclasses` sdd uses, made without its start-up cost.

Every sdd command defines about fifty data classes before it reads a byte of the project.
The standard module costs a command about three bare interpreters' worth of start-up on its
own: importing it brings `inspect`, `ast`, `dis` and `tokenize`, and each class it makes
compiles four to six methods one `exec` at a time. This module imports nothing heavy and
compiles one method, `__init__`, and only for a class instantiated many times (the first
instances bind their arguments in a shared function); the others are shared functions that
read the fields with `operator.attrgetter`.

What it makes behaves as `dataclasses` makes it (tests/test_light_dataclass.py holds the two
side by side): fields in annotation order, `ClassVar` left out, a default or a
`field(default=, default_factory=, compare=, metadata=)`, `__post_init__`, `frozen=True`
(assignment raises `FrozenInstanceError`, the instance hashes its compared fields), `__eq__`
between instances of one class, `__repr__`, `__match_args__`, and `fields`, `replace` and
`is_dataclass`. What sdd does not use (inheritance between data classes, `InitVar`,
`kw_only`, `slots`, `order`) is refused where a class asks for it, never half-made.

mypy reads the standard module in this one's place (`sdd.core.structs`), so a class is typed
as a dataclass is.
"""

from __future__ import annotations

from operator import attrgetter
from types import MappingProxyType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a frozen instance."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
_EMPTY: Mapping[Any, Any] = MappingProxyType({})
_MADE_UNLESS_DEFINED = ("__init__", "__repr__", "__eq__")
# Not dataclasses' own attribute: its functions would take these classes for theirs and
# fail on fields of another kind (and so would a library that asks it).
_FIELDS = "__sdd_dataclass_fields__"


class Field:
    """One field: its name, its default or the factory that makes one, whether `==` compares
    it, and free metadata (`jsonable.OMIT`)."""

    __slots__ = ("compare", "default", "default_factory", "metadata", "name")

    def __init__(
        self,
        default: Any,
        default_factory: Any,
        compare: bool,
        metadata: Mapping[Any, Any] | None,
    ) -> None:
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.compare = compare
        self.metadata: Mapping[Any, Any] = (
            _EMPTY if metadata is None else MappingProxyType(dict(metadata))
        )

    def __repr__(self) -> str:
        return f"Field(name={self.name!r})"


def field(
    *,
    default: Any = MISSING,
    default_factory: Callable[[], Any] | Any = MISSING,
    compare: bool = True,
    metadata: Mapping[Any, Any] | None = None,
) -> Any:
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, compare, metadata)


def _is_class_var(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    assert isinstance(text, str)
    return text.startswith(("ClassVar", "typing.ClassVar"))


def _collect(cls: type) -> list[Field]:
    for base in cls.__mro__[1:]:
        if _FIELDS in base.__dict__:
            raise TypeError(f"{cls.__name__}: a data class made from another is not supported")
    made: list[Field] = []
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063 -- inspect is the import this module exists to avoid
        if _is_class_var(annotation):
            continue
        value = cls.__dict__.get(name, MISSING)
        made_field = value if isinstance(value, Field) else Field(value, MISSING, True, None)
        made_field.name = name
        if isinstance(made_field.default, (list, dict, set)):
            raise ValueError(
                f"mutable default {type(made_field.default)} for field {name} "
                "is not allowed: use default_factory"
            )
        if made_field.default is MISSING:
            if name in cls.__dict__:
                delattr(cls, name)  # the Field() that held only a factory
        else:
            setattr(cls, name, made_field.default)
        if _required(made_field) and any(not _required(earlier) for earlier in made):
            raise TypeError(f"non-default argument {name!r} follows default argument")
        made.append(made_field)
    return made


def _required(item: Field) -> bool:
    return item.default is MISSING and item.default_factory is MISSING


def _init_source(cls: type, made: list[Field], frozen: bool) -> str:
    """``__init__`` as text, as `dataclasses` writes it: compiled the first time the class is
    instantiated (a command defines many classes and makes instances of few)."""
    params = ["self"]
    body = []
    for item in made:
        name = item.name
        if item.default is not MISSING:
            params.append(f"{name}=_default_{name}")
            value = name
        elif item.default_factory is not MISSING:
            params.append(f"{name}=_MISSING")
            value = f"_factory_{name}() if {name} is _MISSING else {name}"
        else:
            params.append(name)
            value = name
        if frozen:
            body.append(f"  _object_setattr(self, {name!r}, {value})")
        else:
            body.append(f"  self.{name} = {value}")
    if "__post_init__" in cls.__dict__:
        body.append("  self.__post_init__()")
    return f"def __init__({', '.join(params)}):\n" + "\n".join(body or ["  pass"]) + "\n"


def _compile_init(cls: type, made: list[Field], frozen: bool) -> Callable[..., None]:
    scope: dict[str, Any] = {"_MISSING": MISSING, "_object_setattr": object.__setattr__}
    for item in made:
        scope[f"_default_{item.name}"] = item.default
        scope[f"_factory_{item.name}"] = item.default_factory
    code = compile(_init_source(cls, made, frozen), f"<dataclass {cls.__qualname__}>", "exec")
    exec(code, scope)  # text made above from the class's field names only, as dataclasses does
    init: Callable[..., None] = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


# A class's first instances are made by binding the arguments here; one made many times
# gets an __init__ compiled as dataclasses writes it (a compile costs what ~50 bindings do).
_COMPILE_AFTER = 16


def _binder(
    cls: type, made: list[Field], frozen: bool
) -> Callable[[Any, tuple[Any, ...], dict[str, Any]], None]:
    """What the compiled ``__init__`` does, for the arguments as given: the same values
    set, the same TypeError for an argument too many, twice, unknown or missing."""
    names = [item.name for item in made]
    known = frozenset(names)
    post_init = "__post_init__" in cls.__dict__
    store: Callable[[Any, str, Any], None] = object.__setattr__ if frozen else setattr
    where = f"{cls.__qualname__}.__init__()"

    def bind(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if len(args) > len(names):
            raise TypeError(
                f"{where} takes {len(names) + 1} positional arguments but {len(args) + 1} were given"
            )
        values = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key in values:
                raise TypeError(f"{where} got multiple values for argument {key!r}")
            if key not in known:
                raise TypeError(f"{where} got an unexpected keyword argument {key!r}")
            values[key] = value
        missing = [item.name for item in made if item.name not in values and _required(item)]
        if missing:
            raise TypeError(f"{where} missing {len(missing)} required argument(s): {missing}")
        for item in made:
            if item.name in values:
                store(instance, item.name, values[item.name])
            elif item.default is not MISSING:
                store(instance, item.name, item.default)
            else:
                store(instance, item.name, item.default_factory())
        if post_init:
            instance.__post_init__()

    return bind


def _values_of(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """A function from an instance to the tuple of those fields (C speed, no compiling)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        (name,) = names
        return lambda instance: (getattr(instance, name),)
    return lambda instance: ()


def _methods(cls: type, made: list[Field], frozen: bool) -> dict[str, Any]:
    names = [item.name for item in made]
    compared = _values_of([item.name for item in made if item.compare])
    field_names = frozenset(names)

    bind = _binder(cls, made, frozen)
    calls = [0]

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        calls[0] += 1
        if calls[0] <= _COMPILE_AFTER:
            bind(self, args, kwargs)
            return
        init = _compile_init(cls, made, frozen)
        cls.__init__ = init  # type: ignore[misc]  # from now on the compiled one is called
        init(self, *args, **kwargs)

    def __repr__(self: Any) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{self.__class__.__qualname__}({shown})"

    def __eq__(self: Any, other: object) -> Any:
        if other.__class__ is self.__class__:
            return compared(self) == compared(other)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(compared(self))

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if self.__class__ is cls or name in field_names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        object.__setattr__(self, name, value)

    def __delattr__(self: Any, name: str) -> None:
        if self.__class__ is cls or name in field_names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        object.__delattr__(self, name)

    return {
        "__init__": __init__,
        "__repr__": __repr__,
        "__eq__": __eq__,
        "__hash__": __hash__,
        "__setattr__": __setattr__,
        "__delattr__": __delattr__,
    }


def _process(cls: type, frozen: bool) -> type:
    made = _collect(cls)
    methods = _methods(cls, made, frozen)
    own = cls.__dict__
    # As dataclasses decides: a method the class writes itself is kept; a frozen class may
    # not write its own assignment; a hash the class writes itself is kept.
    explicit_hash = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
    chosen = {name: methods[name] for name in _MADE_UNLESS_DEFINED if name not in own}
    if frozen:
        for name in ("__setattr__", "__delattr__"):
            if name in own:
                raise TypeError(f"cannot overwrite attribute {name} in class {cls.__name__}")
            chosen[name] = methods[name]
    if not explicit_hash:
        chosen["__hash__"] = methods["__hash__"] if frozen else None
    for name, method in chosen.items():
        if method is not None:
            method.__qualname__ = f"{cls.__qualname__}.{name}"
        setattr(cls, name, method)
    setattr(cls, "__match_args__", tuple(item.name for item in made))  # noqa: B010 -- mypy would refuse the attribute on `type`
    setattr(cls, _FIELDS, {item.name: item for item in made})
    return cls


def dataclass(cls: type | None = None, /, *, frozen: bool = False) -> Any:
    if cls is None:
        return lambda later: _process(later, frozen)
    return _process(cls, frozen)


def fields(instance_or_class: Any) -> tuple[Field, ...]:
    try:
        found: dict[str, Field] = getattr(instance_or_class, _FIELDS)
    except AttributeError:
        raise TypeError("must be called with a dataclass type or instance") from None
    return tuple(found.values())


def is_dataclass(value: Any) -> bool:
    cls = value if isinstance(value, type) else type(value)
    return hasattr(cls, _FIELDS)


def replace(instance: Any, /, **changes: Any) -> Any:
    for item in fields(instance):
        if item.name not in changes:
            changes[item.name] = getattr(instance, item.name)
    return instance.__class__(**changes)


def asdict(instance: Any) -> Any:
    """Fields to a dict, recursively through data classes, lists, tuples and dicts; any other
    value deep-copied, as `dataclasses.asdict` does."""
    if is_dataclass(instance) and not isinstance(instance, type):
        return {item.name: asdict(getattr(instance, item.name)) for item in fields(instance)}
    if isinstance(instance, (list, tuple)):
        return type(instance)(asdict(value) for value in instance)
    if isinstance(instance, dict):
        return type(instance)((asdict(key), asdict(value)) for key, value in instance.items())
    import copy  # only tests and tools ask for a deep copy

    return copy.deepcopy(instance)
