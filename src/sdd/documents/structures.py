"""What the document contracts read out of a document: its messages (``file:line: what``),
and the stories, questions, tasks and test cases it holds.

Apart from the contracts themselves (``documents.contracts``: the readers, the regular
expressions, the rules), so that a command that only reads a parsed document back from the
cache (an approved plan's tasks, on every start) loads neither.
"""

from __future__ import annotations

from sdd.core.jsonable import OMIT
from sdd.core.structs import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import ClassVar


@dataclass(frozen=True)
class Message:
    """One finding of `sdd check`: where, how severe, what."""

    path: str
    line: int
    severity: str  # "error" or "warning"
    text: str = field(metadata=OMIT)  # its JSON name is `message`

    JSON_EXTRA: ClassVar[tuple[str, ...]] = ("message",)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text}" + (
            " (warning)" if self.severity == "warning" else ""
        )

    @property
    def message(self) -> str:
        return self.text


@dataclass
class Story:
    """A user story of the spec, with its acceptance criteria."""

    id: str
    title: str
    line: int
    criteria: list[str] = field(default_factory=list)


@dataclass
class Question:
    """An open question of the spec, and its answer once given."""

    id: str
    blocking: bool
    text: str
    answer: str | None
    line: int

    JSON_EXTRA: ClassVar[tuple[str, ...]] = ("open",)

    @property
    def open(self) -> bool:
        return self.answer is None


@dataclass
class Spec:
    """The product spec as its contract reads it."""

    stories: list[Story] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    confidence: float | None = None
    confidence_line: int = 0


@dataclass
class Task:
    """A task of the implementation plan."""

    id: str
    title: str
    line: int
    stories: list[str] = field(default_factory=list)
    depends: list[str] = field(default_factory=list)
    risk: str = ""
    effort: str = ""
    criteria: list[str] = field(default_factory=list)
    scope: list[str] = field(default_factory=list)  # empty: no `Scope:` field, the default
    cases: list[str] | None = None  # its `Test cases:`; None: no field (its stories' cases)


@dataclass
class Case:
    """A test case of the test plan."""

    id: str
    title: str
    line: int
    stories: list[str] = field(default_factory=list)
    kind: str = ""
