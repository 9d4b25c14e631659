"""Hostile input. Property-based tests (hypothesis) over every parser and loader — documents,
templates, config, state, agent output, the derived cache — never end in a traceback: only
sdd's own errors (SddError and its kinds) may come out, and the exception type is checked
exactly, so no catch-all can pass a crash off as a message. Then the names a person or an
agent types — cycle titles, task ids, stage names — with path separators, `..`, shell
metacharacters or control characters cannot write outside the project or run anything;
templates are filled without evaluating code; a symlink in docs/ that points outside the
project is never written through."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fault_helpers import (
    DERIVED,
    diff_trees,
    hand_built,
    history_path,
    in_process,
    tree,
)
from helpers import STAGES, history_records, run, sdd_json
from run_helpers import agents_fixture  # noqa: F401 - the `agents` fixture
from sdd.agents import presets as agent_presets
from sdd.core import history
from sdd.core.errors import ConfigError, SddError, StateError
from sdd.core.jsonable import to_json
from sdd.documents import check, templates
from sdd.project import config

PROPERTY = settings(
    deadline=None,
    database=None,  # nothing written outside the test's tmp folder
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def examples(count: int) -> settings:
    """The shared settings with ``count`` examples (kept small: the suite must stay fast)."""
    return settings(PROPERTY, max_examples=count)


# ----------------------------------------------------------------------------- strategies

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=24)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)
HOSTILE_TEXT = st.sampled_from(
    [
        "../../../etc/passwd",
        "/etc/passwd",
        "..",
        "a/../../b",
        "C:\\Windows\\x",
        "$(touch pwned)",
        "`touch pwned`",
        "; touch pwned",
        "| touch pwned",
        "\x00",
        "\x1b[31mred\x1b[0m",
        "line\nbreak",
        "\r\n",
        "\u202eevil",
        "{__import__('os').system('touch pwned')}",
        "{{7*7}}",
        "%(x)s",
        "{0}",
        "\ud800",
        "\U0001f600",
        "",
        " ",
    ]
)
TEXT = st.text(max_size=60) | HOSTILE_TEXT


# ----------------------------------------------------------------------------- state


@examples(300)
@given(data=st.binary(max_size=400) | st.lists(st.binary(max_size=80), max_size=6).map(b"\n".join))
def test_history_parse_of_any_bytes_is_a_state_or_nothing(data: bytes) -> None:
    try:
        loaded = history.parse(data, ".sdd/history.jsonl")
    except StateError as exc:
        assert ".sdd/history.jsonl:" in exc.message
        return
    assert len(loaded.warnings) <= 1


JSON_LINE = st.one_of(
    JSON.map(lambda v: json.dumps(v, ensure_ascii=False)),
    st.fixed_dictionaries(
        {
            "id": st.text(max_size=30) | st.just("01JAAAAAAAAAAAAAAAAAAAAAAA"),
            "type": TEXT,
            "v": JSON,
        }
    ).map(json.dumps),
    TEXT,
)


@examples(200)
@given(lines=st.lists(JSON_LINE, max_size=6), tail=st.booleans())
@example(
    lines=['{"id": "01JAAAAAAAAAAAAAAAAAAAAAAA", "type": "note", "text": "\\ud800", "hash": "x"}'],
    tail=False,
)
def test_history_parse_of_json_lines_is_a_state_or_nothing(lines: list[str], tail: bool) -> None:
    data = "\n".join(lines) + ("" if tail else "\n")
    try:
        loaded = history.parse(data.encode(errors="surrogatepass"), ".sdd/history.jsonl")
    except StateError as exc:
        assert ".sdd/history.jsonl:" in exc.message
        return
    assert all(isinstance(r, dict) and isinstance(r["type"], str) for r in loaded.records)


TYPES = [
    "project.init",
    "cycle.open",
    "cycle.move",
    "cycle.archive",
    "cycle.abandon",
    "session.start",
    "session.launch",
    "session.end",
    "gate.approve",
    "gate.reject",
    "finding.add",
    "finding.fix",
    "finding.waive",
    "verification.verdict",
    "release",
    "template.base",
    "template.change",
    "verify.run",
    "stage.reopen",
    "note.other",
]
PLAUSIBLE: dict[str, list[Any]] = {
    "cycle": [1, 2, 0, -1, "1", [1], {"n": 1}, None, True, 2**64],
    "session": ["S-0001", "S-0002", "S-x", "../S-0001"],
    "stage": ["spec", "architecture", "plan", "implement", "review", "../../x", ""],
    "gate": ["spec-approval", "implementation-approval", "user-approval", "nope"],
    "finding": ["F-1", "F-2", ""],
    "outcome": ["complete", "abandoned", "open", "interrupted"],
    "confirmed": ["code", "demo", None],
    "docs": [
        {"docs/product-spec.md": "0" * 64},
        {"docs/implementation-plan.md": "../../../../../../etc/hostname"},
        "docs",
        "docs/cycles/../../..",
    ],
    "slug": ["001-x", "../../../tmp", ""],
    "page": ["docs/sessions/S-0001-spec.md", "../../outside.md", "/etc/passwd"],
    "writes": [["docs/product-spec.md"], ["../x"], "docs/x"],
    "task": ["T1", "../T1", None],
    "severity": ["blocking", "major", "minor", "x"],
    "to": ["spec", "plan", "../x"],
    "verdict": ["pass", "fail", "skip"],
}
KEYS = [
    *PLAUSIBLE,
    "by",
    "outputs",
    "changed",
    "hashes",
    "moved",
    "reason",
    "item",
    "note",
    "text",
    "title",
    "discovery",
    "head",
    "dirty",
    "agent",
    "command",
    "log",
    "exit_code",
    "escaped_from",
    "demo",
    "name",
    "previous",
    "source",
    "caused_by",
    "results",
]


def _value(key: str) -> st.SearchStrategy[Any]:
    plausible = PLAUSIBLE.get(key)
    return (st.sampled_from(plausible) | JSON) if plausible else JSON


_BASE: dict[str, bytes] = {}  # each project's history before the examples
RECORD = st.tuples(
    st.sampled_from(TYPES),
    st.lists(st.sampled_from(KEYS), max_size=8, unique=True).flatmap(
        lambda keys: st.fixed_dictionaries({k: _value(k) for k in keys})
    ),
)


@examples(80)
@given(records=st.lists(RECORD, min_size=1, max_size=10))
@example(records=[("finding.add", {"cycle": [1], "finding": "F-9"})])
@example(records=[("session.end", {"session": [], "stage": "spec"})])  # found by CI
@example(records=[("approver.revoke", {"fingerprint": [], "sig": {"signature": "x"}})])
def test_any_records_with_valid_hashes_load_fold_and_render(
    project: Path, records: list[tuple[str, dict[str, Any]]]
) -> None:
    """Records sdd might have written — or a tool, a merge, a newer version — with every
    field of any JSON type: the state loads, the panel and the tracker page render."""
    from sdd.cli.render import Style, next_text, status_text
    from sdd.project.project import DocHasher, Project
    from sdd.workflow.tracker import render_page

    path = history_path(project)
    base = _BASE.setdefault(str(project), path.read_bytes())
    last = json.loads(base.splitlines()[-1])["id"]
    above = [json.loads(base.splitlines()[-1])["hash"]]
    lines = []
    for kind, fields in records:
        record = hand_built(kind, fields, after=last, parents=above)
        last, above = record["id"], [record["hash"]]
        lines.append(json.dumps(record, ensure_ascii=False).encode(errors="surrogatepass"))
    path.write_bytes(base + b"".join(line + b"\n" for line in lines))
    before = tree(project.parent, skip=("proj",))
    p = Project(str(project))
    try:
        state = p.load()
        for cycle in [*state.cycles.values(), None]:
            data = p.panel(state, cycle, DocHasher(p.paths))
            json.dumps(data, ensure_ascii=False)
            render_page(data)
            status_text(data, Style(False))
            next_text(data["next"], Style(False))
    except SddError:
        pass
    assert diff_trees(before, tree(project.parent, skip=("proj",))) == []


# ----------------------------------------------------------------------------- templates

FRONT_LINES = st.sampled_from(
    [
        "---",
        "stage: spec",
        "role: Product owner",
        "goal: Write the spec",
        "reads: [docs/a.md, docs/b.md]",
        "reads: []",
        "reads: [",
        "writes:",
        "  - docs/product-spec.md",
        "- item",
        "checklist:",
        "  - Every story has criteria",
        "gate: spec-approval",
        "gate: none",
        "gate:",
        " indented: value",
        ": no key",
        "no colon here",
        "stage: spec",
        "",
        "\r",
    ]
)


@examples(400)
@given(
    lines=st.lists(FRONT_LINES | TEXT, max_size=14),
    body=TEXT,
    opened=st.booleans(),
)
def test_templates_parse_to_a_template_or_a_config_error(
    lines: list[str], body: str, opened: bool
) -> None:
    text = ("---\n" if opened else "") + "\n".join(lines) + "\n---\n" + body
    for candidate in (text, "\n".join(lines)):
        try:
            values, rest = templates.parse_front_matter(candidate, "sessions/spec.md")
            assert isinstance(values, dict) and isinstance(rest, str)
        except ConfigError as exc:
            assert exc.message.startswith("sessions/spec.md")
        try:
            template = templates.parse(candidate, "sessions/spec.md")
        except ConfigError:
            continue
        assert isinstance(template.checklist, tuple) and isinstance(template.body, str)
        assert templates.fill(template.body, {"stage": "spec"}).count("{stage}") == 0


@examples(40)
@given(body=st.lists(FRONT_LINES | TEXT, max_size=10).map("\n".join))
def test_a_project_template_of_any_text_is_loaded_or_refused_by_name(
    project: Path, body: str
) -> None:
    from sdd.core.paths import ProjectPaths

    target = project / "sessions" / "review.md"
    target.write_text(body, encoding="utf-8", errors="surrogatepass")
    try:
        template = templates.load(ProjectPaths(str(project)), "review")
    except ConfigError as exc:
        assert "sessions/review.md" in exc.message
        return
    assert template.stage == "review"


# ----------------------------------------------------------------------------- config


def _toml_key(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = repr(value)
        return {"inf": "inf", "-inf": "-inf"}.get(text, text)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return '""'


TOML_SCALAR = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=16)
    | st.sampled_from(
        [
            "spec",
            "plan",
            "implement",
            "outputs",
            "verify",
            "per-task",
            "person",
            "spec-approval",
            "living",
            "per-cycle",
            "claude",
            "{brief}",
        ]
    )
)
TOML_VALUE = st.recursive(
    TOML_SCALAR,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "after",
                    "judges",
                    "on_reject",
                    "requires",
                    "writes",
                    "rules",
                    "repeat",
                    "actor",
                    "optional",
                    "scaffold",
                    "interactive",
                    "headless",
                    "name",
                    "command",
                    "timeout",
                    "x",
                ]
            )
            | st.text(max_size=8),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)
STAGE_NAMES = [
    *STAGES,
    "discovery",
    "extra",
    "Bad Name",
    "../x",
    "",
]
GATE_NAMES = [
    "spec-approval",
    "implementation-approval",
    "user-approval",
    "deployment-approval",
    "new-gate",
    "Bad Gate",
    "../g",
]
NAMED = st.sampled_from(
    STAGE_NAMES
    + GATE_NAMES
    + [
        "outputs",
        "contract",
        "verify",
        "checklist",
        "confidence",
        "no-blocking",
        "{brief}",
        "{brief_file}",
    ]
)
TOML_LEAF = (
    TOML_SCALAR
    | NAMED
    | st.lists(NAMED | TOML_SCALAR, max_size=4)
    | st.lists(  # lists holding lists and tables, where a list of names is expected
        NAMED
        | st.lists(NAMED, max_size=2)
        | st.dictionaries(st.sampled_from(["a", "name"]), NAMED, max_size=2),
        min_size=1,
        max_size=3,
    )
)


LIST_KEYS = {"writes", "rules", "judges", "requires", "interactive", "headless", "command"}
NAME_LIST = st.lists(
    NAMED
    | TOML_SCALAR
    | st.lists(NAMED, max_size=2)
    | st.dictionaries(st.just("a"), NAMED, max_size=1),
    max_size=4,
)


def _assign(draw: st.DrawFn, keys: list[str]) -> list[str]:
    chosen = draw(st.lists(st.sampled_from([*keys, "x"]), unique=True, max_size=len(keys) + 1))
    lines = []
    for key in chosen:
        value = (NAME_LIST | TOML_LEAF) if key in LIST_KEYS else (TOML_LEAF | TOML_VALUE)
        lines.append(f"{_toml_key(key)} = {_toml_value(draw(value))}")
    return lines


@st.composite
def config_text(draw: st.DrawFn) -> str:
    """A config as a person might write it, right or wrong, deep into every section."""
    lines = []
    if draw(st.booleans()):
        lines.append(f"format = {_toml_value(draw(TOML_SCALAR))}")
    if draw(st.booleans()):
        lines += ["[project]", *_assign(draw, ["name", "layout"])]
    if draw(st.booleans()):
        lines += ["[spec]", *_assign(draw, ["confidence_threshold"])]
    if draw(st.booleans()):
        lines += ["[workflow]"]
        if draw(st.booleans()):
            order = draw(st.lists(st.sampled_from(STAGE_NAMES), max_size=10) | TOML_VALUE)
            lines.append(f"stages = {_toml_value(order)}")
        for name in draw(st.lists(st.sampled_from(STAGE_NAMES), unique=True, max_size=3)):
            lines.append(f"[workflow.stage.{_toml_key(name)}]")
            lines += _assign(draw, ["writes", "rules", "repeat", "actor", "optional", "scaffold"])
        for name in draw(st.lists(st.sampled_from(GATE_NAMES), unique=True, max_size=3)):
            lines.append(f"[workflow.gates.{_toml_key(name)}]")
            lines += _assign(draw, ["after", "judges", "on_reject", "requires"])
    if draw(st.booleans()):
        lines += ["[agents]", *_assign(draw, ["default"])]
        for name in draw(
            st.lists(st.sampled_from(["mine", "claude", "x y"]), unique=True, max_size=2)
        ):
            lines.append(f"[agents.{_toml_key(name)}]")
            lines += _assign(draw, ["interactive", "headless"])
    for _ in range(draw(st.integers(0, 2))):
        lines.append("[[verify.checks]]")
        lines += _assign(draw, ["name", "command", "timeout"])
    if draw(st.integers(0, 9)) == 0:
        lines.insert(draw(st.integers(0, len(lines))), draw(TEXT))  # sometimes not TOML at all
    return "\n".join(lines) + "\n"


@examples(200)
@given(text=config_text())
@example(text='[workflow.stage.spec]\nrules = [["outputs"]]\n')
@example(text='[workflow.gates.spec-approval]\nafter = "spec"\nrequires = [{}]\n')
def test_any_config_loads_or_is_a_config_error(project: Path, text: str) -> None:
    """The config as every command reads it: the core, the workflow, the agents and the
    checks `sdd verify` runs."""
    from sdd.core.paths import ProjectPaths
    from sdd.project.project import Project
    from sdd.usecases import verify

    paths = ProjectPaths(str(project))
    Path(paths.config).write_text(text, encoding="utf-8", errors="surrogatepass")
    for read in (
        lambda: config.load(paths).workflow.stages,
        lambda: agent_presets.from_config(config.load(paths).raw, ".sdd/config.toml"),
        lambda: verify.configured(Project(str(project))),
    ):
        try:
            read()
        except ConfigError as exc:
            assert ".sdd/config.toml" in exc.message + "".join(exc.details), exc.message


@examples(25)
@given(text=config_text())
@example(text='[workflow.stage.spec]\nrules = [["outputs"]]\n')
def test_status_doctor_and_next_with_any_config_answer_without_crashing(
    project: Path, text: str
) -> None:
    (project / ".sdd" / "config.toml").write_text(text, encoding="utf-8", errors="surrogatepass")
    for args in (["status", "--json"], ["next"], ["doctor", "--json"]):
        code, out, err = in_process(*args, cwd=project)
        assert code in (0, 1, 2, 3), (args, code, out, err)
        assert "Traceback" not in out + err and "crashed" not in err, (args, err)


# ----------------------------------------------------------------------------- documents

DOC_LINES = st.sampled_from(
    [
        "# Product specification",
        "## Overview",
        "## User stories",
        "### US-1: Reset a password",
        "### US-0: bad",
        "### US-2:",
        "Acceptance criteria:",
        "- The link expires after 30 minutes.",
        "## Open questions",
        "- Q1 (blocking): Which mail provider?",
        "- Q2 (non-blocking):",
        "Confidence: 97%",
        "Confidence: 1000%",
        "Confidence: 97.5 %",
        "## Tasks",
        "### T1: Reset links",
        "### T2: Mail",
        "### T1: again",
        "- Stories: US-1, US-2",
        "- Stories: none",
        "- Depends on: T2",
        "- Depends on: T1, T1",
        "- Depends on: none",
        "- Risk: high",
        "- Risk: catastrophic",
        "- Effort: 2h",
        "## Test cases",
        "### TC-1: Expired link",
        "- Kind: edge case",
        "- Kind: concurrency",
        "- Covers: US-1",
        "## Findings",
        "- F1 (blocking; escaped from plan) reset.py: the link never expires",
        "- F2 (minor) x",
        "## Verdict",
        "approve",
        "changes-requested",
        "## Decisions",
        "## Options considered",
        "- [ ] UNCERTAIN: rollback",
        "- [x] Release notes",
        "[FILL: something]",
        "```",
        "    - nested",
        "1. numbered",
        "> quote",
        "<!-- comment",
        "| a | b |",
        "* * *",
        "",
    ]
)
DOCUMENT = st.one_of(
    st.lists(DOC_LINES | TEXT, max_size=25).map("\n".join),
    st.text(max_size=300),
)
KINDS = ["spec", "architecture", "plan", "test-plan", "conventions", "review", "qa", "release"]


@examples(250)
@given(kind=st.sampled_from(KINDS), text=DOCUMENT)
def test_any_document_parses_to_messages(kind: str, text: str) -> None:
    parsed = check._parse_text(kind, "docs/x.md", text)
    assert all(m.line >= 1 for m in parsed.messages)


@examples(80)
@given(spec=DOCUMENT, plan=DOCUMENT, tests=DOCUMENT)
def test_any_three_documents_cross_check_to_messages(spec: str, plan: str, tests: str) -> None:
    parsed = {
        "spec": check._parse_text("spec", "docs/product-spec.md", spec),
        "plan": check._parse_text("plan", "docs/implementation-plan.md", plan),
        "test-plan": check._parse_text("test-plan", "docs/test-plan.md", tests),
    }
    check.cross_check(parsed, {"spec", "plan", "test-plan"})


@examples(40)
@given(spec=DOCUMENT, plan=DOCUMENT)
def test_sdd_check_on_any_documents_reports_without_crashing(
    project: Path, spec: str, plan: str
) -> None:
    from sdd.core.paths import ProjectPaths

    (project / "docs" / "product-spec.md").write_text(
        spec, encoding="utf-8", errors="surrogatepass"
    )
    (project / "docs" / "implementation-plan.md").write_text(
        plan, encoding="utf-8", errors="surrogatepass"
    )
    try:
        report = check.check(ProjectPaths(str(project)))
    except SddError:
        return
    json.dumps(to_json(report))


# ----------------------------------------------------------------------------- agent output

AGENT_OBJECT = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["result", "error", "turn.failed", "session.error", "x"]) | JSON,
        "subtype": st.sampled_from(["success", "error_max_turns", "error"]) | JSON,
        "is_error": JSON,
        "result": JSON,
        "exitCode": JSON,
        "error": JSON,
        "data": JSON,
        "message": JSON,
    },
)
AGENT_OUTPUT = st.one_of(
    st.text(max_size=200),
    JSON.map(json.dumps),
    AGENT_OBJECT.map(json.dumps),
    st.lists(AGENT_OBJECT.map(json.dumps) | st.text(max_size=30), max_size=5).map("\n".join),
    st.lists(AGENT_OBJECT, max_size=3).map(json.dumps),
)


@examples(200)
@given(kind=st.sampled_from([None, "json-result", "json-events", "other"]), output=AGENT_OUTPUT)
def test_any_agent_output_is_read_without_an_exception(kind: str | None, output: str) -> None:
    reported = agent_presets.reported_error(kind, output)
    assert reported is None or isinstance(reported, str)


# ----------------------------------------------------------------------------- the cache


@examples(20)
@given(data=st.binary(max_size=200))
def test_a_damaged_cache_is_rebuilt(project: Path, data: bytes) -> None:
    from sdd.core.paths import ProjectPaths
    from sdd.project import cache

    code, good, _ = in_process("status", "--json", cwd=project)
    assert code == 0
    target = Path(cache.cache_path(ProjectPaths(str(project))))
    whole = target.read_bytes()
    for damaged in (data, whole[: len(whole) // 2], whole[:-1] + data[:1]):
        target.write_bytes(damaged)
        code, out, err = in_process("status", "--json", cwd=project)
        assert code == 0, (code, err)
        assert json.loads(out)["data"] == json.loads(good)["data"]


# ----------------------------------------------------------------------------- hostile names


def _hostile_names(base: Path) -> list[str]:
    marker = base / "pwned-abs"
    return [
        "../../escape",
        "../../../../../../tmp/escape",
        "/etc/passwd",
        "..",
        "docs/../../up",
        "a\\..\\..\\b",
        f"$(touch {marker})",
        f"`touch {marker}`",
        f"; touch {marker}",
        f"| touch {marker} #",
        f"&& touch {marker}",
        "; touch pwned",
        "$(touch touched)",
        "x\ntouch pwned",
        "\x1b]0;title\x07\x1b[31mred",
        "tab\tand\rreturn\x7f",
        "\u202eevil.md",
        "‥／‥／fullwidth",
        "{__import__('os').system('touch pwned')}",
        "*",
        "-rf",
        "--help",
    ]


def _some_hostile_names(base: Path) -> list[str]:
    """A cross-section of :func:`_hostile_names`: each kind of trouble once."""
    names = _hostile_names(base)
    return [names[i] for i in (0, 2, 4, 5, 6, 8, 11, 13, 14, 16, 18, 21)]


def _outside(work: Path, project: Path) -> dict[str, str]:
    """Everything in the test's tmp folder that is not the project (its home, the work
    folder), so a write anywhere outside the project shows."""
    base = work.parent
    skip = os.path.relpath(project, base)
    return tree(base, skip=(skip,))


def _assert_nothing_ran(work: Path, project: Path) -> None:
    for place in (
        work.parent / "pwned-abs",
        project / "pwned",
        project / "touched",
        work / "pwned",
        work / "touched",
    ):
        assert not place.exists(), f"a hostile name ran a command: {place} exists"


def test_hostile_stage_names_are_refused_and_write_nothing(project: Path, work: Path) -> None:
    names = _some_hostile_names(work.parent)
    before_outside = _outside(work, project)
    before = tree(project, skip=DERIVED)
    for name in names:
        for args in (
            ["start", name],
            ["prompt", name],
            ["run", name, "--agent", "claude", "--headless"],
            ["findings", "add", "a problem", "--severity", "minor", "--stage", name],
            [
                "findings",
                "add",
                "a problem",
                "--severity",
                "minor",
                "--stage",
                "qa",
                "--escaped-from",
                name,
            ],
            ["change", "--stage", name, "rework it"],
            ["check", name],
        ):
            code, out, err = in_process(*args, cwd=project)
            expected = (
                (0,)
                if name == "--help" and args[0] in ("start", "prompt", "run", "check")
                else (2, 3)
            )
            assert code in expected, (args, code, out, err)
            assert "Traceback" not in out + err
    assert diff_trees(before, tree(project, skip=DERIVED)) == []
    assert diff_trees(before_outside, _outside(work, project)) == []
    _assert_nothing_ran(work, project)

    # and once through the real command line, as a child process
    for name in names[:8]:
        result = run("start", name, cwd=project)
        assert result.returncode == 2, (name, result.stdout, result.stderr)
    _assert_nothing_ran(work, project)


def test_hostile_cycle_titles_stay_inside_the_project_and_run_nothing(
    project: Path, work: Path, agents: Any
) -> None:
    """In the per-cycle layout a title becomes a folder name: every hostile title gives
    a plain slug under docs/cycles/, and the agent receives the title as inert text."""
    assert sdd_json("layout", "per-cycle", cwd=project)
    before_outside = _outside(work, project)
    titles = _hostile_names(work.parent)
    opened = {}
    for title in titles:
        code, out, err = in_process("new", "--json", "--", title, cwd=project)
        assert code == 0, (title, code, out, err)
        opened[title] = json.loads(out)["data"]
    assert diff_trees(before_outside, _outside(work, project)) == []
    _assert_nothing_ran(work, project)
    folders = sorted(p.name for p in (project / "docs" / "cycles").iterdir())
    for name in folders:
        assert re.fullmatch(r"\d{3}-[a-z0-9]+(-[a-z0-9]+)*", name), name
    assert len(folders) == 1 + len(opened)
    status = sdd_json("status", "--all", cwd=project)
    assert "\x1b" not in json.dumps(status, ensure_ascii=False).replace("\\u001b", "")
    tracker = (project / "docs" / "session-tracker.md").read_text(encoding="utf-8")
    assert "\x1b" not in tracker and "\x07" not in tracker

    # the agent of a hostile-titled cycle gets the title as text in its brief, and nothing runs
    title = f"$(touch {work.parent / 'pwned-abs'}); touch pwned"
    code, out, err = in_process("new", "--json", "--", title, cwd=project)
    assert code == 0, err
    number = json.loads(out)["data"]["cycle"]
    result = run(
        "run",
        "spec",
        "--cycle",
        str(number),
        "--agent",
        "claude",
        "--headless",
        cwd=project,
        env=agents.env("nothing"),
    )
    assert result.returncode in (0, 1), result.stderr
    argv = agents.record()["argv"]
    assert any(title in arg for arg in argv), argv
    _assert_nothing_ran(work, project)
    written = diff_trees(before_outside, _outside(work, project))
    assert written == [f"+ {agents.record_file.name}"], written  # only the fake agent's own record


def test_hostile_task_ids_are_refused_and_write_nothing(project_at: Any, work: Path) -> None:
    root = project_at("implement")
    before = tree(root, skip=DERIVED)
    before_outside = _outside(work, root)
    for task in _some_hostile_names(work.parent):
        for args in (
            ["start", "implement", "--task", task],
            ["prompt", "implement", "--task", task],
        ):
            code, out, err = in_process(*args, cwd=root)
            assert code in (2, 3), (args, code, out, err)
    assert diff_trees(before, tree(root, skip=DERIVED)) == []
    assert diff_trees(before_outside, _outside(work, root)) == []
    _assert_nothing_ran(work, root)
    result = run("start", "--task", "../../T1", cwd=root)
    assert result.returncode == 2, result.stderr


def test_arguments_that_are_not_utf8_are_a_message_never_a_crash(project: Path) -> None:
    """A terminal in another encoding passes bytes that are not UTF-8: refused or kept as
    text, never a crash, and the history stays loadable."""
    from helpers import SDD

    for args in (
        [b"findings", b"add", b"bad \xff byte", b"--severity", b"minor", b"--stage", b"qa"],
        [b"change", b"--stage", b"spec", b"rework \xff it"],
        [b"start", b"sp\xffec"],
    ):
        result = subprocess.run(
            [*map(os.fsencode, SDD), *args],
            cwd=project,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
        shown = (result.stdout + result.stderr).decode(errors="replace")
        assert "Traceback" not in shown and "crashed" not in shown, (args, shown)
        assert result.returncode in (0, 1, 2), (args, result.returncode, shown)
    data = sdd_json("status", cwd=project)
    assert data["problems"] == [] and data["warnings"] == []


def test_control_characters_an_agent_records_never_reach_the_persons_terminal(
    project: Path,
) -> None:
    """Agents record findings (CLI, MCP). Text they record must not reach the person's
    terminal as raw control sequences (retitle, clear the screen, move the cursor over a
    line): shown or escaped as text, never interpreted."""
    text = "looks fine \x1b]0;pwned\x07\x1b[2J\x1b[1A\x1b[2K hidden\x08\x08\x08 \x9b31m"
    result = run("findings", "add", text, "--severity", "minor", "--stage", "qa", cwd=project)
    assert result.returncode == 0, result.stderr
    for args in (["findings"], ["status"], ["log"]):
        shown = run(*args, cwd=project)
        assert shown.returncode == 0, shown.stderr
        raw = [c for c in shown.stdout + shown.stderr if c in "\x1b\x07\x08\x9b"]
        assert not raw, f"`sdd {args[0]}` sent raw control characters: {raw!r}"
    listed = sdd_json("findings", cwd=project)
    assert any("looks fine" in f["text"] for f in listed)  # the JSON keeps (escaped) text


# ----------------------------------------------------------------------------- templates


def test_templates_are_filled_without_evaluating_anything(project: Path, work: Path) -> None:
    marker = work.parent / "pwned-abs"
    payloads = [
        f"{{__import__('os').system('touch {marker}')}}",
        "{{7*7}}",
        "${HOME} and $HOME",
        f"$(touch {marker})",
        "{stage.__class__.__mro__}",
        "{0} {1} %(name)s %s",
        "<% 7*7 %> {% raw %}",
        "!`touch pwned` @{file} $ARGUMENTS",
    ]
    template = project / "sessions" / "spec.md"
    text = template.read_text(encoding="utf-8")
    template.write_text(text.rstrip("\n") + "\n\n" + "\n\n".join(payloads) + "\n", encoding="utf-8")

    result = run("prompt", "spec", cwd=project)
    assert result.returncode == 0, result.stderr
    for payload in payloads:
        assert payload in result.stdout, f"the brief changed {payload!r}"
    # (the folder's own name may hold a 49: pytest numbers its folders)
    assert "49" not in result.stdout.replace(str(work.parent), "")
    session = sdd_json("start", "spec", cwd=project)
    page = (project / session["page"]).read_text(encoding="utf-8")
    for payload in payloads:
        assert payload in page
    _assert_nothing_ran(work, project)
    assert not marker.exists()


# ----------------------------------------------------------------------------- symlinks


def _history_bytes(root: Path) -> bytes:
    return history_path(root).read_bytes()


def _assert_clear_refusal(code: int, out: str, err: str) -> None:
    assert code in (1, 3), (code, out, err)
    text = (out + err).lower()
    assert "outside the project" in text or "symbolic link" in text, err
    assert "Traceback" not in out + err


def test_a_document_linked_outside_the_project_is_not_written_through(
    project: Path, work: Path
) -> None:
    outside = work / "outside.md"
    outside.write_text("OUTSIDE — must stay as it is\n", encoding="utf-8")
    spec = project / "docs" / "product-spec.md"
    spec.unlink()
    spec.symlink_to(os.path.relpath(outside, spec.parent))
    history = _history_bytes(project)
    for args in (
        ["start", "spec"],
        ["prompt", "spec"],
        ["check"],
        ["layout", "per-cycle"],
        ["init", "."],
    ):
        code, out, err = in_process(*args, cwd=project)
        _assert_clear_refusal(code, out, err)
        assert outside.read_text(encoding="utf-8") == "OUTSIDE — must stay as it is\n"
        assert spec.is_symlink()
    assert _history_bytes(project) == history


def test_a_docs_folder_linked_outside_the_project_is_not_written_through(
    project: Path, work: Path
) -> None:
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    (project / "docs" / "sessions").symlink_to(elsewhere)
    history = _history_bytes(project)
    result = run("start", "spec", cwd=project)
    _assert_clear_refusal(result.returncode, result.stdout, result.stderr)
    assert list(elsewhere.iterdir()) == []
    assert _history_bytes(project) == history

    # the per-cycle layout's folder too
    cycles = work / "elsewhere-cycles"
    cycles.mkdir()
    (project / "docs" / "sessions").unlink()
    assert sdd_json("layout", "per-cycle", cwd=project)
    moved = project / "docs" / "cycles"
    shutil.rmtree(moved)
    moved.symlink_to(cycles)
    before = list(cycles.rglob("*"))
    history = _history_bytes(project)
    code, out, err = in_process("new", "Second cycle", cwd=project)
    _assert_clear_refusal(code, out, err)
    assert list(cycles.rglob("*")) == before
    assert _history_bytes(project) == history


def test_a_tracker_linked_outside_the_project_is_not_written_through(
    project: Path, work: Path
) -> None:
    """The tracker page is generated on every command: a link put in its place is refused,
    and a command refused for it records nothing."""
    outside = work / "tracker-outside.md"
    outside.write_text("OUTSIDE\n", encoding="utf-8")
    tracker = project / "docs" / "session-tracker.md"
    tracker.unlink()
    tracker.symlink_to(os.path.relpath(outside, tracker.parent))
    history = _history_bytes(project)
    for args in (
        ["status"],
        ["findings", "add", "a problem", "--severity", "minor", "--stage", "qa"],
    ):
        result = run(*args, cwd=project)
        _assert_clear_refusal(result.returncode, result.stdout, result.stderr)
        assert outside.read_text(encoding="utf-8") == "OUTSIDE\n"
        assert tracker.is_symlink()
        assert _history_bytes(project) == history, (
            f"`sdd {' '.join(args)}` failed on the linked tracker but recorded its change"
        )


def test_a_history_record_cannot_point_sdd_outside_the_project(project: Path, work: Path) -> None:
    """A record arrives by merge from someone else's branch. Its document digest is a path
    (`/../../…/plan.md`): sdd must neither read nor write outside the project for it, and
    the approval it claims does not count."""
    target = work / "target"
    target.mkdir()
    (target / "plan.md").write_text("### T1: planted\n", encoding="utf-8")
    digest = "/" + "../" * 24 + str(target / "plan.md").lstrip("/")
    records = history_records(project)
    record = hand_built(
        "gate.approve",
        {
            "cycle": 1,
            "gate": "implementation-approval",
            "by": {"kind": "person", "name": "Mallory"},
            "docs": {"docs/implementation-plan.md": digest},
            "confirmed": "code",
        },
        after=records[-1]["id"],
        root=project,
    )
    with history_path(project).open("ab") as handle:
        handle.write(json.dumps(record).encode() + b"\n")
    before_outside = _outside(work, project)
    data = sdd_json("status", cwd=project)
    run("tasks", cwd=project)
    run("doctor", cwd=project)
    assert diff_trees(before_outside, _outside(work, project)) == [], (
        "sdd wrote outside the project"
    )
    assert any(p["record"] == record["id"] for p in data["problems"]), data["problems"]
