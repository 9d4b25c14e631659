"""One convention for turning sdd's results into JSON data, for every face.

A result is a dataclass. Its JSON form is a dict of its fields, in order, each converted
the same way, less the fields marked ``field(metadata=OMIT)`` (a confirmation code
never leaves the terminal), plus the properties its class names in ``JSON_EXTRA``
(derived values such as ``ok``). Lists and tuples become lists, dicts stay dicts, and
str, int, float, bool and None are themselves. Anything else is a programming error.
"""

from __future__ import annotations

from sdd.core.structs import fields, is_dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Field metadata that keeps a field out of the JSON form.
OMIT = {"json": False}


def to_json(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if is_dataclass(value) and not isinstance(value, type):
        data = {
            f.name: to_json(getattr(value, f.name))
            for f in fields(value)
            if f.metadata.get("json", True)
        }
        for name in getattr(type(value), "JSON_EXTRA", ()):
            data[name] = to_json(getattr(value, name))
        return data
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    raise TypeError(f"{type(value).__name__} has no JSON form")
