"""The outline the contracts read: sections and blocks from the CommonMark parser, with
their lines and their text as written."""

from __future__ import annotations

from pathlib import Path

from contract_helpers import PLAN_PATH, VALID_DOCS, VALID_PLAN, check_json, write_docs
from sdd.documents.markdown import Block, Section, parse


def _items(section: Section) -> list[tuple[str, int]]:
    return [(b.text, b.line) for b in section.items()]


def test_sections_nest_by_level_and_keep_their_lines() -> None:
    root = parse("# Plan\n\n## Tasks\n\n### T1: First ##\n\n### T2: Second\n\n## Notes\n")
    (plan,) = root.sections
    assert (plan.title, plan.level, plan.line) == ("Plan", 1, 1)
    tasks, notes = plan.sections
    assert (tasks.title, tasks.line, notes.title, notes.line) == ("Tasks", 3, "Notes", 9)
    # the closing `##` of an ATX heading is not part of its title
    assert [(s.title, s.line) for s in tasks.sections] == [("T1: First", 5), ("T2: Second", 7)]


def test_block_text_is_kept_as_written() -> None:
    root = parse("- Depends on: `T1`, *T2*\n- Risk: **high** &amp; <b>odd</b>\n")
    assert _items(root) == [("Depends on: `T1`, *T2*", 1), ("Risk: **high** &amp; <b>odd</b>", 2)]


def test_tight_and_loose_items_read_alike_and_nested_items_are_children() -> None:
    tight = parse("- one\n  more\n  - inner\n- two\n")
    loose = parse("- one\n  more\n\n  - inner\n\n- two\n")
    for root in (tight, loose):
        first, second = root.blocks
        assert (first.text, first.line, first.depth) == ("one\nmore", 1, 1)
        assert [(c.text, c.depth) for c in first.children] == [("inner", 2)]
        assert second.text == "two"
    assert parse("- a\n\n  after\n").blocks[0].text == "a\nafter"


def test_paragraphs_are_blocks_and_code_is_not_read() -> None:
    text = "Acceptance criteria:\n\n```\n- not an item\n```\n\n    - nor this\n\n<div>\n- nor\n</div>\n"
    root = parse(text)
    assert [(b.kind, b.text, b.line) for b in root.blocks] == [("para", "Acceptance criteria:", 1)]


def test_quoted_lines_lose_their_markers_lazy_ones_too() -> None:
    root = parse("> first\n> second\nlazy\n\n- > in an item\n  > and on\n")
    assert [(b.kind, b.text, b.line) for b in root.blocks] == [
        ("para", "first\nsecond\nlazy", 1),
        ("item", "in an item\nand on", 5),
    ]


def test_lines_stay_right_after_wide_characters_and_crlf() -> None:
    root = parse("# Spéc ✓\r\n\r\n## Überblick — 日本語\r\n\r\n- naïve: ✓\r\n- next\r\n")
    (top,) = root.sections
    (sub,) = top.sections
    assert (top.title, sub.title, sub.line) == ("Spéc ✓", "Überblick — 日本語", 3)
    assert _items(sub) == [("naïve: ✓", 5), ("next", 6)]


def test_old_mac_line_ends_tab_indented_items_and_leading_escapes() -> None:
    root = parse("# A\r## B\r- x\r- y\r")
    (sub,) = root.sections[0].sections
    assert (sub.title, sub.line, _items(sub)) == ("B", 2, [("x", 3), ("y", 4)])
    # an item indented with a tab is on its own line, not on the line before
    assert parse("- a\n\t- b\n").blocks[0].children[0].line == 2
    assert parse("- a\n\n\t- b\n").blocks[0].children[0].line == 3
    # a backslash escape at the start of a block is part of the text as written
    assert parse("# \\#1\n").sections[0].title == "\\#1"
    assert parse("- \\[x] foo\n").blocks[0].text == "\\[x] foo"


def test_setext_headings_empty_headings_and_odd_input() -> None:
    root = parse("Title\n=====\n\n#\n\ntext\n")
    title, empty = root.sections
    assert (title.title, title.level, empty.title, empty.level) == ("Title", 1, "", 1)
    assert empty.blocks == [Block("para", "text", 6)]
    # NUL becomes U+FFFD, as CommonMark asks; a lone surrogate cannot break the parser
    assert parse("a\x00b\n").blocks[0].text == "a\ufffdb"
    assert parse("x \udcff y\n").blocks[0].text == "x ? y"


def test_check_reports_the_right_line_after_wide_characters(project: Path) -> None:
    """Through the command line: the parser's byte ranges become the right line numbers."""
    plan = VALID_PLAN.replace("- Depends on: T1", "- Depends on: T1, T99", 1)
    # wide characters and CRLF line ends before the broken task shift bytes, not lines
    plan = plan.replace("\n\n", "\n\nÜberblick: 日本語 — ✓✓✓ naïve.\n\n", 1).replace("\n", "\r\n")
    write_docs(project, {**VALID_DOCS, PLAN_PATH: plan})
    lines = plan.split("\r\n")
    broken = next(i for i, line in enumerate(lines) if "T99" in line)
    heading = max(i for i in range(broken) if lines[i].startswith("### T")) + 1
    data = check_json(project, "plan", expect=1)
    assert [(m["path"], m["line"], m["message"]) for m in data["messages"]] == [
        (
            PLAN_PATH,
            heading,
            f"{lines[heading - 1][4:].split(':')[0]} depends on T99, which is not a task",
        )
    ]
