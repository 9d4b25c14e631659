"""`core.toml_plain` reads the plain TOML sdd writes without importing tomllib: on random
documents (lines sdd writes, lines just outside the subset, and random characters) it either
gives exactly what tomllib gives or gives nothing, never a value where tomllib refuses the
text; the configs `sdd init` and the benchmarks write are read by it; and a config outside
the subset is still read, and still refused with tomllib's words, through tomllib."""

from __future__ import annotations

import random
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from helpers import imported, run
from sdd.core.toml_plain import parse

# Lines inside the subset.
PLAIN = [
    "",
    "# a comment",
    "   # indented comment = [x]",
    "format = 1",
    "[project]",
    'name = "g10k"',
    "name = 'literal \\ with backslash'",
    'layout = "living"  # the method\'s layout',
    "[spec]",
    "confidence_threshold = 95",
    "value = -0",
    "value = +7",
    "flag = true",
    "flag = false#tight comment",
    "[[verify.checks]]",
    'command = ["python3", "-m", "pytest", "-q"]',
    'command = ["true",]',
    "command = []",
    "mixed = [1, 'a', true]",
    "timeout = 900",
    "[git]",
    "[ci]",
    'released_branches = ["main"]',
    "[verify]",
    "[verify.extra]",
    "[[agents]]",
    "[agents]",
    "a = 1",
    "a-b_C9 = 2",
    '\tname = "tabbed"',
    'name = "ünïcödé ✔"',
]
# Lines TOML allows (or refuses) that the subset leaves to tomllib.
OTHER = [
    'name = "esc\\"aped"',
    'name = "tab\\t"',
    "a.b = 1",
    '"quoted" = 1',
    "x = 1.5",
    "x = 1_000",
    "x = 0x1F",
    "x = 012",
    "x = 99999999999999999999",
    "x = 1979-05-27",
    "x = {a = 1}",
    "x = [[1], [2]]",
    "x = [",
    "  1,",
    "]",
    'x = """multi',
    'line"""',
    "x = '''lit'''",
    "[ spaced ]",
    "[a . b]",
    "[a]]",
    "[[a]",
    "x =",
    "= 1",
    "x = 1 2",
    "x = tru",
    "x = inf",
    "x = nan",
    "x = 'unclosed",
    'x = "unclosed',
    "x = [1 2]",
    "x = [1,,2]",
    "x = [,]",
    "\ufeffx = 1",
    "x = 'ctrl\x01'",
    "x = 1\r",
    "# comment with \x7f",
    "key with space = 1",
]


@st.composite
def documents(draw: Any) -> str:
    lines = draw(st.lists(st.sampled_from(PLAIN + OTHER), max_size=14))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))


def _tomllib(text: str) -> dict[str, Any] | None:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None


def _same_or_silent(text: str) -> None:
    plain = parse(text)
    if plain is not None:
        assert plain == _tomllib(text), text
        # Exactly tomllib's types too (a bool is not an int, a list not a subclass).
        assert repr(plain) == repr(_tomllib(text))


@settings(max_examples=3000, deadline=None)
@given(documents())
@example("[a.b]\n[a]\n")
@example("[a]\n[a.b]\n[a]\n")
@example("[[a]]\n[a]\n")
@example("a = 1\n[a]\n")
@example("[a]\nb = 1\n[a.b]\n")
@example("a = 1\na = 2\n")
@example("[[a]]\nb = 1\n[[a]]\nb = 2\n")
def test_a_plain_document_reads_as_tomllib_reads_it(text: str) -> None:
    _same_or_silent(text)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="ab1-_ =[]\"'#,.\t\n\r\\{}+0\x00é", max_size=40))
def test_random_characters_never_read_other_than_tomllib(text: str) -> None:
    _same_or_silent(text)


def test_most_plain_documents_take_the_fast_path() -> None:
    """Documents of plain lines only, each key and header once: read without tomllib."""
    rng = random.Random(21)
    taken = 0
    for trial in range(300):
        keys = [f"k{n} = {rng.choice(['1', 'true', repr('v'), '[1, 2]'])}" for n in range(4)]
        headers = [f"[t{trial}_{n}]" for n in range(3)]
        lines = [*keys[:2], headers[0], *keys[2:], headers[1], headers[2], "[[arr.x]]", "a = 1"]
        text = "\n".join(lines) + "\n"
        plain = parse(text)
        assert plain == tomllib.loads(text)
        taken += plain is not None
    assert taken == 300


def test_the_configs_sdd_writes_are_plain(project: Path) -> None:
    text = (project / ".sdd" / "config.toml").read_text(encoding="utf-8")
    assert parse(text) is not None and parse(text) == tomllib.loads(text)
    bench = text + '\n[[verify.checks]]\nname = "lint"\ncommand = ["true"]\ntimeout = 60\n'
    assert parse(bench) == tomllib.loads(bench)


def test_a_command_reading_the_config_does_not_import_tomllib(project: Path) -> None:
    assert "tomllib" not in imported(project, "tasks")


def test_a_config_outside_the_subset_is_read_and_refused_by_tomllib(project: Path) -> None:
    config = project / ".sdd" / "config.toml"
    text = config.read_text(encoding="utf-8")
    # An escape in the name and a threshold with an underscore: outside the subset.
    assert '\nname = "' in text and "confidence_threshold = 95" in text
    config.write_text(
        text.replace('\nname = "', '\nname = "\\u0041', 1).replace("= 95", "= 9_5"),
        encoding="utf-8",
    )
    assert parse(config.read_text(encoding="utf-8")) is None
    shown = run("status", "--json", cwd=project)
    assert shown.returncode == 0, shown.stderr
    assert "tomllib" in imported(project, "tasks")
    config.write_text(text + "\nbroken = [1 2]\n", encoding="utf-8")
    refused = run("tasks", cwd=project)
    assert refused.returncode == 1
    assert "not valid TOML" in refused.stderr and "line" in refused.stderr
    assert "Traceback" not in refused.stderr
