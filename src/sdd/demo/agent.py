"""The bundled scripted agent that `sdd demo` launches through `sdd run --agent demo`.

A real, separate process: it reads its brief and environment like any agent, writes
the stage's documents (a tiny word-frequency program, its tests and reports), commits
code in implement sessions, and writes its handoff. It never decides a gate.

    python -m sdd.demo.agent BRIEF_FILE
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

TITLE = "Word frequencies"

SPEC = """\
# Product specification

## Overview
A command-line tool, `wordfreq`, that reads a text file and prints how often each word occurs,
most frequent first. For people who want a quick look at the vocabulary of a document.
Out of scope: stemming, languages without spaces between words, a graphical interface.

## User stories

### US-1: Count the words of a file
As a writer, I want the count of every word in a file, so that I see which words I overuse.

Acceptance criteria:
- `wordfreq FILE` prints one line per distinct word, `count word`, highest count first, ties alphabetical.
- Words are case-folded and split on anything that is not a letter, digit or apostrophe.

### US-2: Show only the top words
As a writer, I want only the N most frequent words, so that a long file gives a short answer.

Acceptance criteria:
- `wordfreq FILE --top N` prints at most N lines.
- `--top 0` or a negative N is refused with exit code 2 and a message.

## Inputs and outputs
- Input: a UTF-8 text file named on the command line, up to 100 MB; invalid bytes are replaced.
- Output: lines `count word` on standard output; errors on standard error.

## Constraints
- Python 3.11 standard library only; runs offline on Linux and macOS.

## Failure behaviour
- A missing or unreadable file: message naming it, exit code 1, nothing on standard output.
- An empty file: no output, exit code 0.

## Performance expectations
- A 10 MB file is counted in under 2 seconds on a laptop.

## Open questions
- Q1 (blocking): Should numbers count as words?
  Answer: Yes, digits are kept (answered by the person).
- Q2 (non-blocking): Should the output be sortable as CSV later?
  Answer: Not now; plain lines are enough.

## Confidence
Confidence: 97 %
"""

ARCHITECTURE = """\
# Architecture

## Context
`wordfreq` serves US-1 and US-2: one process reads one file and prints counts. It runs on a
developer's machine with Python 3.11 and no dependencies.

## Options considered

### Option A: Read the whole file, count with collections.Counter
The file is read into memory, split with one regular expression and counted.

Trade-offs:
- Simplest code, easy to test.
- Memory grows with the file; 100 MB of text fits comfortably on a laptop.

### Option B: Stream the file line by line
Each line is split and counted as it is read.

Trade-offs:
- Constant memory for the text itself.
- Slightly more code; a word split across a line break is not a concern for plain text.

## Decisions
- D1: Stream line by line (Option B), counting with collections.Counter. Why: constant memory keeps the 100 MB input limit safe at no real cost in complexity.

## Components
- counter (wordfreq/wordfreq.py: `count_words`): turns lines into a Counter of case-folded words.
- cli (wordfreq/wordfreq.py: `main`): parses arguments, reports errors, prints the ranking.

## Data flow
1. `main` opens the file, passes its lines to `count_words`, sorts by count then word, prints `count word` lines, at most `--top` of them.
2. A missing file: `main` prints `wordfreq: FILE: not found` to standard error and exits 1.

## Risks
- Very large files. Likelihood: low. Impact: slow output. Mitigation: streaming, and a performance test case.
"""

PLAN = """\
# Implementation plan

## Tasks

### T1: Count words in a file
- Stories: US-1
- Depends on: none
- Risk: medium
- Effort: 1h
- Scope: wordfreq/, tests/
- Test cases: TC-1, TC-2, TC-4

Acceptance criteria:
- `count_words` case-folds and splits words as the spec says; unit tests cover punctuation and apostrophes.
- `wordfreq FILE` prints `count word` lines, highest count first, ties alphabetical.

### T2: Limit output with --top
- Stories: US-2
- Depends on: T1
- Risk: low
- Effort: 30m
- Scope: wordfreq/, tests/
- Test cases: TC-3, TC-5

Acceptance criteria:
- `--top N` prints at most N lines; `--top 0` exits 2 with a message.
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
- Expected: Exit code 1, a message naming the file, nothing on standard output.

### TC-3: Empty file and --top limits
- Stories: US-1, US-2
- Kind: edge case
- Steps: Run on an empty file; run with `--top 1` and `--top 0`.
- Expected: No output for the empty file; one line for `--top 1`; exit code 2 for `--top 0`.

### TC-4: Two runs at once
- Stories: US-1
- Kind: concurrency
- Steps: Run two counts of the same file at the same time.
- Expected: Identical output from both; the file is only read.

### TC-5: A large file
- Stories: US-1, US-2
- Kind: performance stress
- Steps: Rank a generated text of 40,000 lines (about 1 MB) with `--top 10`.
- Expected: Ten lines, in under 2 seconds (the spec's bound for 10 MB).
"""

CODE = '''\
"""wordfreq: how often each word occurs in a text file."""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Iterable

WORD = re.compile(r"[^\\W_]+(?:'[^\\W_]+)*")


def count_words(lines: Iterable[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in lines:
        counts.update(word.casefold() for word in WORD.findall(line))
    return counts


def ranking(counts: Counter[str], top: int | None = None) -> list[tuple[int, str]]:
    ordered = sorted(((n, w) for w, n in counts.items()), key=lambda item: (-item[0], item[1]))
    return ordered if top is None else ordered[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wordfreq")
    parser.add_argument("file")
    parser.add_argument("--top", type=int)
    args = parser.parse_args(argv)
    if args.top is not None and args.top <= 0:
        parser.error("--top must be a positive number")
    try:
        with open(args.file, encoding="utf-8", errors="replace") as handle:
            counts = count_words(handle)
    except OSError as exc:
        print(f"wordfreq: {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    for n, word in ranking(counts, args.top):
        print(f"{n} {word}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

TESTS = """\
import os
import subprocess
import sys
import tempfile
import unittest

from wordfreq.wordfreq import count_words, ranking

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wordfreq.wordfreq", *args], capture_output=True, text=True, cwd=HERE
    )


def text_file(text: str) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write(text)
    return handle.name


class CountTest(unittest.TestCase):
    def test_case_folding_and_apostrophes(self) -> None:
        counts = count_words(["It's the cat; THE cat.", "the end"])
        self.assertEqual(counts["the"], 3)
        self.assertEqual(counts["it's"], 1)

    def test_order_is_count_then_word(self) -> None:
        # TC-1: counts, highest first, ties alphabetical.
        self.assertEqual(ranking(count_words(["b a b c"])), [(2, "b"), (1, "a"), (1, "c")])
        path = text_file("b a b")
        try:
            self.assertEqual(run(path).stdout, "2 b\\n1 a\\n")
        finally:
            os.unlink(path)

    def test_missing_file(self) -> None:
        # TC-2: a missing file is named, exit 1, nothing on standard output.
        result = run("no-such-file")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stdout, "")
        self.assertIn("no-such-file", result.stderr)

    def test_two_runs_at_once(self) -> None:
        # TC-4: two counts of the same file at the same time agree.
        path = text_file("b a b c c c\\n" * 1000)
        try:
            command = [sys.executable, "-m", "wordfreq.wordfreq", path]
            runs = [
                subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=HERE)
                for _ in range(2)
            ]
            outputs = [p.communicate()[0] for p in runs]
            self.assertEqual(outputs[0], outputs[1])
            self.assertTrue(outputs[0].startswith("3000 c\\n"))
        finally:
            os.unlink(path)

    def test_top(self) -> None:
        # TC-3: an empty file prints nothing; --top 1 one line; --top 0 exits 2.
        path, empty = text_file("b a b"), text_file("")
        try:
            self.assertEqual(run(empty, "--top", "1").stdout, "")
            self.assertEqual(run(path, "--top", "1").stdout, "2 b\\n")
            self.assertEqual(run(path, "--top", "0").returncode, 2)
        finally:
            os.unlink(path)
            os.unlink(empty)

    def test_a_large_file(self) -> None:
        # TC-5: a generated text of about 1 MB is ranked with --top 10 in under 2 seconds.
        import time

        lines = [f"word{n % 5000} other{n % 7} text\\n" for n in range(40_000)]
        started = time.perf_counter()
        top = ranking(count_words(lines), 10)
        elapsed = time.perf_counter() - started
        self.assertEqual(len(top), 10)
        self.assertLess(elapsed, 2.0)  # the spec's bound for ten times as much


if __name__ == "__main__":
    unittest.main()
"""


def without_top(code: str) -> str:
    kept = []
    for line in code.splitlines():
        if "--top" in line or ("args.top" in line and "ranking" not in line):
            continue
        kept.append(line.replace("ranking(counts, args.top)", "ranking(counts)"))
    return "\n".join(kept) + "\n"


INVALID_UTF8_TEST = """    def test_invalid_utf8_is_replaced(self) -> None:
        with tempfile.NamedTemporaryFile("wb", suffix=".txt", delete=False) as handle:
            handle.write(b"ok \\xff\\xfe ok")
        try:
            result = run(handle.name)
            self.assertEqual(result.returncode, 0)
            self.assertIn("2 ok", result.stdout)
        finally:
            os.unlink(handle.name)

"""


# QA's major finding (F-2), and the test its fix session adds.
TOP_BEYOND_MARK = "larger than the number of distinct words"
TOP_BEYOND_TEST = """    def test_top_beyond_the_number_of_words(self) -> None:
        self.assertEqual(ranking(count_words(["b a b"]), top=10), [(2, "b"), (1, "a")])

"""


def strict(code: str) -> str:
    return code.replace('encoding="utf-8", errors="replace"', 'encoding="utf-8"')


def invalid_utf8_crashes(root: str) -> bool:
    """QA's attempt to break it: a file with bytes that are not UTF-8."""
    path = os.path.join(root, ".qa-invalid-utf8.txt")
    with open(path, "wb") as handle:
        handle.write(b"ok \xff\xfe ok")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "wordfreq.wordfreq", path],
            cwd=root,
            capture_output=True,
            text=True,
        )
    finally:
        os.unlink(path)
    return done.returncode != 0 or "Traceback" in done.stderr


def report(kind: str, n: str, cycle: str, date: str, tests: str, broken: bool = False) -> str:
    head = {"review": f"# Review {n}: {TITLE}", "qa": f"# QA report {n}: {TITLE}"}[kind]
    if kind == "review":
        return f"""{head}

Cycle: {cycle}. Date: {date}.

## Verdict
Verdict: approve

## Build and checks
- `python -m unittest discover -s tests` — {tests}

## Architecture consistency
The code follows docs/architecture.md: `count_words` streams lines (D1) and `main` owns the command line.

## Scalability risks
Memory grows with the number of distinct words only; a 10 MB file is read line by line.

## Findings
- none
"""
    tried = "- A missing file, an empty file, `--top 0`, `--top -3`, punctuation-only text, two runs at once: all held."
    if broken:
        return f"""{head}

Cycle: {cycle}. Date: {date}.

## Tried
{tried}
- A file holding bytes that are not UTF-8 (`ok \\xff\\xfe ok`): it crashed.

## Broke
- `wordfreq FILE` on invalid UTF-8 ends with a UnicodeDecodeError traceback; the spec says invalid bytes are replaced.

## Findings
- F1 (blocking; escaped from plan) wordfreq/wordfreq.py, reading the file: invalid UTF-8 crashes with a traceback instead of being replaced as the spec's Inputs say; the test plan has no case for it.
- F2 (major) tests/test_wordfreq.py, `--top`: no test covers `--top N` with N {TOP_BEYOND_MARK} (US-2 says at most N lines); it works by hand, but nothing keeps it working.

## Coverage against the test plan
- TC-1 pass, TC-2 pass, TC-3 pass, TC-4 pass, TC-5 pass; the plan lacks an invalid-encoding case.
"""
    return f"""{head}

Cycle: {cycle}. Date: {date}.

## Tried
{tried}
- A file holding bytes that are not UTF-8: the bad bytes are replaced and counting goes on.

## Broke
- Nothing broke; the unit tests ({tests}) and the command-line cases above agree with the spec.

## Findings
- none

## Coverage against the test plan
- TC-1 pass, TC-2 pass, TC-3 pass, TC-4 pass (two runs, same output), TC-5 pass (generated 10 MB file).
"""


def _criteria(spec: str) -> list[tuple[str, str]]:
    """(US-n.k, criterion) of every acceptance criterion, in the order the spec lists them."""
    out = []
    for story, body in re.findall(r"^### (US-\d+):[^\n]*\n(.*?)(?=^##|\Z)", spec, re.M | re.S):
        listed = body.partition("Acceptance criteria:")[2]
        for k, line in enumerate(re.findall(r"^- (.+)$", listed, re.M), start=1):
            out.append((f"{story}.{k}", line.strip()))
    return out


def _cases(plan: str) -> list[tuple[str, str, str, str, str]]:
    """(TC-n, title, kind, steps, expected) of every test case."""
    out = []
    for case, title, body in re.findall(
        r"^### (TC-\d+): ([^\n]*)\n(.*?)(?=^##|\Z)", plan, re.M | re.S
    ):
        field = dict(re.findall(r"^- (Kind|Steps|Expected): (.+)$", body, re.M))
        out.append(
            (case, title, field.get("Kind", ""), field.get("Steps", ""), field.get("Expected", ""))
        )
    return out


def verification(n: str, cycle: str, date: str) -> str:
    """The agent prepares user verification: how to run it, and one item per criterion and
    per test case of its own documents, each with steps and an expected result. It leaves
    every verdict to the person (here, the demo approver, who walks it after)."""
    items = []
    for ident, criterion in _criteria(SPEC):
        items.append(
            f"### {ident}: {criterion}\n"
            f"- Steps: try it on a small file of your own:\n\n"
            f"  ```sh\n  printf 'The cat saw the other cat\\n' > sample.txt\n"
            f"  python -m wordfreq.wordfreq sample.txt --top 3\n  ```\n\n"
            f"- Expected: {criterion}"
        )
    for ident, title, kind, steps, expected in _cases(TEST_PLAN):
        items.append(f"### {ident}: {title} ({kind})\n- Steps: {steps}\n- Expected: {expected}")
    body = "\n\n".join(items)
    return f"""# User verification {n}: {TITLE}

Cycle: {cycle}. Date: {date}.

## How to run it
From a clean checkout, with Python 3.11 (no dependencies):

```sh
cd wordfreq-project
python -m wordfreq.wordfreq README.md --top 10
```

## Items

{body}
"""


def release(cycle: str, date: str, tests: str) -> str:
    return f"""# Release checklist: {TITLE}

Cycle: {cycle}. Date: {date}.

## Security
- OK Input from users and files is validated — evidence: `--top` is checked; unreadable files give exit 1 (tests `test_missing_file`, `test_top`).
- OK No secrets in code, configuration or git history — evidence: the program has no configuration and no credentials.
- OK Dependencies pinned and free of known vulnerabilities — evidence: standard library only.
- OK Authentication, permissions and error messages as the spec requires — evidence: no authentication in scope; error messages match the spec's failure behaviour.

## Performance
- OK A 10 MB file is counted in under 2 seconds — evidence: QA report, TC-5.

## Tests
- OK Full suite green at HEAD — evidence: `python -m unittest discover -s tests`: {tests}.
- OK Every user story covered by passing tests — evidence: US-1 by `test_case_folding_and_apostrophes`, `test_order_is_count_then_word`, `test_missing_file`; US-2 by `test_top`.
- OK No open blocking finding; each major finding fixed or justified — evidence: `sdd findings`: F-1 (blocking) and F-2 (major) fixed by their fix sessions, each at its commit.

## Documentation
- OK README and usage describe current behaviour — evidence: `--help` output and docs/product-spec.md.
- OK Changelog, configuration and migration notes updated — evidence: first release, nothing to migrate.
- OK docs/architecture.md matches the code — evidence: components and data flow compared with wordfreq/wordfreq.py.

## Decision
Ready for deployment approval.
"""


ANALYSIS = """## What went wrong
- QA broke the first implementation with a file that is not valid UTF-8 (F-1, blocking): the
  program crashed with a traceback although the spec says invalid bytes are replaced.

- QA also found that no test kept `--top N` beyond the number of words working (F-2, major):
  its fix session added the test before final verification, as a major finding must.

## What slowed development
- The loop back to implementation: two fix sessions, then review and QA again (see the figures).

## What escaped testing
- F-1 escaped from plan: the test plan had no case for invalid encodings, so neither the
  implement sessions nor review tested it; QA caught it.

## Process changes
- sessions/plan.md: the checklist now asks for an invalid-encoding test case for every text
  input, so the plan stage catches what escaped this cycle.
"""

PLAN_LESSON = "  - Include a test case with invalid encodings for every text input\n"


def evolve_plan_template(root: str) -> None:
    """The post-mortem's process change, applied to the project's own stage template."""
    path = os.path.join(root, "sessions", "plan.md")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if PLAN_LESSON in text:
        return
    marker = "checklist:\n"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text.replace(marker, marker + PLAN_LESSON, 1))


def output_for(outputs: list[str], name: str) -> str:
    """Where the brief says this document goes (docs/, or the cycle's own folder)."""
    return next((o for o in outputs if o.endswith("/" + name)), f"docs/{name}")


def write(root: str, relative: str, text: str) -> None:
    path = os.path.join(root, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def git(root: str, *args: str) -> str:
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME="sdd demo agent",
        GIT_AUTHOR_EMAIL="demo-agent@sdd.invalid",
        GIT_COMMITTER_NAME="sdd demo agent",
        GIT_COMMITTER_EMAIL="demo-agent@sdd.invalid",
    )
    done = subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def run_tests(root: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t", "."],
        cwd=root,
        capture_output=True,
        text=True,
    )
    tail = (done.stderr.strip().splitlines() or ["no output"])[-3:]
    summary = " ".join(line.strip() for line in tail if line.strip())
    return f"exit {done.returncode}: {summary}"


def handoff(root: str, page: str, notes: str) -> None:
    path = os.path.join(root, page)
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    # The Handoff is the part after sdd's generated block (which quotes the brief).
    head, marker, rest = text.partition("<!-- sdd:end -->")
    rest = rest.replace("- [ ] ", "- [x] ")
    rest = re.sub(r"\[FILL:[^\]]*\]", notes, rest, count=1)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(head + marker + rest)


def main(argv: list[str]) -> int:
    root = os.environ["SDD_PROJECT_ROOT"]
    stage = os.environ["SDD_STAGE"]
    session = os.environ["SDD_SESSION_ID"]
    brief = ""
    if len(argv) > 1:
        with open(argv[1], encoding="utf-8") as handle:
            brief = handle.read()
    section = brief.partition("## Your outputs")[2].partition("\n## ")[0]
    outputs = re.findall(r"^- `(docs/[^`]+)`$", section, flags=re.M)
    date = time.strftime("%Y-%m-%d", time.gmtime())
    cycle = next(
        (
            o.split("/")[-1].rsplit("-", 1)[0]
            for o in outputs
            if "/reviews/" in o or "/test-reports/" in o or "/verification/" in o
        ),
        "",
    )
    cycle = cycle or next(
        (o.split("/")[-1][:-3] for o in outputs if "/releases/" in o or "/post-mortems/" in o), ""
    )
    print(f"demo agent: {session} {stage}: brief of {len(brief)} bytes")

    def number(path: str) -> str:
        return path.rsplit("-", 1)[-1][1:-3]

    if stage == "spec":
        write(root, output_for(outputs, "product-spec.md"), SPEC)
        notes = "Spec written: US-1 (count words), US-2 (--top). Q1 answered; confidence 97 %."
    elif stage == "architecture":
        write(root, output_for(outputs, "architecture.md"), ARCHITECTURE)
        notes = "Chose streaming with Counter (D1). Components: counter and cli in one module."
    elif stage == "plan":
        write(root, output_for(outputs, "implementation-plan.md"), PLAN)
        write(root, output_for(outputs, "test-plan.md"), TEST_PLAN)
        notes = "Two tasks: T1 counting (US-1), T2 --top (US-2, after T1). Five test cases, one per kind."
    elif stage == "implement":
        task = os.environ.get("SDD_TASK", "")
        finding = os.environ.get("SDD_FINDING", "")
        # The first implementation decodes strictly: QA will break it with invalid UTF-8,
        # which the spec says must be replaced. The fix session repairs it, with a test.
        code, tests, what = strict(CODE), TESTS, "word counting and --top"
        if task == "T1":  # counting first; --top is T2's
            code, tests, what = (
                strict(without_top(CODE)),
                TESTS.split("    def test_top")[0],
                "word counting",
            )
        elif task == "T2":
            what = "--top"
        elif finding:
            tests = TESTS.replace("    def test_top", INVALID_UTF8_TEST + "    def test_top")
            code, what, task = CODE, f"fix for {finding}: invalid UTF-8 is replaced", finding
            if TOP_BEYOND_MARK in brief:  # the major finding: a test that was missing
                tests = tests.replace("    def test_top", TOP_BEYOND_TEST + "    def test_top")
                what = f"fix for {finding}: a test for --top beyond the number of words"
        write(root, "wordfreq/__init__.py", "")
        write(root, "wordfreq/wordfreq.py", code)
        write(root, "tests/__init__.py", "")
        if task == "T1":
            tests = tests.rstrip() + '\n\n\nif __name__ == "__main__":\n    unittest.main()\n'
        write(root, "tests/test_wordfreq.py", tests)
        result = run_tests(root)
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", f"{task or session}: {what}, with tests")
        notes = f"{task or 'All tasks'}: {what}, with tests ({result}); committed."
    elif stage in ("review", "qa"):
        result = run_tests(root)
        broken = invalid_utf8_crashes(root) if stage == "qa" else False
        for path in outputs:
            write(root, path, report(stage, number(path), cycle, date, result, broken))
        found = "one blocking finding: invalid UTF-8 crashes." if broken else "no findings."
        notes = f"{stage}: tests {result}; {found}"
    elif stage == "user-verification":
        for path in outputs:
            write(root, path, verification(number(path), cycle, date))
        notes = (
            "Prepared: how to run it, and one item per acceptance criterion and test case, "
            "each with steps and an expected result; no verdict given (the person walks it)."
        )
    elif stage == "final-verification":
        for path in outputs:
            write(root, path, release(cycle, date, run_tests(root)))
        notes = "Every checklist item OK with evidence; nothing uncertain."
    elif stage == "postmortem":
        for path in outputs:
            # Keep the head and the Figures sdd wrote; write the analysis after them.
            with open(os.path.join(root, path), encoding="utf-8") as handle:
                head = handle.read().split("## What went wrong")[0]
            write(root, path, head + ANALYSIS)
        evolve_plan_template(root)
        notes = "Post-mortem written; sessions/plan.md now asks for an invalid-encoding test case."
    else:
        print(f"demo agent: no script for stage {stage}", file=sys.stderr)
        return 1
    handoff(root, f"docs/sessions/{session}-{stage}.md", notes)
    print(f"demo agent: {stage} written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
