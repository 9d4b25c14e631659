"""Helpers for the tests of the person's stages, the release, the post-mortem and template
upgrades (test_user_verification, test_release, test_postmortem, test_templates_upgrade).

Everything drives the installed `sdd` command line as child processes, with real git and
real pseudo-terminals; nothing of sdd is imported here. The documents written below are
what an agent would write (modelled on the demo agent's word-frequency program), so that
the user-verification checklist has distinct, known items.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from helpers import (
    VERIFY_CONFIG,
    approve,
    commit_all,
    do_work,
    git,
    init_project,
    pty_detached,
    run,
    sdd_json,
    tick,
)

SLUG = "001-password-reset"

# ----------------------------------------------------------------------------- documents

SPEC = """\
# Product specification

## Overview
A command-line tool, `wordfreq`, that reads a text file and prints how often each word occurs,
most frequent first. Out of scope: stemming, a graphical interface.

## User stories

### US-1: Count the words of a file
As a writer, I want the count of every word in a file, so that I see which words I overuse.

Acceptance criteria:
- `wordfreq FILE` prints one line per distinct word, highest count first.
- Words are case-folded before counting.

### US-2: Show only the top words
As a writer, I want only the N most frequent words, so that a long file gives a short answer.

Acceptance criteria:
- `wordfreq FILE --top N` prints at most N lines.
- `--top 0` is refused with exit code 2 and a message.

## Inputs and outputs
- Input: a UTF-8 text file named on the command line.
- Output: lines `count word` on standard output; errors on standard error.

## Constraints
- Python standard library only; runs offline.

## Failure behaviour
- A missing file: a message naming it, exit code 1.

## Performance expectations
- A 10 MB file is counted in under 2 seconds.

## Open questions
- Q1 (blocking): Should numbers count as words?
  Answer: Yes, digits are kept.

## Confidence
Confidence: 97 %
"""

ARCHITECTURE = """\
# Architecture

## Context
`wordfreq` serves US-1 and US-2: one process reads one file and prints counts.

## Options considered

### Option A: Read the whole file, count with collections.Counter
The file is read into memory and counted.

Trade-offs:
- Simplest code, easy to test.
- Memory grows with the file.

### Option B: Stream the file line by line
Each line is split and counted as it is read.

Trade-offs:
- Constant memory for the text itself.
- Slightly more code.

## Decisions
- D1: Stream line by line (Option B). Why: constant memory at no real cost.

## Components
- counter (wordfreq.py: `count_words`): turns lines into a Counter of case-folded words.
- cli (wordfreq.py: `main`): parses arguments, reports errors, prints the ranking.

## Data flow
1. `main` opens the file, passes its lines to `count_words`, prints `count word` lines.

## Risks
- Very large files. Likelihood: low. Impact: slow output. Mitigation: streaming.
"""

PLAN = """\
# Implementation plan

## Tasks

### T1: Count words in a file, with --top
- Stories: US-1, US-2
- Depends on: none
- Risk: medium
- Effort: 1h

Acceptance criteria:
- `wordfreq FILE` prints `count word` lines, highest count first; `--top N` limits them.
"""

TEST_PLAN = """\
# Test plan

## Test cases

### TC-1: Counts and order
- Stories: US-1
- Kind: functional
- Steps: Run `wordfreq` on a file holding "b a b".
- Expected: Lines `2 b` then `1 a`.

### TC-2: Missing file
- Stories: US-1
- Kind: invalid input
- Steps: Run `wordfreq no-such-file`.
- Expected: Exit code 1 and a message naming the file.

### TC-3: Empty file
- Stories: US-2
- Kind: edge case
- Steps: Run on an empty file with `--top 1`.
- Expected: No output, exit code 0.

### TC-4: Two runs at once
- Stories: US-1
- Kind: concurrency
- Steps: Run two counts of the same file at the same time.
- Expected: Identical output from both.

### TC-5: A large file
- Stories: US-1, US-2
- Kind: performance stress
- Steps: Count a generated 10 MB file.
- Expected: Finishes in under 2 seconds.
"""

# The user verification an agent prepares for these documents: how to run it (commands in a
# fenced block), and one item per acceptance criterion and per test case, every kind.
RUN_BLOCK = """\
```sh
printf 'b a b\\n' > sample.txt
python wordfreq.py sample.txt --top 10
```"""

PREPARED_ITEMS = [
    ("US-1.1", "`wordfreq FILE` prints one line per distinct word, highest count first"),
    ("US-1.2", "Words are case-folded before counting"),
    ("US-2.1", "`wordfreq FILE --top N` prints at most N lines"),
    ("US-2.2", "`--top 0` is refused with exit code 2 and a message"),
    ("TC-1", "Counts and order"),
    ("TC-2", "Missing file"),
    ("TC-3", "Empty file"),
    ("TC-4", "Two runs at once"),
    ("TC-5", "A large file"),
]
ITEMS = [ident for ident, _ in PREPARED_ITEMS]
ITEM_TEXT = {ident: f"{ident}: {title}" for ident, title in PREPARED_ITEMS}


def prepared(n: str = "1", items: Sequence[tuple[str, str]] = PREPARED_ITEMS) -> str:
    """The page a user-verification session writes (as an agent would)."""
    body = "\n\n".join(
        f"### {ident}: {title}\n- Steps: for {ident}, run it:\n\n  ```sh\n  python wordfreq.py "
        f"sample.txt  # {ident}\n  ```\n\n- Expected: what {ident} says."
        for ident, title in items
    )
    return (
        f"# User verification {n}: Password reset\n\nCycle: {SLUG}. Date: 2030-01-01.\n\n"
        f"## How to run it\nFrom a clean checkout:\n\n{RUN_BLOCK}\n\n## Items\n\n{body}\n"
    )


README = """\
# wordfreq

## Usage
Run `python wordfreq.py FILE --top 10` from the project folder.
"""

CODE = '''\
"""wordfreq: how often each word occurs in a text file."""

import sys
from collections import Counter


def count_words(lines):
    counts = Counter()
    for line in lines:
        counts.update(word.casefold() for word in line.split())
    return counts


def main(argv):
    counts = count_words(open(argv[0], encoding="utf-8"))
    for word, n in counts.most_common():
        print(n, word)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''

TESTS = """\
import unittest

from wordfreq import count_words


class CountWords(unittest.TestCase):
    # TC-1, TC-2, TC-3, TC-4, TC-5: the test plan's cases, all checked here
    def test_case_folding(self) -> None:
        self.assertEqual(count_words(["The the THE"])["the"], 3)
"""

# A fix that a fix session commits: --top is now handled.
FIXED_CODE = CODE.replace(
    "    for word, n in counts.most_common():",
    '    top = int(argv[2]) if argv[1:2] == ["--top"] else None\n'
    "    for word, n in counts.most_common(top):",
)

RELEASE_OK = """\
# Release checklist: Password reset

Cycle: 001-password-reset. Date: 2026-11-25.

## Security
- OK Input from users and files is validated — evidence: TC-2 passes in the QA report.
- OK No secrets in code, configuration or git history — evidence: the program has no configuration.

## Performance
- OK A 10 MB file is counted in under 2 seconds — evidence: QA report, TC-5.

## Tests
- OK Full suite green at HEAD — evidence: `sdd verify` green at HEAD.
- OK Every user story covered by passing tests — evidence: US-1 and US-2 by test_wordfreq.

## Documentation
- OK README and usage describe current behaviour — evidence: README.md, section Usage.

## Decision
Ready for deployment approval.
"""

UNCERTAIN_ITEM = "Dependencies free of known vulnerabilities — nobody has checked the lock file"
RELEASE_UNCERTAIN = RELEASE_OK.replace(
    "- OK No secrets in code, configuration or git history — evidence: the program has no configuration.\n",
    "- OK No secrets in code, configuration or git history — evidence: the program has no configuration.\n"
    f"- UNCERTAIN {UNCERTAIN_ITEM}\n",
)


def write(root: Path, relative: str, text: str) -> None:
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def write_code(root: Path, code: str = CODE) -> None:
    write(root, "wordfreq.py", code)
    write(root, "tests/__init__.py", "")
    write(root, "tests/test_wordfreq.py", TESTS)


def finish(
    root: Path, session: dict[str, Any], notes: str | None = None, env: dict[str, str] | None = None
) -> None:
    """Answer the handoff and `sdd done` the session."""
    tick(root / session["page"], notes or f"{session['stage']}: done as the brief asked.")
    result = run("done", cwd=root, env=env)
    assert result.returncode == 0, f"sdd done ({session['stage']}):\n{result.stdout}{result.stderr}"


def by_hand(
    root: Path,
    stage: str,
    *,
    env: dict[str, str] | None = None,
    code: str = CODE,
    release: str = RELEASE_OK,
) -> dict[str, Any]:
    """One agent session done by hand: `sdd start STAGE`, write its outputs, answer the
    handoff, `sdd done`. ``env`` (e.g. SDD_NOW) is given to start and done."""
    session = sdd_json("start", stage, cwd=root, env=env)
    assert session["stage"] == stage
    texts = {
        "docs/product-spec.md": SPEC,
        "docs/architecture.md": ARCHITECTURE,
        "docs/implementation-plan.md": PLAN,
        "docs/test-plan.md": TEST_PLAN,
    }
    if stage == "implement":
        write_code(root, code)
        commit_all(root, f"{session['session']}: wordfreq")
    elif stage == "final-verification":
        for relative in session["writes"]:
            write(root, relative, release)
    elif stage == "user-verification":
        for relative in session["writes"]:
            write(root, relative, prepared(relative.rsplit("-U", 1)[-1][:-3]))
    else:
        for relative in session["writes"]:
            if relative in texts:
                text = texts[relative]
                if (root / relative).is_file() and (root / relative).read_text("utf-8") == text:
                    text += f"\n<!-- revised in {session['session']} -->\n"  # a redo revises it
                write(root, relative, text)
            else:  # a report scaffold sdd laid down: fill it as an agent would
                do_work(root, {"stage": stage, "writes": [relative], "page": session["page"]})
    finish(root, session, env=env)
    return session  # type: ignore[no-any-return]


def new_project(parent: Path, name: str = "proj") -> Path:
    """`sdd init`, a README with a usage section, committed; cycle 1 "Password reset"."""
    root = init_project(parent, name=name)
    write(root, "README.md", README)
    commit_all(root, "README")
    return root


def drive_by_hand(root: Path, until: str) -> None:
    """Drive the cycle with the documents above until ``until`` is the next session
    (gates before it approved by a person at a pseudo-terminal)."""
    for _ in range(30):
        action = sdd_json("next", cwd=root)
        if action["kind"] == "session":
            if action["stage"] == until:
                return
            by_hand(root, action["stage"])
        elif action["kind"] == "gate":
            approve(root, action["gate"])
        else:
            raise AssertionError(f"unexpected next action while driving to {until}: {action}")
    raise AssertionError(f"did not reach {until}")


# ----------------------------------------------------------------------------- pseudo-terminal

CTRL_C = object()  # press Ctrl-C
TYPE_CODE = object()  # type the code of the last `Type XXXX to …` shown
_CODE = re.compile(r"Type ([A-Z0-9]{4}) to (approve|reject|waive|record)")


def pty_dialogue(
    argv: Sequence[str],
    cwd: str | os.PathLike[str],
    script: Sequence[tuple[str, Any]],
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> tuple[int, str]:
    """Run ``argv`` on a real pseudo-terminal and hold a dialogue with it.

    ``script`` is a list of (regex, answer): wait until the terminal shows ``regex`` (after
    what the previous step matched), then type ``answer`` and Enter (``CTRL_C`` presses
    Ctrl-C, ``TYPE_CODE`` types the confirmation code shown). After the script the command
    must end on its own. Returns (exit code, everything shown, LF line ends).
    """
    steps = list(script)
    seen = 0  # what earlier steps matched is not matched again

    def step(output: bytearray, type_: Callable[[bytes], object]) -> None:
        nonlocal seen
        while steps:
            text = output.decode(errors="replace")
            match = re.compile(steps[0][0]).search(text, seen)
            if match is None:
                return
            seen = match.end()
            answer = steps.pop(0)[1]
            if answer is CTRL_C:
                type_(b"\x03")
            elif answer is TYPE_CODE:
                codes = _CODE.findall(text[: match.end()])
                assert codes, f"no confirmation code shown before {match.group(0)!r}:\n{text}"
                type_(codes[-1][0].encode() + b"\n")
            else:
                type_(str(answer).encode() + b"\n")

    def waiting() -> str:
        return f"waiting for {steps[0][0] if steps else 'the end'}; "

    code, text = pty_detached(list(argv), cwd, env, step, timeout, waiting)
    assert not steps, f"{argv} ended before showing {steps[0][0]!r}; the terminal showed:\n{text}"
    return code, text


WALK = ["sdd", "walkthrough"]
ASK_TEXT = "(p)ass, (f)ail, (s)kip, (n)ote a problem no item covers, (q)uit for now: "
ASK = re.escape(ASK_TEXT)
MORE_TEXT = (
    "Anything wrong that no item covers? Describe it (Enter: nothing more, q: quit for now): "
)
MORE = re.escape(MORE_TEXT)
SEVERITY = re.escape("how serious? (b)locking, (m)ajor, m(i)nor [blocking]: ")


def item_prompt(number: int, total: int, item: str) -> str:
    """The regex of the question about one item (its heading, its body, the question)."""
    return rf"\[{number}/{total}\] {re.escape(item)}[^\n]*\n[\s\S]*?{ASK}"


def walk_script(
    answers: Sequence[tuple[str, str, str | None]], total: int, first: int = 1
) -> list[tuple[str, Any]]:
    """The dialogue of answering items in order: (item id, p|f|s|q|^C, note)."""
    script: list[tuple[str, Any]] = []
    for offset, (item, verdict, note) in enumerate(answers):
        shown = item_prompt(first + offset, total, ITEM_TEXT[item])
        script.append((shown, CTRL_C if verdict == "^C" else verdict))
        if verdict == "f":
            script.append((r"what went wrong\? ", note))
        elif verdict == "s":
            script.append((r"why skip it\? ", note))
    return script


def end_script(problems: Sequence[tuple[str, str]] = ()) -> list[tuple[str, Any]]:
    """After the last item: each problem no item covers (text, b|m|i), then nothing more."""
    script: list[tuple[str, Any]] = []
    for text, severity in problems:
        script += [(MORE, text), (SEVERITY, severity)]
    return [*script, (MORE, "")]


def walk_all(root: Path, answers: Sequence[tuple[str, str, str | None]] | None = None) -> str:
    """The person walks every item at a pseudo-terminal (all pass unless ``answers``)."""
    code, shown = pty_dialogue(
        WALK, root, [*walk_script(answers or ALL_PASS, len(ITEMS)), *end_script()]
    )
    assert code == 0, shown
    assert "Walkthrough complete" in shown, shown
    return shown


def history(root: Path) -> list[dict[str, Any]]:
    from helpers import history_records

    return history_records(root)


def verdicts(root: Path) -> list[tuple[str, str, str]]:
    return [
        (r["item"], r["verdict"], r["note"])
        for r in history(root)
        if r["type"] == "verification.verdict"
    ]


def git_tags(root: Path) -> list[str]:
    return git("tag", "-l", cwd=root).stdout.split()


# ----------------------------------------------------------------------------- a known history

T0 = 1_893_456_000  # 2030-01-01T00:00:00Z: every recorded time below is T0 + seconds


def at(seconds: int) -> dict[str, str]:
    """The environment that sets sdd's clock to T0 + ``seconds``."""
    return {"SDD_NOW": str(T0 + seconds)}


def iso(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 + seconds))


def ok(
    result: subprocess.CompletedProcess[str], expect: int = 0
) -> subprocess.CompletedProcess[str]:
    assert result.returncode == expect, (
        f"exit {result.returncode}, expected {expect}\n{result.stdout}{result.stderr}"
    )
    return result


def decide(root: Path, verb: str, gate: str, *extra: str, when: int | None = None) -> str:
    """A person approves or rejects ``gate`` at a pseudo-terminal (at T0 + ``when`` if given)."""
    code, shown = pty_dialogue(
        ["sdd", verb, gate, *extra],
        root,
        [(rf"Type [A-Z0-9]{{4}} to {verb}", TYPE_CODE)],
        env=None if when is None else at(when),
    )
    assert code == 0, shown
    return shown


def timed_session(
    root: Path, stage: str, begin: int, end: int, *, code: str | None = None
) -> dict[str, Any]:
    """One session done by hand, started at T0 + ``begin`` and completed at T0 + ``end``."""
    session = sdd_json("start", stage, cwd=root, env=at(begin))
    texts = {
        "docs/product-spec.md": SPEC,
        "docs/architecture.md": ARCHITECTURE,
        "docs/implementation-plan.md": PLAN,
        "docs/test-plan.md": TEST_PLAN,
    }
    if stage == "implement":
        write_code(root, code or CODE)
        commit_all(root, f"{session['session']}: wordfreq")
    for relative in session["writes"]:
        if relative in texts:
            text = texts[relative]
            if (root / relative).is_file() and (root / relative).read_text("utf-8") == text:
                text += f"\n<!-- revised in {session['session']} -->\n"  # a redo revises it
            write(root, relative, text)
        elif stage == "final-verification":
            write(root, relative, RELEASE_OK)
        elif stage == "user-verification":
            write(root, relative, prepared(relative.rsplit("-U", 1)[-1][:-3]))
        else:
            do_work(root, {"stage": stage, "writes": [relative], "page": session["page"]})
    finish(root, session, env=at(end))
    return session  # type: ignore[no-any-return]


# Two agents of the project's own: one that fails at once, one that never finishes.
AGENTS_CONFIG = """
[agents.crash]
interactive = [{python}, "-c", "import sys; sys.exit(3)", "{{brief_file}}"]
headless = [{python}, "-c", "import sys; sys.exit(3)", "{{brief_file}}"]

[agents.stall]
interactive = [{python}, "-c", "import time; time.sleep(60)", "{{brief_file}}"]
headless = [{python}, "-c", "import time; time.sleep(60)", "{{brief_file}}"]
"""

BROKEN_TESTS = (
    TESTS + "\n    def test_expiry(self) -> None:\n        self.fail('expired links still work')\n"
)


def build_history(parent: Path, name: str = "proj") -> Path:
    """Cycle 1 through the command line with the clock set for every command, up to an open
    post-mortem session. What happens, at T0 + seconds (see test_postmortem for the figures):

        0     init
        100   spec S-0001 ........................ 400 complete
        500   spec-approval rejected ("stories lack error cases") -> spec
        600   spec S-0002 ........................ 800 complete
        1000  spec-approval approved
        1100  architecture S-0003 ................ 1150 abandoned
        1160  architecture S-0004, `sdd run --agent crash`: the agent exits 3: failed
        1170  architecture S-0005, `sdd run --agent stall --timeout 1`: interrupted
        1200  architecture S-0006 ................ 1500 complete
        1600  plan S-0007 ........................ 2000 complete
        2300  implementation-approval approved
        2400  implement S-0008 (T1) .............. 3000 complete (verify #1 green)
        3100  review S-0009 ...................... 3300 complete
              3200 F-1 minor, found in review (`sdd findings add`)
        3400  qa S-0010 .......................... 3700 complete
              3500 F-2 blocking, found in qa, escaped from review -> implement (a loop)
        3800  implement S-0011 (fix F-2) ......... 4200 complete (verify #3 green)
              3900 verify #2 red: a failing test committed
        4300  review S-0012 ...................... 4400 complete
        4500  qa S-0013 .......................... 4600 complete
        4700  user-verification S-0014, prepared . 5000 complete
        5000  the person walks it: quits after 3 items, resumes and passes the rest;
              `sdd approve user-approval` with a wrong code: cancelled
        5300  user-approval rejected ("the wording confuses people") -> user-verification
        5400  user-verification S-0015, prepared . 5400 complete; walked, all pass;
              user-approval approved
        5500  final-verification S-0016 .......... 5800 complete
        6400  deployment-approval approved
        6500  release --tag v1.0.0
        6600  postmortem S-0017 started
    """
    root = parent / name
    ok(run("init", name, "--title", "Password reset", cwd=parent, env=at(0)))
    with (root / ".sdd" / "config.toml").open("a", encoding="utf-8") as config:
        config.write(VERIFY_CONFIG.format(python=json.dumps(sys.executable)))
        config.write(AGENTS_CONFIG.format(python=json.dumps(sys.executable)))
    write(root, "README.md", README)
    commit_all(root, "sdd init")

    timed_session(root, "spec", 100, 400)
    decide(root, "reject", "spec-approval", "--reason", "stories lack error cases", when=500)
    timed_session(root, "spec", 600, 800)
    decide(root, "approve", "spec-approval", when=1000)
    sdd_json("start", "architecture", cwd=root, env=at(1100))
    ok(run("abandon", "--reason", "started on the wrong option", cwd=root, env=at(1150)))
    crashed = run("run", "architecture", "--agent", "crash", "--headless", cwd=root, env=at(1160))
    assert crashed.returncode == 1 and "failed" in crashed.stdout, crashed.stdout + crashed.stderr
    stalled = run(
        "run",
        "architecture",
        "--agent",
        "stall",
        "--headless",
        "--timeout",
        "1",
        cwd=root,
        env=at(1170),
    )
    assert stalled.returncode == 1 and "interrupted" in stalled.stdout, (
        stalled.stdout + stalled.stderr
    )
    timed_session(root, "architecture", 1200, 1500)
    timed_session(root, "plan", 1600, 2000)
    decide(root, "approve", "implementation-approval", when=2300)
    timed_session(root, "implement", 2400, 3000)

    review = sdd_json("start", "review", cwd=root, env=at(3100))
    ok(
        run(
            "findings", "add", "help text has a typo", "--severity", "minor", cwd=root, env=at(3200)
        )
    )
    do_work(root, {"stage": "review", "writes": review["writes"], "page": review["page"]})
    finish(root, review, env=at(3300))

    qa = sdd_json("start", "qa", cwd=root, env=at(3400))
    ok(
        run(
            "findings",
            "add",
            "expired links still work",
            "--severity",
            "blocking",
            "--escaped-from",
            "review",
            cwd=root,
            env=at(3500),
        )
    )
    do_work(root, {"stage": "qa", "writes": qa["writes"], "page": qa["page"]})
    finish(root, qa, env=at(3700))

    fix = sdd_json("start", "implement", cwd=root, env=at(3800))
    assert fix["finding"] == "F-2", fix
    write(root, "tests/test_wordfreq.py", BROKEN_TESTS)
    commit_all(root, "a test for expiry (red)")
    ok(run("verify", cwd=root, env=at(3900)), expect=1)
    write_code(root, FIXED_CODE)
    commit_all(root, "F-2: expiry")
    finish(root, fix, env=at(4200))
    timed_session(root, "review", 4300, 4400)
    timed_session(root, "qa", 4500, 4600)

    # user verification: an agent prepares it; the person walks it (quits after three items,
    # resumes), then decides the gate as a step of its own (first a wrong code: cancelled)
    timed_session(root, "user-verification", 4700, 5000)
    answers = [(item, "p", None) for item in ITEMS]
    n = len(ITEMS)
    code, shown = pty_dialogue(
        WALK,
        root,
        [*walk_script(answers[:3], n), (item_prompt(4, n, ITEM_TEXT[ITEMS[3]]), "q")],
        env=at(5000),
    )
    assert code == 0, shown
    code, shown = pty_dialogue(
        WALK, root, [*walk_script(answers[3:], n, first=4), *end_script()], env=at(5000)
    )
    assert code == 0 and "Walkthrough complete" in shown, shown
    code, shown = pty_dialogue(
        ["sdd", "approve", "user-approval"],
        root,
        [(r"Type [A-Z0-9]{4} to approve", "WRONG")],
        env=at(5000),
    )
    assert code != 0 and "did not match" in shown, shown
    decide(
        root,
        "reject",
        "user-approval",
        "--reason",
        "the wording confuses people",
        "--to",
        "user-verification",
        when=5300,
    )
    timed_session(root, "user-verification", 5400, 5400)
    code, shown = pty_dialogue(WALK, root, [*walk_script(answers, n), *end_script()], env=at(5400))
    assert code == 0 and "Walkthrough complete" in shown, shown
    decide(root, "approve", "user-approval", when=5400)
    timed_session(root, "final-verification", 5500, 5800)
    decide(root, "approve", "deployment-approval", when=6400)
    ok(run("release", "--tag", "v1.0.0", cwd=root, env=at(6500)))
    sdd_json("start", "postmortem", cwd=root, env=at(6600))
    return root


# ----------------------------------------------------------------------------- milestones

ALL_PASS = [(item, "p", None) for item in ITEMS]


def _build(key: str, folder: Path, previous: Path | None) -> Path:
    if key == "uv-ready":  # user verification is next
        root = new_project(folder, name=key)
        drive_by_hand(root, "user-verification")
        return root
    if key == "uv-prepared":  # an agent prepared user verification: the person walks it next
        root = new_project(folder, name=key)
        drive_by_hand(root, "user-verification")
        by_hand(root, "user-verification")
        return root
    if key == "history":  # see build_history
        return build_history(folder, name=key)
    assert previous is not None
    root = folder / key
    shutil.copytree(previous, root, symlinks=True)
    if key == "fv-ready":  # every item passed, user-approval approved: final verification next
        walk_all(root)
        decide(root, "approve", "user-approval")
    elif key == "deploy-approved":  # the release checklist written, deployment approved
        by_hand(root, "final-verification")
        decide(root, "approve", "deployment-approval")
    else:
        raise AssertionError(f"no milestone {key}")
    return root


_CHAIN = {
    "uv-ready": None,
    "uv-prepared": None,
    "fv-ready": "uv-prepared",
    "deploy-approved": "fv-ready",
    "history": None,
}


def _built(stash: dict[str, object], key: str) -> Path:
    folder, built = stash["dir"], stash["built"]
    assert isinstance(folder, Path) and isinstance(built, dict)
    mine = f"late:{key}"
    if mine not in built:
        before = _CHAIN[key]
        built[mine] = _build(key, folder, _built(stash, before) if before else None)
    return built[mine]  # type: ignore[no-any-return]


@pytest.fixture(name="milestone")
def milestone_fixture(_stash: dict[str, object], work: Path):  # type: ignore[no-untyped-def]
    """A fresh copy of a project state built once per test session (see ``_build``)."""

    def make(key: str, name: str = "proj") -> Path:
        target = work / name
        shutil.copytree(_built(_stash, key), target, symlinks=True)
        return target

    return make
