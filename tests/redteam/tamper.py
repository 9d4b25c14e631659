"""What an agent does to the work tree behind the person's back: config edits that weaken
the rules under the gates, and tests that fail at HEAD."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import STAGES, commit_all

# The built-in gates as a [workflow.gates] table spells them (README, "Customising").
GATES = {
    "spec-approval": 'after = "spec"\njudges = ["spec"]\non_reject = "spec"\nrequires = ["confidence"]',
    "implementation-approval": 'after = "plan"\njudges = ["architecture", "plan"]\non_reject = "plan"',
    "user-approval": 'after = "user-verification"\njudges = ["user-verification"]\non_reject = "implement"',
    "deployment-approval": 'after = "final-verification"\njudges = ["final-verification"]\n'
    'on_reject = "final-verification"\nrequires = ["release-ready"]',
}
_CHECKS = re.compile(r"^\[\[verify\.checks\]\]\n(?:(?!\[).*\n?)*", re.M)


def config(root: Path) -> Path:
    return root / ".sdd" / "config.toml"


def _append(root: Path, text: str) -> None:
    with config(root).open("a", encoding="utf-8") as handle:
        handle.write("\n" + text + "\n")


def without_gate(root: Path, gate: str) -> None:
    """[workflow.gates] listing every built-in gate but ``gate``."""
    kept = [f"[workflow.gates.{name}]\n{body}\n" for name, body in GATES.items() if name != gate]
    _append(root, "\n".join(kept))


def without_stages(root: Path, *dropped: str) -> None:
    listed = ", ".join(f'"{s}"' for s in STAGES if s not in dropped)
    _append(root, f"[workflow]\nstages = [{listed}]")


def stage_rules(root: Path, stage: str, *rules: str) -> None:
    listed = ", ".join(f'"{r}"' for r in rules)
    _append(root, f"[workflow.stage.{stage}]\nrules = [{listed}]")


def threshold(root: Path, value: int) -> None:
    text = config(root).read_text(encoding="utf-8")
    edited = re.sub(r"(?m)^confidence_threshold = \d+", f"confidence_threshold = {value}", text)
    assert edited != text, "no confidence_threshold in the config"
    config(root).write_text(edited, encoding="utf-8")


def checks_replaced_by_true(root: Path) -> None:
    text = config(root).read_text(encoding="utf-8")
    edited = re.sub(r"(?m)^command = \[.*\]$", 'command = ["true"]', text)
    assert edited != text, "no [[verify.checks]] command in the config"
    config(root).write_text(edited, encoding="utf-8")


def without_verify(root: Path) -> None:
    text = config(root).read_text(encoding="utf-8")
    edited = _CHECKS.sub("", text)
    assert edited != text, "no [[verify.checks]] in the config"
    config(root).write_text(edited, encoding="utf-8")


FAILING_TEST = (
    "import unittest\n\n\nclass Expiry(unittest.TestCase):\n"
    "    def test_an_expired_link_is_refused(self) -> None:\n"
    "        self.fail('expired links still work')\n"
)


def break_the_tests(root: Path) -> str:
    """Commit a test that fails; returns the new HEAD."""
    tests = root / "tests"
    tests.mkdir(exist_ok=True)
    (tests / "__init__.py").touch()
    (tests / "test_expiry.py").write_text(FAILING_TEST, encoding="utf-8")
    return commit_all(root, "a test for expiry")
