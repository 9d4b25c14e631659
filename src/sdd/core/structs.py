"""Data classes for all of sdd: `dataclass`, `field`, `fields`, `replace`,
`is_dataclass`, `asdict`.

At run time they come from `light_dataclass` (the standard module's start-up cost is about
three bare interpreters: see there); mypy reads the standard module's, which the two share
the behaviour of, so every class is typed exactly as a dataclass is.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import (
        FrozenInstanceError as FrozenInstanceError,
    )
    from dataclasses import (
        asdict as asdict,
    )
    from dataclasses import (
        dataclass as dataclass,
    )
    from dataclasses import (
        field as field,
    )
    from dataclasses import (
        fields as fields,
    )
    from dataclasses import (
        is_dataclass as is_dataclass,
    )
    from dataclasses import (
        replace as replace,
    )
else:
    from sdd.core.light_dataclass import (
        FrozenInstanceError,
        asdict,
        dataclass,
        field,
        fields,
        is_dataclass,
        replace,
    )

__all__ = [
    "FrozenInstanceError",
    "asdict",
    "dataclass",
    "field",
    "fields",
    "is_dataclass",
    "replace",
]
