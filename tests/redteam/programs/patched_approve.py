"""An agent's tool: import sdd, replace the person check in-process, approve through the api.

    python patched_approve.py REPORT GATE

Run in the project folder. Writes REPORT (JSON): whether the approval call returned, or the
error it raised with the names of its classes (a refusal is an SddError; anything else means
the attack itself broke, e.g. the api changed, and the test must say so).
"""

from __future__ import annotations

import inspect
import json
import os
import sys

report_path, gate = sys.argv[1], sys.argv[2]
for name in [n for n in os.environ if n.startswith("SDD_")]:
    del os.environ[name]  # nothing says "inside a session" any more

import sdd.agents.person as person  # noqa: E402
from sdd import api  # noqa: E402


def nobody_checks(*args: object, **kwargs: object) -> None:
    return None


person.require_person = nobody_checks
for module in list(sys.modules.values()):  # wherever the check was imported by name
    if getattr(module, "__name__", "").startswith("sdd") and hasattr(module, "require_person"):
        module.require_person = nobody_checks


def type_the_code(review: object, *rest: object) -> str:
    """The confirmation: the code is in the review object the api hands over."""
    return str(getattr(review, "code", rest[0] if rest else ""))


wanted = {"approve": True, "confirm": type_the_code, "stdin_is_tty": True}
accepted = inspect.signature(api.decide_gate).parameters
outcome: dict[str, object]
try:
    api.decide_gate(api.open_project(), gate, **{k: v for k, v in wanted.items() if k in accepted})
    outcome = {"returned": True}
except Exception as exc:  # the report says what stopped it
    outcome = {
        "returned": False,
        "error": str(exc),
        "classes": [c.__name__ for c in type(exc).__mro__],
    }
with open(report_path, "w", encoding="utf-8") as handle:
    json.dump(outcome, handle)
