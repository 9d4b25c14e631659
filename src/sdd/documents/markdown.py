"""Markdown as an outline of sections and blocks, with line numbers, from a CommonMark
parser (pulldown-cmark, through pyromark), never from regular expressions over lines.

Blocks keep the text as written (code spans keep their backticks, emphasis its stars):
the contracts read fields such as `Depends on: T1, T2` from it and briefs quote it.
"""

from __future__ import annotations

from bisect import bisect_right

from sdd.core.structs import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:  # importing typing costs ~5 ms of `sdd check`'s start-up
    from collections.abc import Iterable
    from typing import Any


@dataclass
class Block:
    """A paragraph or a list item of a section."""

    kind: str  # "para" or "item"
    text: str
    line: int  # 1-based
    depth: int = 0  # list nesting: 1 for a top-level item, 0 for a paragraph
    children: list[Block] = field(default_factory=list)  # nested list items


@dataclass
class Section:
    """A heading, what it holds and the sections under it."""

    title: str
    level: int
    line: int
    blocks: list[Block] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    def find(self, title: str) -> Section | None:
        wanted = title.casefold()
        return next((s for s in self.sections if s.title.casefold() == wanted), None)

    def items(self) -> list[Block]:
        return [b for b in self.blocks if b.kind == "item"]

    def text(self) -> str:
        return "\n".join(b.text for b in self.blocks)

    def is_empty(self) -> bool:
        return not self.blocks and not self.sections


# Container blocks and leaves whose start or end closes the inline run being collected.
_BLOCKS = frozenset(
    ("Paragraph", "Heading", "BlockQuote", "CodeBlock", "HtmlBlock", "List", "Item")
)
_VERBATIM = frozenset(("CodeBlock", "HtmlBlock"))  # their text is not prose to read


def parse(text: str) -> Section:
    """The document as a tree: the root holds sections by heading level."""
    return _Outline(text).root


class _Outline:
    """Folds the parser's events into sections and blocks."""

    def __init__(self, text: str) -> None:
        import pyromark

        if not text.isascii():
            # A lone surrogate (undecodable input) cannot cross into the parser: replace it.
            text = text.encode("utf-8", "replace").decode("utf-8")
        text = text.replace("\x00", "\ufffd")  # as CommonMark asks
        # Every line ending becomes LF, so that lines are counted the way the parser ends them.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        self.source = text.encode("utf-8")  # the parser's ranges are UTF-8 byte offsets
        self.line_starts = [0]
        at = self.source.find(b"\n")
        while at != -1:
            self.line_starts.append(at + 1)
            at = self.source.find(b"\n", at + 1)
        self.root = Section("", 0, 1)
        self.stack = [self.root]
        self.items: list[Block] = []  # open list items, innermost last
        self.depth = 0  # list nesting
        self.quotes = 0  # block quote nesting
        self.heading: tuple[int, int] | None = None  # (level, line) of the open heading
        self.paragraph = 0  # line of the open paragraph, 0 outside one
        self.run: list[int] = []  # [start, end] bytes of the inline run being collected
        verbatim = 0  # inside a code or HTML block, whose text is not prose
        # pyromark types its events as unions of TypedDicts; here they are read as plain data.
        events: Iterable[tuple[Any, Any]] = pyromark.events_with_range(text)
        for event, span in events:
            start, end = span["start"], span["end"]
            kind, tag = next(iter(event.items())) if type(event) is dict else (event, None)
            name = tag if type(tag) is str else next(iter(tag), "") if type(tag) is dict else ""
            if kind in ("Start", "End") and name in _BLOCKS:
                self.flush()
                opening = kind == "Start"
                if name in _VERBATIM:
                    verbatim += 1 if opening else -1
                else:
                    self.block(name, tag, opening, start)
            elif kind == "Rule":
                self.flush()
            elif verbatim == 0 and end > start:  # inline: extends the run
                if self.run:
                    self.run[1] = max(self.run[1], end)
                else:
                    self.run = [start, end]
        self.flush()

    def line_of(self, offset: int) -> int:
        return bisect_right(self.line_starts, offset)

    def line_at(self, offset: int) -> int:
        """The line of the first character at or after ``offset`` that is not blank (a list
        item indented with a tab can start at the end of the line before)."""
        end = len(self.source)
        while offset < end and self.source[offset] in b" \t\n":
            offset += 1
        return self.line_of(offset)

    def block(self, name: str, tag: Any, opening: bool, start: int) -> None:
        if name == "Heading":
            if opening:
                self.heading = (int(tag["Heading"]["level"][1:]), self.line_of(start))
            elif self.heading is not None:  # a heading without text
                self.open_section("")
        elif name == "Paragraph":
            self.paragraph = self.line_at(start) if opening else 0
        elif name == "BlockQuote":
            self.quotes += 1 if opening else -1
        elif name == "List":
            self.depth += 1 if opening else -1
        elif opening:  # Item
            item = Block("item", "", self.line_at(start), self.depth)
            if self.items and self.depth > self.items[-1].depth:
                self.items[-1].children.append(item)
            else:
                self.stack[-1].blocks.append(item)
            self.items.append(item)
        else:
            self.items.pop()

    def open_section(self, title: str) -> None:
        assert self.heading is not None
        level, line = self.heading
        self.heading = None
        while self.stack[-1].level >= level:
            self.stack.pop()
        section = Section(title, level, line)
        self.stack[-1].sections.append(section)
        self.stack.append(section)

    def flush(self) -> None:
        """Hand the collected inline run to the heading, list item or paragraph it is in."""
        if not self.run:
            return
        content = self.raw(*self.run)
        self.run = []
        if self.heading is not None:
            self.open_section(content)
        elif self.items:  # a list item's text, loose or tight
            item = self.items[-1]
            item.text = f"{item.text}\n{content}" if item.text else content
        elif self.paragraph:
            self.stack[-1].blocks.append(Block("para", content, self.paragraph))

    def raw(self, start: int, end: int) -> str:
        """The run's text as written, without the container markers of its later lines."""
        if start > 0 and self.source[start - 1] == ord("\\"):
            start -= 1  # the first text event begins after an escaping backslash: keep it
        lines = self.source[start:end].decode("utf-8").split("\n")
        out = [lines[0].strip()]
        for line in lines[1:]:
            line = line.lstrip()
            for _ in range(self.quotes):  # a lazy continuation line may omit its `>`
                if not line.startswith(">"):
                    break
                line = line[1:].lstrip()
            out.append(line.strip())
        return "\n".join(out).strip()
