"""The record kinds the history holds, and the fields each carries.

``Kind`` names every kind, so a misspelt kind in a writer fails the type check.
``SCHEMA`` gives each kind its fields and their types: writers are checked against it
when they record (``checked``), and `sdd doctor` checks every record read
(``mismatches``). Adding a kind: its name in ``Kind`` and its fields in ``SCHEMA``
(here), its handler in ``core.fold.HANDLERS`` and its sentence in
``usecases.log.DESCRIPTIONS``; tests/test_records.py names whichever is missing.

A field is *required* when the record means nothing without it (the cycle, session or
gate it is about); the fields that describe are *optional*: an absent one reads as
empty. Every field present must have its type. Fields the schema does not name are
allowed: readers ignore them.

The envelope (``id``, ``v``, ``type``, ``at``, ``prev``, ``hash``) is the history's own,
the same for every kind. Whatever every record gains later (the heads it was appended
after, a signature) belongs in ``ENVELOPE``; what sets a kind apart (a person's act that
must be signed, a record that may appear only once) belongs in its ``Schema``.
"""

from __future__ import annotations

import types

from sdd.core.structs import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Literal, TypeGuard

Record = dict[str, "Any"]  # a string: typing is imported for mypy only (start-up time)

if TYPE_CHECKING:
    Kind = Literal[
        "project.init",
        "template.base",
        "template.change",
        "cycle.open",
        "cycle.request",
        "cycle.move",
        "cycle.archive",
        "cycle.abandon",
        "stage.reopen",
        "session.start",
        "session.launch",
        "session.end",
        "session.exit",
        "gate.approve",
        "gate.reject",
        "question.answer",
        "finding.add",
        "finding.fix",
        "finding.waive",
        "task.reopen",
        "verification.verdict",
        "verification.problem",
        "verification.end",
        "verify.run",
        "rules.accept",
        "release",
        "history.migrate",
        "approver.add",
        "approver.revoke",
    ]
else:
    Kind = str  # what the Literal above narrows, at run time

# A field's type is written as Python spells it (``str``, ``int | None``,
# ``dict[str, str]``) and checked against the JSON value by ``conforms``.
FieldType = object


@dataclass(frozen=True)
class Schema:
    """A record kind's fields: those it must have and those it may have, with their types."""

    required: dict[str, FieldType] = field(default_factory=dict)
    optional: dict[str, FieldType] = field(default_factory=dict)


# The history's own fields: format 1 names the record before (``prev``), format 2 the
# heads it was appended after (``parents``) and, for a person's act, its signature.
ENVELOPE_V1 = Schema(
    required={"id": str, "v": int, "type": str, "at": str, "prev": str | None, "hash": str}
)
ENVELOPE = Schema(
    required={"id": str, "v": int, "type": str, "at": str, "parents": list[str], "hash": str},
    optional={"sig": dict[str, str]},
)

_BY = dict[str, str]  # who: a person's git name and e-mail, or the demo approver
_HASHES = dict[str, str]  # path -> content hash ("deleted" for a removed template)

SCHEMA: dict[Kind, Schema] = {
    "project.init": Schema(required={"name": str}, optional={"demo": bool, "format": int}),
    "template.base": Schema(required={"hashes": _HASHES}),
    "template.change": Schema(
        required={"hashes": _HASHES},
        optional={"cycle": int | None, "previous": dict[str, str | None], "source": str},
    ),
    "cycle.open": Schema(
        required={"cycle": int, "title": str, "slug": str},
        optional={"discovery": bool, "docs": str},
    ),
    # The person's request that a cycle starts from, in their words; ``document`` keeps it.
    "cycle.request": Schema(required={"cycle": int, "text": str}, optional={"document": str}),
    "cycle.move": Schema(required={"cycle": int, "docs": str, "moved": dict[str, str]}),
    "cycle.archive": Schema(required={"cycle": int}),
    "cycle.abandon": Schema(required={"cycle": int}, optional={"reason": str, "by": _BY}),
    "stage.reopen": Schema(
        required={"cycle": int, "stage": str},
        optional={"reason": str, "source": str, "caused_by": str},
    ),
    "session.start": Schema(
        required={"session": str, "cycle": int, "stage": str, "page": str},
        optional={
            "head": str | None,
            "dirty": dict[str, str],
            "agent": str | None,
            "task": str | None,
            "finding": str | None,
            "writes": list[str],
            "code": str | None,  # what the code was at ``head`` (``gitrepo.code_key``)
        },
    ),
    "session.launch": Schema(
        required={"session": str}, optional={"command": list[str], "log": str | None}
    ),
    "session.end": Schema(
        required={"session": str, "outcome": str},
        optional={
            "cycle": int,
            "head": str | None,
            "outputs": dict[str, str],
            "changed": list[str],
            "note": str | None,
            "exit_code": int | None,
            "reason": str | None,
            # What the session's commits did to the code, known again after a rebase or a
            # squash (`sdd ci check`): the code at ``head``, and each commit's patch id.
            "code": str | None,
            "patches": list[str],
        },
    ),
    # `sdd run`: the agent and every process it started have ended.
    "session.exit": Schema(required={"session": str}, optional={"exit_code": int | None}),
    "gate.approve": Schema(
        required={"cycle": int, "gate": str, "by": _BY, "docs": dict[str, str | None]},
        # ``verdicts``: the digest of the walkthrough's verdicts it decided on (user-approval)
        optional={"confirmed": str, "rules": str, "verdicts": str},
    ),
    "gate.reject": Schema(
        required={"cycle": int, "gate": str, "by": _BY, "docs": dict[str, str | None]},
        optional={"confirmed": str, "reason": str, "to": str | None, "rules": str},
    ),
    "question.answer": Schema(
        required={"question": str, "answer": str}, optional={"cycle": int | None, "by": _BY}
    ),
    "finding.add": Schema(
        required={"cycle": int, "finding": str, "severity": str, "stage": str, "text": str},
        optional={"escaped_from": str | None, "session": str | None, "source": str | None},
    ),
    # A fix session completed: the commit it ended at and the green verify run under it.
    "finding.fix": Schema(
        required={"cycle": int, "finding": str},
        optional={
            "finding_record": str | None,
            "session": str,
            "commit": str | None,
            "verify": str | None,
        },
    ),
    "finding.waive": Schema(
        required={"cycle": int, "finding": str, "by": _BY},
        optional={"finding_record": str, "reason": str},
    ),
    # A person reopens a done task (and may name the finding it reopens it for).
    "task.reopen": Schema(
        required={"cycle": int, "task": str, "by": _BY},
        optional={"reason": str, "finding": str | None, "finding_record": str | None},
    ),
    # The person's walkthrough of a prepared user verification (`sdd walkthrough`): a
    # verdict on one item, a problem no item covers, and the end of the walk.
    "verification.verdict": Schema(
        required={"session": str, "item": str, "verdict": str},
        optional={"note": str, "by": _BY},
    ),
    "verification.problem": Schema(
        required={"session": str, "text": str}, optional={"severity": str, "by": _BY}
    ),
    "verification.end": Schema(
        required={"session": str},
        optional={
            "cycle": int,
            "document": str,
            "findings": list[str],
            "digest": str,
            "by": _BY,
        },
    ),
    "verify.run": Schema(
        required={"ok": bool, "checks": list[dict[str, object]]},
        optional={
            "cycle": int | None,
            "session": str | None,
            "head": str | None,
            "clean": bool,
            "dirty": list[str],
            "detected": bool,
            "checks_fingerprint": str,
            "code": str | None,  # what the code was (outside docs/ and .sdd/), by content
        },
    ),
    # The rules (workflow, threshold, verify checks) in their normal form, accepted: at
    # `sdd init`, by a person (`sdd rules accept`), or by sdd for a change that weakens
    # nothing (``source`` says which).
    "rules.accept": Schema(
        required={"rules": dict[str, object], "fingerprint": str},
        optional={
            "source": str,
            "changes": list[dict[str, object]],
            "by": _BY,
            "confirmed": str,
        },
    ),
    "history.migrate": Schema(required={"from_format": int, "heads": list[str]}),
    "approver.add": Schema(
        required={"principal": str, "key": str},
        # ``roles``: which gates' team rules this approver meets (`[gates.NAME] roles`)
        optional={"recovery": bool, "by": _BY, "roles": list[str]},
    ),
    "approver.revoke": Schema(required={"fingerprint": str}, optional={"reason": str, "by": _BY}),
    "release": Schema(
        required={"cycle": int, "version": str},
        optional={
            "tag": str | None,
            "head": str | None,
            "verify": str,
            "approval": str | None,
            "minor": list[str],  # the minor findings still open: known issues of the release
        },
    ),
}

KINDS: frozenset[str] = frozenset(SCHEMA)


def is_kind(name: object) -> TypeGuard[Kind]:
    return name in KINDS


def conforms(value: object, expected: FieldType) -> bool:
    """Whether a JSON value has the type ``expected`` (a bool is not a number here)."""
    if isinstance(expected, types.UnionType):
        return any(conforms(value, option) for option in expected.__args__)
    if isinstance(expected, types.GenericAlias):
        origin, args = expected.__origin__, expected.__args__
        if origin is list:
            return isinstance(value, list) and all(conforms(v, args[0]) for v in value)
        if origin is dict:
            return isinstance(value, dict) and all(
                isinstance(k, str) and conforms(v, args[1]) for k, v in value.items()
            )
        raise TypeError(f"no JSON form for {expected}")
    if expected is object:
        return True
    if expected is type(None):
        return value is None
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    assert isinstance(expected, type), expected
    return isinstance(value, expected)


_NAMES: dict[object, tuple[str, str]] = {  # one, several
    str: ("a string", "strings"),
    int: ("a number", "numbers"),
    bool: ("true or false", "booleans"),
    type(None): ("null", "nulls"),
}


def spelled(expected: FieldType, *, several: bool = False) -> str:
    """A type in JSON's words: "a string or null", "an object of strings"."""
    if isinstance(expected, types.UnionType):
        return " or ".join(spelled(option, several=several) for option in expected.__args__)
    if isinstance(expected, types.GenericAlias):
        container = "list" if expected.__origin__ is list else "object"
        named = f"{container}s" if several else ("a list" if container == "list" else "an object")
        inner = expected.__args__[-1]
        return named if inner is object else f"{named} of {spelled(inner, several=True)}"
    one, many = _NAMES.get(expected, ("a value", "values"))
    return many if several else one


def _found(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return "a number"
    return "a list" if isinstance(value, list) else "an object"


def _against(record: Record, schema: Schema) -> list[str]:
    wrong = [f"`{name}` is missing" for name in schema.required if name not in record]
    for fields in (schema.required, schema.optional):
        for name, expected in fields.items():
            if name in record and not conforms(record[name], expected):
                wrong.append(f"`{name}` should be {spelled(expected)}, not {_found(record[name])}")
    return wrong


def mismatches(record: Record) -> list[str]:
    """What in a record read from the history does not match its kind's schema
    (empty for a record sdd could have written; a kind it does not know is the caller's)."""
    kind = record.get("type")
    body = SCHEMA[kind] if is_kind(kind) else _NO_SCHEMA
    envelope = ENVELOPE_V1 if record.get("v") == 1 else ENVELOPE
    if _fits(record, envelope) and _fits(record, body):
        return []  # what nearly every record read is: the messages are worked out otherwise
    return _against(record, envelope) + _against(record, body)


# A field's check, as ``conforms`` decides it, with the type's structure read once.
if TYPE_CHECKING:
    _Check = Callable[[object], bool]
_CHECKS: dict[object, _Check] = {}
# Per schema: (name, required, the plain type it must be an instance of, else its check).
_FIELDS: dict[int, tuple[Schema, tuple[tuple[str, bool, type | None, _Check], ...]]] = {}
_NO_SCHEMA = Schema()  # a kind sdd does not know
_AS_CONFORMS = (object, int)  # not a plain isinstance: checked by ``conforms`` itself


def _fits(record: Record, schema: Schema) -> bool:
    """Whether ``_against(record, schema)`` is empty, without building its messages."""
    found = _FIELDS.get(id(schema))
    if found is None or found[0] is not schema:
        every = [(n, True, t) for n, t in schema.required.items()]
        every += [(n, False, t) for n, t in schema.optional.items()]
        fields = tuple((n, need, _plain(t), _check(t)) for n, need, t in every)
        found = _FIELDS[id(schema)] = (schema, fields)
    for name, required, plain, check in found[1]:
        if name in record:
            if not (isinstance(record[name], plain) if plain is not None else check(record[name])):
                return False
        elif required:
            return False
    return True


def _plain(expected: FieldType) -> type | None:
    """The type a value must be an instance of, when that is all ``conforms`` asks."""
    if (
        isinstance(expected, type)
        and not isinstance(expected, types.GenericAlias)
        and expected not in _AS_CONFORMS
    ):
        return expected
    return None


def _check(expected: FieldType) -> _Check:
    found = _CHECKS.get(expected)
    if found is None:
        found = _CHECKS[expected] = _build(expected)
    return found


def _build(expected: FieldType) -> _Check:
    """``lambda value: conforms(value, expected)``, each case as ``conforms`` has it."""
    generic = isinstance(expected, types.GenericAlias)
    if isinstance(expected, types.UnionType):
        options = tuple(_check(option) for option in expected.__args__)

        def check(value: object) -> bool:
            return any(option(value) for option in options)

    elif generic and expected.__origin__ is list:  # type: ignore[attr-defined]
        item = _check(expected.__args__[0])  # type: ignore[attr-defined]

        def check(value: object) -> bool:
            return isinstance(value, list) and all(map(item, value))

    elif generic and expected.__origin__ is dict:  # type: ignore[attr-defined]
        entry = _check(expected.__args__[1])  # type: ignore[attr-defined]

        def check(value: object) -> bool:
            return isinstance(value, dict) and all(
                isinstance(k, str) and entry(v) for k, v in value.items()
            )

    elif expected is int:

        def check(value: object) -> bool:
            return isinstance(value, int) and not isinstance(value, bool)

    elif generic or expected in _AS_CONFORMS or not isinstance(expected, type):

        def check(value: object) -> bool:
            return conforms(value, expected)  # any value, None, a number (not a bool): as it says

    else:
        kind: type = expected

        def check(value: object) -> bool:
            return isinstance(value, kind)

    return check


def checked(kind: Kind, fields: dict[str, Any]) -> tuple[Kind, dict[str, Any]]:
    """A record about to be written, as long as its fields match the schema: sdd never
    writes what its own doctor would flag."""
    wrong = _against(fields, SCHEMA[kind])
    if wrong:
        raise ValueError(f"a `{kind}` record with the wrong fields: {'; '.join(wrong)}")
    return kind, fields


# Reading fields tolerantly: a record read from the history may hold anything, so each
# reader returns its type, and what is absent or of another type reads as empty.


def text(record: Record, key: str) -> str:
    value = record.get(key)
    return value if isinstance(value, str) else ""


def optional_text(record: Record, key: str) -> str | None:
    value = record.get(key)
    return value if isinstance(value, str) else None


def integer(record: Record, key: str) -> int | None:
    value = record.get(key)
    return value if isinstance(value, int) else None


def flag(record: Record, key: str) -> bool:
    return record.get(key) is True


def mapping(record: Record, key: str) -> dict[str, Any]:
    value = record.get(key)
    return value if isinstance(value, dict) else {}


def text_map(record: Record, key: str) -> dict[str, str]:
    return {k: str(v) for k, v in mapping(record, key).items()}


def strings(record: Record, key: str) -> list[str]:
    value = record.get(key)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
