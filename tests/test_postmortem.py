"""`sdd postmortem`: figures computed from the recorded history, exactly.

The history (late_helpers.build_history) is built through the command line with sdd's clock
set for every command (SDD_NOW), so every duration is known: two spec sessions and a
rejected spec-approval, an abandoned architecture session, a minor finding in review, a
blocking finding in QA that loops back to implement, a red verify in the fix session, a
user verification prepared and its walk interrupted and resumed, a rejected user-approval,
then the release and an open post-mortem session. Then: the post-mortem session, the lessons
it records reaching the next cycle's briefs, the template changes it makes recorded, and
`sdd demo`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers import git, run, sdd_json, status, tick
from late_helpers import (  # noqa: F401
    ALL_PASS,
    ITEMS,
    SLUG,
    TYPE_CODE,
    WALK,
    at,
    by_hand,
    decide,
    end_script,
    history,
    iso,
    milestone_fixture,
    pty_dialogue,
    timed_session,
    walk_script,
)

DOC = f"docs/post-mortems/{SLUG}.md"
BEGIN = "<!-- sdd:figures:begin"
END = "<!-- sdd:figures:end -->"


def _row(sessions: int, seconds: float, **outcomes: int) -> dict[str, Any]:
    counts = {"complete": 0, "abandoned": 0, "interrupted": 0, "failed": 0, "open": 0}
    assert set(outcomes) <= set(counts)
    return {"sessions": sessions, "seconds": seconds, **counts, **outcomes}


EXPECTED: dict[str, Any] = {
    "cycle": 1,
    "title": "Password reset",
    "document": DOC,
    "stages": {
        "spec": _row(2, 500, complete=2),  # 100→400, 600→800
        # 1100→1150 abandoned; failed and interrupted at 1160 and 1170 (0 s each); 1200→1500
        "architecture": _row(4, 350, complete=1, abandoned=1, failed=1, interrupted=1),
        "plan": _row(1, 400, complete=1),  # 1600→2000
        "implement": _row(2, 1000, complete=2),  # 2400→3000, 3800→4200 (the fix)
        "review": _row(2, 300, complete=2),  # 3100→3300, 4300→4400
        "qa": _row(2, 400, complete=2),  # 3400→3700, 4500→4600
        "user-verification": _row(2, 300, complete=2),  # 4700→(resumed)→5000, 5400→5400
        "final-verification": _row(1, 300, complete=1),  # 5500→5800
        "postmortem": _row(1, 0, open=1),  # started at 6600, still open
    },
    "gates": {
        # rejected at 500 (spec done at 400), approved at 1000 (spec done again at 800)
        "spec-approval": {"approvals": 1, "rejections": 1, "waiting_seconds": 100 + 200},
        "implementation-approval": {"approvals": 1, "rejections": 0, "waiting_seconds": 300},
        # rejected at 5300 (verification done at 5000), approved at 5400 right after the walk
        "user-approval": {"approvals": 1, "rejections": 1, "waiting_seconds": 300},
        "deployment-approval": {"approvals": 1, "rejections": 0, "waiting_seconds": 600},
    },
    "rejections": [
        {
            "gate": "spec-approval",
            "reason": "stories lack error cases",
            "to": "spec",
            "at": iso(500),
        },
        {
            "gate": "user-approval",
            "reason": "the wording confuses people",
            "to": "user-verification",
            "at": iso(5300),
        },
    ],
    "loops": [
        {
            "caused_by": "qa",
            "source": "finding F-2 from qa",
            "reason": "F-2 (blocking, found in qa): expired links still work",
            "at": iso(3500),
        }
    ],
    "abandoned": ["S-0003"],
    "interrupted": ["S-0005"],
    "failed": ["S-0004"],
    "findings": {
        "total": 2,
        "blocking": 1,
        "by_stage": {"review": 1, "qa": 1},
        # F-1 names no place: found after the code was written, it escaped the code (derived);
        # F-2 was recorded as escaped from review
        "escaped_from": {"implement": 1, "review": 1},
        "escapes": [
            {
                "finding": "F-1",
                "severity": "minor",
                "found_in": "review",
                "escaped_from": "implement",
                "how": "code",
            },
            {
                "finding": "F-2",
                "severity": "blocking",
                "found_in": "qa",
                "escaped_from": "review",
                "how": "recorded",
            },
        ],
    },
    "waivers": {"count": 0, "list": []},
    # green when the first implement completed, red at 3900, green when the fix completed;
    # and the checks user-approval (twice: once cancelled) and deployment-approval run
    # themselves before the person decides (issue 16)
    "verify": {"runs": 6, "failures": 1, "failed_checks": {"tests": 1}},
}

EXPECTED_TEXT = """\
| stage | sessions | complete | abandoned | interrupted | failed | time |
|---|---|---|---|---|---|---|
| spec | 2 | 2 | 0 | 0 | 0 | 8 min 20 s |
| architecture | 4 | 1 | 1 | 1 | 1 | 5 min 50 s |
| plan | 1 | 1 | 0 | 0 | 0 | 6 min 40 s |
| implement | 2 | 2 | 0 | 0 | 0 | 16 min 40 s |
| review | 2 | 2 | 0 | 0 | 0 | 5 min |
| qa | 2 | 2 | 0 | 0 | 0 | 6 min 40 s |
| user-verification | 2 | 2 | 0 | 0 | 0 | 5 min |
| final-verification | 1 | 1 | 0 | 0 | 0 | 5 min |
| postmortem | 1 | 0 | 0 | 0 | 0 | 0 s |

| gate | approvals | rejections | waiting |
|---|---|---|---|
| spec-approval | 1 | 1 | 5 min |
| implementation-approval | 1 | 0 | 5 min |
| user-approval | 1 | 1 | 5 min |
| deployment-approval | 1 | 0 | 10 min |

Loops back to implementation: 1
- caused by qa: F-2 (blocking, found in qa): expired links still work

Gate rejections: 2
- spec-approval → back to spec: stories lack error cases
- user-approval → back to user-verification: the wording confuses people

Findings: 2 (1 blocking); found in: review 1, qa 1; escaped from: implement 1, review 1
- F-1 (minor) found in review, escaped from implement (the code)
- F-2 (blocking) found in qa, escaped from review (as recorded)
Waivers: 0
Abandoned sessions: S-0003; interrupted: S-0005; failed: S-0004
Verify runs: 6, red: 1 (tests 1)"""


def _figures_block(text: str) -> str:
    assert BEGIN in text and END in text, text
    inside = text.split(BEGIN, 1)[1].split(END, 1)[0]
    return inside.split("\n", 1)[1].rstrip("\n")  # after the marker's own line


def test_exact_figures_from_a_known_history(milestone: Any) -> None:
    root = milestone("history")
    data = sdd_json("postmortem", cwd=root, env=at(6700))
    assert data == EXPECTED
    # the same whenever it is asked: figures come from the history, not from the clock
    assert sdd_json("postmortem", "--cycle", "1", cwd=root, env=at(99_999)) == EXPECTED

    text = run("postmortem", cwd=root, env=at(6700))
    assert text.returncode == 0, text.stderr
    assert text.stdout == f"Cycle 1: Password reset\n\n{EXPECTED_TEXT}\nWritten into {DOC}.\n"

    # the post-mortem document carries the same figures between its markers; the analysis
    # around them is the session's and stays as it was
    document = (root / DOC).read_text(encoding="utf-8")
    assert _figures_block(document) == EXPECTED_TEXT
    assert document.count(BEGIN) == 1 and document.count(END) == 1
    for heading in (
        "## What went wrong",
        "## What slowed development",
        "## What escaped testing",
        "## Process changes",
    ):
        assert heading in document
    before = document
    assert sdd_json("postmortem", cwd=root, env=at(6800)) == EXPECTED
    assert (root / DOC).read_text(encoding="utf-8") == before  # rewriting changes nothing


def test_the_figures_agree_with_what_the_history_shows(milestone: Any) -> None:
    """The known history really is what the figures say: checked against the records."""
    root = milestone("history")
    records = history(root)
    ends = {r["session"]: r for r in records if r["type"] == "session.end"}
    starts = [r for r in records if r["type"] == "session.start"]
    assert len(starts) == 17
    outcomes = {s["session"]: ends[s["session"]]["outcome"] for s in starts if s["session"] in ends}
    assert {k: v for k, v in outcomes.items() if v != "complete"} == {
        "S-0003": "abandoned",
        "S-0004": "failed",
        "S-0005": "interrupted",
    }
    assert "S-0017" not in outcomes  # the post-mortem, still open
    runs = [r for r in records if r["type"] == "verify.run"]
    # the implement, QA's red run, the fix; then the checks user-approval (twice: the first
    # decision was cancelled) and deployment-approval ran themselves before the person decided
    assert [r["ok"] for r in runs] == [True, False, True, True, True, True]
    assert runs[1]["at"] == iso(3900)
    rejected = [r for r in records if r["type"] == "gate.reject"]
    assert [(r["gate"], r["at"]) for r in rejected] == [
        ("spec-approval", iso(500)),
        ("user-approval", iso(5300)),
    ]
    release = [r for r in records if r["type"] == "release"]
    assert len(release) == 1 and release[0]["tag"] == "v1.0.0"
    assert git("cat-file", "-t", "v1.0.0", cwd=root).stdout.strip() == "tag"


def test_figures_of_another_cycle(milestone: Any) -> None:
    root = milestone("history")
    assert sdd_json("status", cwd=root)["sessions"][-1]["stage"] == "postmortem"
    _complete_postmortem(root, when=6800)
    opened = run("new", "Second", cwd=root, env=at(7000))
    assert opened.returncode == 0, opened.stderr

    second = sdd_json("postmortem", cwd=root, env=at(7100))
    assert second["cycle"] == 2 and second["title"] == "Second"
    assert second["document"] is None  # no post-mortem for cycle 2 yet
    assert all(row == _row(0, 0) for row in second["stages"].values())
    assert all(
        row == {"approvals": 0, "rejections": 0, "waiting_seconds": 0}
        for row in second["gates"].values()
    )
    assert second["loops"] == [] and second["rejections"] == []
    assert second["findings"] == {
        "total": 0,
        "blocking": 0,
        "by_stage": {},
        "escaped_from": {},
        "escapes": [],
    }
    assert second["waivers"] == {"count": 0, "list": []}
    assert second["verify"] == {"runs": 0, "failures": 0, "failed_checks": {}}
    text = run("postmortem", cwd=root, env=at(7100)).stdout
    assert "sdd start postmortem" in text  # where the figures will go

    first = sdd_json("postmortem", "--cycle", "1", cwd=root, env=at(7100))
    done = dict(EXPECTED, stages=dict(EXPECTED["stages"], postmortem=_row(1, 200, complete=1)))
    assert first == done
    bad = run("postmortem", "--cycle", "9", cwd=root)
    assert bad.returncode == 2, bad.stdout + bad.stderr


def test_a_rejected_user_approval_is_a_loop_caused_by_user_verification(milestone: Any) -> None:
    root = milestone("uv-ready")
    timed_session(root, "user-verification", 100, 100)  # prepared by an agent
    code, shown = pty_dialogue(
        WALK, root, [*walk_script(ALL_PASS, len(ITEMS)), *end_script()], env=at(100)
    )
    assert code == 0, shown
    decide(root, "reject", "user-approval", "--reason", "too slow to be usable", when=400)
    data = sdd_json("postmortem", cwd=root)
    assert data["rejections"] == [
        {
            "gate": "user-approval",
            "reason": "too slow to be usable",
            "to": "implement",
            "at": iso(400),
        }
    ]
    assert data["loops"] == [
        {
            "caused_by": "user-verification",
            "source": "user-approval rejected",
            "reason": "too slow to be usable",
            "at": iso(400),
        }
    ]
    assert data["gates"]["user-approval"] == {
        "approvals": 0,
        "rejections": 1,
        "waiting_seconds": 300,
    }
    assert data["stages"]["user-verification"] == _row(1, 0, complete=1)
    text = run("postmortem", cwd=root).stdout
    assert (
        "Loops back to implementation: 1\n- caused by user-verification: too slow to be usable"
        in text
    )
    assert "- user-approval → back to implement: too slow to be usable" in text


ANALYSIS = """## What went wrong
- QA found that expired links still work (F-2); review had missed it.

## What slowed development
- One loop back to implementation and a rejected user-approval.

## What escaped testing
- F-2 escaped from review: nobody tried an expired link.

## Process changes
- sessions/qa.md: try every link again after it expires.
- sessions/spec.md: every story names its error cases.
"""
QA_LESSON = "sessions/qa.md: try every link again after it expires."
SPEC_LESSON = "sessions/spec.md: every story names its error cases."
QA_ITEM = "  - Try every link again after it expires\n"


def _complete_postmortem(root: Path, when: int, *, evolve: bool = False) -> dict[str, Any]:
    session = sdd_json("status", cwd=root)["sessions"][-1]
    document = root / DOC
    head = document.read_text(encoding="utf-8").split("## What went wrong")[0]
    document.write_text(head + ANALYSIS, encoding="utf-8")
    if evolve:  # the session applies its process change to the project's own template
        template = root / "sessions" / "qa.md"
        text = template.read_text(encoding="utf-8")
        template.write_text(
            text.replace("checklist:\n", "checklist:\n" + QA_ITEM, 1), encoding="utf-8"
        )
    tick(root / session["page"], "Post-mortem written; the QA template now asks for expired links.")
    done = run("done", cwd=root, env=at(when))
    assert done.returncode == 0, done.stdout + done.stderr
    return session  # type: ignore[no-any-return]


def test_the_postmortem_needs_its_analysis(milestone: Any) -> None:
    root = milestone("history")
    session = sdd_json("status", cwd=root)["sessions"][-1]
    tick(root / session["page"], "nothing written yet")
    done = run("done", cwd=root, env=at(6700))
    assert done.returncode == 1, done.stdout + done.stderr
    assert DOC in done.stderr
    assert status(root)["sessions"][-1]["outcome"] == "open"


def test_lessons_reach_the_next_cycle_and_template_changes_are_recorded(milestone: Any) -> None:
    root = milestone("history")
    session = _complete_postmortem(root, when=6800, evolve=True)
    assert status(root)["cycle"]["state"] == "finished"
    document = (root / DOC).read_text(encoding="utf-8")
    assert ANALYSIS in document and BEGIN in document

    # the change to sessions/qa.md, made during the post-mortem session, is recorded as its
    changes = [r for r in history(root) if r["type"] == "template.change"]
    assert len(changes) == 1
    assert changes[0]["source"] == f"post-mortem {session['id']}"
    assert list(changes[0]["hashes"]) == ["sessions/qa.md"]
    log = run("log", cwd=root).stdout
    assert f"process changed: sessions/qa.md (post-mortem {session['id']})" in log
    logged = [e for e in sdd_json("log", cwd=root) if e["type"] == "template.change"]
    assert len(logged) == 1 and "sessions/qa.md" in logged[0]["text"]

    # a change by hand, outside any post-mortem, is recorded too
    review = root / "sessions" / "review.md"
    review.write_text(
        review.read_text(encoding="utf-8") + "\nCheck the logs for secrets.\n", encoding="utf-8"
    )
    opened = run("new", "Second", cwd=root, env=at(7000))
    assert opened.returncode == 0, opened.stderr
    assert "process changed: sessions/review.md (by hand)" in run("log", cwd=root).stdout
    changes = [r for r in history(root) if r["type"] == "template.change"]
    assert [(list(c["hashes"]), c["source"]) for c in changes][-1] == (
        ["sessions/review.md"],
        "by hand",
    )

    # the lesson for spec is in the next cycle's spec brief; the one for qa is not
    brief = sdd_json("prompt", "spec", cwd=root)["brief"]
    assert "## Lessons for spec from earlier post-mortems" in brief
    assert f"- cycle 1: {SPEC_LESSON}" in brief
    assert QA_LESSON not in brief
    spec = by_hand(root, "spec", env=at(7100))
    page = (root / spec["page"]).read_text(encoding="utf-8")
    assert SPEC_LESSON in page  # the session's brief, as its page keeps it

    # … and the lesson for qa reaches the QA brief of cycle 2
    decide(root, "approve", "spec-approval", when=7200)
    for number, stage in enumerate(("architecture", "plan"), start=1):
        by_hand(root, stage, env=at(7200 + 100 * number))
    decide(root, "approve", "implementation-approval", when=7500)
    for number, stage in enumerate(("implement", "review"), start=1):
        by_hand(root, stage, env=at(7500 + 100 * number))
    assert sdd_json("next", cwd=root)["stage"] == "qa"
    brief = sdd_json("prompt", "qa", cwd=root)["brief"]
    assert "## Lessons for qa from earlier post-mortems" in brief
    assert f"- cycle 1: {QA_LESSON}" in brief
    assert SPEC_LESSON not in brief
    assert QA_ITEM.strip()[2:] in brief  # the evolved template itself is the brief's checklist


def test_the_demo_completes_through_release_with_real_figures(work: Path) -> None:
    result = run("demo", "tour", "--json", cwd=work)
    assert result.returncode == 0, result.stdout + result.stderr
    root = work / "tour"
    data = status(root)
    assert data["cycle"]["state"] == "finished"
    records = history(root)

    # released, with an annotated tag at sdd's records of it, committed on the released commit
    release = [r for r in records if r["type"] == "release"]
    assert len(release) == 1
    tag = release[0]["tag"]
    assert tag and git("cat-file", "-t", tag, cwd=root).stdout.strip() == "tag"
    assert git("rev-parse", f"{tag}^{{commit}}^", cwd=root).stdout.strip() == release[0]["head"]
    approvals = {r["id"]: r for r in records if r["type"] == "gate.approve"}
    assert approvals[release[0]["approval"]]["gate"] == "deployment-approval"
    runs = {r["id"]: r for r in records if r["type"] == "verify.run"}
    assert runs[release[0]["verify"]]["ok"] is True

    # the post-mortem's figures are the history's
    figures = sdd_json("postmortem", cwd=root)
    sessions = data["sessions"]
    assert len(sessions) == len([r for r in records if r["type"] == "session.start"])
    stages = {s["name"] for s in data["stages"]}
    for stage in stages:
        mine = [s for s in sessions if s["stage"] == stage]
        row = figures["stages"][stage]
        assert row["sessions"] == len(mine), stage
        assert row["complete"] == sum(1 for s in mine if s["outcome"] == "complete"), stage
        seconds = sum(_epoch(s["ended"]) - _epoch(s["started"]) for s in mine if s["ended"])
        assert row["seconds"] == seconds, stage
    assert figures["stages"]["implement"]["sessions"] >= 2  # the fix loop is in it
    assert (
        figures["findings"]["total"] == len([r for r in records if r["type"] == "finding.add"]) >= 1
    )
    assert figures["loops"] and figures["loops"][0]["caused_by"] == "qa"
    assert figures["verify"] == {
        "runs": len(runs),
        "failures": sum(1 for r in runs.values() if not r["ok"]),
        "failed_checks": {},
    }
    assert all(g["approvals"] == 1 and g["rejections"] == 0 for g in figures["gates"].values())

    document = (root / figures["document"]).read_text(encoding="utf-8")
    block = _figures_block(document)
    assert f"| implement | {figures['stages']['implement']['sessions']} |" in block
    assert f"Loops back to implementation: {len(figures['loops'])}" in block
    assert f"Verify runs: {len(runs)}" in block
    # and the post-mortem's process change to the plan template is recorded
    changes = [r for r in records if r["type"] == "template.change"]
    postmortem = next(s for s in sessions if s["stage"] == "postmortem")
    assert [(list(c["hashes"]), c["source"]) for c in changes] == [
        (["sessions/plan.md"], f"post-mortem {postmortem['id']}")
    ]


def _epoch(stamp: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_lessons_are_brief(milestone: Any) -> None:
    """At most three lessons per stage reach a brief, each cut to a short line."""
    root = milestone("history")
    session = sdd_json("status", cwd=root)["sessions"][-1]
    long_lesson = "sessions/spec.md: " + "ask about every error case in detail; " * 40
    changes = "\n".join(
        [f"- sessions/spec.md: lesson number {n}." for n in range(1, 5)] + [f"- {long_lesson}"]
    )
    document = root / DOC
    head = document.read_text(encoding="utf-8").split("## What went wrong")[0]
    document.write_text(
        head + ANALYSIS.split("## Process changes")[0] + "## Process changes\n" + changes + "\n",
        encoding="utf-8",
    )
    tick(root / session["page"], "Post-mortem written.")
    assert run("done", cwd=root, env=at(6800)).returncode == 0
    assert run("new", "Second", cwd=root, env=at(7000)).returncode == 0
    brief = sdd_json("prompt", "spec", cwd=root)["brief"]
    section = brief.split("## Lessons for spec from earlier post-mortems", 1)[1].strip()
    lessons = [line for line in section.split("\n\n", 1)[0].splitlines() if line.startswith("- ")]
    assert 0 < len(lessons) <= 3, section
    assert all(len(line) <= 320 for line in lessons), lessons
    assert lessons[0] == "- cycle 1: sessions/spec.md: lesson number 1."
