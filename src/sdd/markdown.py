"""Markdown as an outline of sections and blocks, with line numbers, from a CommonMark
parser (markdown-it-py), never from regular expressions over lines."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Block:
    kind: str  # "para" or "item"
    text: str
    line: int  # 1-based
    depth: int = 0  # list nesting: 1 for a top-level item, 0 for a paragraph
    children: list[Block] = field(default_factory=list)  # nested list items


@dataclass
class Section:
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


def parse(text: str) -> Section:
    """The document as a tree: the root holds sections by heading level."""
    from markdown_it import MarkdownIt

    # Only the block structure and each block's raw text are read: parsing inline markup
    # (emphasis, links) would double the time on a large plan for nothing used.
    tokens = MarkdownIt("commonmark").disable(["inline", "text_join"]).parse(text)
    root = Section("", 0, 1)
    stack = [root]
    items: list[Block] = []  # open list items, innermost last
    depth = 0
    pending_heading: tuple[int, int] | None = None
    in_item_para = False
    for token in tokens:
        line = token.map[0] + 1 if token.map else 0
        if token.type == "heading_open":
            pending_heading = (int(token.tag[1]), line)
        elif token.type == "inline" and pending_heading is not None:
            level, at = pending_heading
            pending_heading = None
            while stack[-1].level >= level:
                stack.pop()
            section = Section(token.content.strip(), level, at)
            stack[-1].sections.append(section)
            stack.append(section)
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
        elif token.type == "list_item_open":
            block = Block("item", "", line, depth)
            if items and depth > items[-1].depth:
                items[-1].children.append(block)
            else:
                stack[-1].blocks.append(block)
            items.append(block)
        elif token.type == "list_item_close":
            items.pop()
        elif token.type == "paragraph_open":
            in_item_para = bool(items) and depth > 0
            if not in_item_para:
                stack[-1].blocks.append(Block("para", "", line))
        elif token.type == "inline":
            content = token.content.strip()
            if in_item_para and items:
                item = items[-1]
                item.text = f"{item.text}\n{content}" if item.text else content
            elif stack[-1].blocks and stack[-1].blocks[-1].kind == "para":
                stack[-1].blocks[-1].text = content
        elif token.type == "paragraph_close":
            in_item_para = False
    return root
