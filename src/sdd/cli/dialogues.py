"""Everything the command line asks a person at the terminal, in one place: the approval
screen and its confirmation code, the code for the other person's acts, the walkthrough's
questions, and the progress line while checks run. All of it goes to standard error, so
standard output keeps the command's result alone."""

from __future__ import annotations

import sys

from sdd import api
from sdd.cli.render import safe

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def ask_code(shown: str, code: str, verb: str) -> str | None:
    """Show what a person's act decides, then read the code typed back at the terminal."""
    sys.stderr.write(f"{safe(shown)}Type {code} to {verb} (anything else cancels): ")
    sys.stderr.flush()
    try:
        return input()
    except EOFError:
        return None


def gate_screen(verb: str) -> api.Confirm:
    """The approval screen: what the gate judges and everything decided with it — what
    changed, the spec's confidence and questions (and who answered them), rule changes,
    approvers nobody confirmed, records no person has seen — then the code. Every text is
    shown with its control characters made visible, never obeyed."""

    def confirm(review: api.Review) -> str | None:
        sys.stderr.write(safe(screen(review, verb)))
        return ask_code("\n", review.code, verb)

    return confirm


def summary(review: api.Review, verb: str) -> str:
    """One paragraph on what is judged: the gate, its documents by full hash, its conditions."""
    import textwrap

    docs = "; ".join(
        f"{path} (sha256 {digest})" if digest else f"{path} (missing)"
        for path, digest in review.documents.items()
    )
    doing = "Approving" if verb == "approve" else "Rejecting"
    parts = [
        f"{doing} {review.gate} records that you judged the work of {', '.join(review.stages)}: "
        f"{docs or 'no documents'}."
    ]
    if review.conditions:
        holds = "; ".join(review.unmet) if review.unmet else ""
        parts.append(
            f"The gate requires that {' and that '.join(review.conditions)}: "
            + (f"that does not hold now ({holds})." if holds else "that holds now.")
        )
    else:
        parts.append("The gate requires nothing beyond that work being done.")
    changed = len(review.diffs) + len(review.tampered)
    if changed:
        parts.append(f"{changed} of its documents changed since the last approval (below).")
    return textwrap.fill(" ".join(parts), width=96, break_long_words=False, break_on_hyphens=False)


def screen(review: api.Review, verb: str) -> str:
    out = [f"\n{verb.capitalize()} {review.gate} for cycle {review.cycle}: {review.cycle_title}"]
    out.append(summary(review, verb))
    if review.verdicts:
        out.append("\nThe person's walkthrough (`sdd walkthrough`), which this decision covers:")
        out += [f"  {line}" for line in review.verdicts]
    for path in review.tampered:
        out.append(
            f"\n⚠ {path}: the snapshot of its approved version was rewritten after the approval;"
            "\n  it proves nothing now, so it is not diffed: read the document itself"
        )
    for path, diff in review.diffs.items():
        out.append(f"\nChanged since the last approval: {path}\n{diff.rstrip()}")
    if review.threshold is not None:
        shown = "not stated" if review.confidence is None else f"{review.confidence:g} %"
        out.append(f"\nConfidence: {shown} (threshold {review.threshold} %)")
    for q in review.questions:
        kind = "blocking" if q["blocking"] else "non-blocking"
        answer = "open" if q["answer"] is None else f"answered: {q['answer']}  [{q['by']}]"
        out.append(f"  {q['id']} ({kind}) {q['text']}\n      {answer}")
    if review.approvals_needed > 1 or review.roles:
        roles = " or ".join(review.roles)
        if review.approvals_needed == 1:
            out.append(f"\nThis gate is approved by an approver with the role {roles}.")
        else:
            who = f", each with the role {roles}" if roles else ""
            out.append(
                f"\nThis gate needs {review.approvals_needed} approvals by different people{who}."
            )
        if review.approved_by:
            out.append(f"  approved so far by {', '.join(review.approved_by)}")
        more = max(0, review.approvals_needed - len(review.approved_by) - 1)
        out.append(
            f"  yours counts as one: {more} more needed after it"
            if more
            else "  yours is the last one needed: the gate passes with it"
        )
    if review.rule_changes:
        out.append("\nThe rules changed; approving accepts the change:")
        out += [f"  - {change}" for change in review.rule_changes]
    if review.unconfirmed:
        out.append(
            "\nApprovers the protected branch does not hold yet (unconfirmed: did you add them?):"
        )
        out += [f"  - {who}" for who in review.unconfirmed]
    if review.unseen:
        out.append(
            f"\nRecords no person has seen yet ({len(review.unseen)}); this approval covers them:"
        )
        out += [f"  {line}" for line in review.unseen[-20:]]
        if len(review.unseen) > 20:
            out.append(f"  … and {len(review.unseen) - 20} earlier (sdd log)")
    return "\n".join(out) + "\n"


def signing_choice(offer: Any) -> tuple[str, str | None]:
    """`sdd init`'s one question: sign the person's acts with git's signing key ("git"), a
    new dedicated key ("new", and where it goes), or not now ("skip"). Ctrl-C raises
    KeyboardInterrupt; end of input skips."""
    import os

    err = sys.stderr
    lines = [
        "",
        "Sign your acts in this project (approving, answering, waiving) with an SSH key?",
        "Unsigned, an agent with a shell can pass the gates. A key with a passphrase, or a",
        "FIDO security key, is what an agent running as you cannot use.",
    ]
    choices = "ns"
    if offer.git_key:
        lines.append(f"  [g] git's signing key: {offer.git_key} ({offer.git_source})")
        choices = "gns"
    lines += [
        "  [n] a new key only for sdd (ssh-keygen asks for its passphrase)",
        "  [s] skip: the project stays unsigned (sign it later: sdd approvers add)",
    ]
    err.write(safe("\n".join(lines)) + "\n")
    answer = ""
    while not answer or answer not in choices:
        err.write(f"Choose {', '.join(choices[:-1])} or {choices[-1]}: ")
        err.flush()
        try:
            answer = input().strip().lower()[:1]
        except EOFError:
            return "skip", None
    if answer != "n":
        return ("git" if answer == "g" else "skip"), None
    home = os.path.expanduser("~") + os.sep
    default = offer.new_key
    shown = "~/" + default[len(home) :] if default.startswith(home) else default
    while True:
        err.write(safe(f"Where to keep the new key [{shown}]: "))
        err.flush()
        try:
            typed = input().strip()
        except EOFError:
            return "skip", None
        path = os.path.expanduser(typed) if typed else default
        if not (os.path.lexists(path) or os.path.lexists(path + ".pub")):
            return "new", path
        err.write(
            safe(f"  {path} exists already: another path, please (to sign with that key: ")
            + safe(f"sdd approvers add --key {path})\n")
        )


def ask_request() -> str | None:
    """The person's request a cycle starts from, typed at the terminal: lines up to an empty
    one. None when the first line is empty: the spec session then asks for it."""
    err = sys.stderr
    err.write(
        "\nWhat should this cycle build or change? Say it in your own words; the spec session\n"
        "asks about the rest. End with an empty line (an empty first line: the spec session\n"
        "asks you instead).\n"
    )
    lines: list[str] = []
    while True:
        err.write("> ")
        err.flush()
        try:
            line = input()
        except EOFError:
            break
        if not line.strip():
            break
        lines.append(line)
    return "\n".join(lines) or None


def question_code(answer: str) -> Any:
    def confirm(found: Any, code: str) -> str | None:
        shown = f"\nAnswering {found.id}: {found.text}\nAnswer: {answer}\n"
        return ask_code(shown, code, "record it")

    return confirm


def rules_code() -> Any:
    def confirm(changes: list[Any], code: str) -> str | None:
        listed = "".join(
            f"  - {c.what}" + (" (weakens)" if c.weakens else "") + "\n" for c in changes
        )
        shown = (
            "\nAccepting this change to the rules (the config's), which then holds for every "
            f"gate, stage and check:\n{listed}"
        )
        return ask_code(shown, code, "accept it")

    return confirm


def waiver_code(reason: str) -> Any:
    def confirm(finding: Any, code: str) -> str | None:
        shown = f"\nWaiving {finding.id} ({finding.severity}): {finding.text}\nReason: {reason}\n"
        return ask_code(shown, code, "waive it")

    return confirm


def reopen_code(reason: str, finding: str | None) -> Any:
    def confirm(task: Any, code: str) -> str | None:
        why = f" for {finding.upper()}" if finding else ""
        shown = f"\nReopening {task.id}{why}: {task.title}\nReason: {reason}\n"
        return ask_code(shown, code, "reopen it")

    return confirm


def _read(prompt: str) -> str | None:
    """A line typed at the terminal (None at the end of input)."""
    sys.stderr.write(prompt)
    sys.stderr.flush()
    try:
        return input().strip()
    except EOFError:
        return None


def _severity() -> str | None:
    while True:
        typed = _read("  how serious? (b)locking, (m)ajor, m(i)nor [blocking]: ")
        if typed is None:
            return None
        chosen = {"": "blocking", "b": "blocking", "m": "major", "i": "minor"}.get(
            typed.lower()[:1]
        )
        if typed.lower() in ("blocking", "major", "minor"):
            chosen = typed.lower()
        if chosen is not None:
            return chosen


def _problem() -> api.Answer:
    text = _read("  what is wrong (what you did and saw)? ")
    if not text:
        return api.Answer("none")
    severity = _severity()
    return api.Answer("quit") if severity is None else api.Answer("problem", text, severity)


def walk_item(item: Any, number: int, total: int) -> api.Answer:
    """One item of the walkthrough, shown as the agent prepared it (code blocks and all,
    control characters made visible): pass, fail (what went wrong), skip (why), a problem
    no item covers, or quit for now. Ctrl-C raises KeyboardInterrupt."""
    sys.stderr.write(safe(f"\n[{number}/{total}] {item.text}\n{item.body}\n"))
    while True:
        typed = _read("  (p)ass, (f)ail, (s)kip, (n)ote a problem no item covers, (q)uit for now: ")
        if typed is None or typed.lower() in ("q", "quit"):
            return api.Answer("quit")
        chosen = {"p": "pass", "f": "fail", "s": "skip", "n": "problem"}.get(typed.lower()[:1])
        if chosen == "problem":
            answer = _problem()
            if answer.kind != "none":
                return answer
            continue
        if chosen is None:
            continue
        note = ""
        while chosen != "pass" and not note:
            read = _read("  what went wrong? " if chosen == "fail" else "  why skip it? ")
            if read is None:
                return api.Answer("quit")
            note = read
        return api.Answer(chosen, note)


def walk_more(count: int) -> api.Answer:
    """After the last item: problems no item covers, one at a time, until an empty line."""
    if count == 0:
        sys.stderr.write("\nEvery item has a verdict.\n")
    typed = _read(
        "Anything wrong that no item covers? Describe it (Enter: nothing more, q: quit for now): "
    )
    if typed is None or typed.lower() in ("q", "quit"):
        return api.Answer("quit")
    if not typed:
        return api.Answer("done")
    severity = _severity()
    return api.Answer("quit") if severity is None else api.Answer("problem", typed, severity)


def verify_progress(enabled: bool) -> Any:
    """A progress line on the terminal while long checks run."""
    import threading
    import time

    state: dict[str, Any] = {}

    def tick(name: str, begun: float, stop: threading.Event) -> None:
        while not stop.wait(1.0):
            sys.stderr.write("\r" + safe(f"  running {name}… {time.monotonic() - begun:.0f} s "))
            sys.stderr.flush()

    def progress(event: str, spec: Any, check: Any) -> None:
        if not enabled:
            return
        if event == "start":
            stop = threading.Event()
            state["stop"] = stop
            sys.stderr.write(safe(f"  running {spec.name}: {' '.join(spec.command)}"))
            sys.stderr.flush()
            threading.Thread(
                target=tick, args=(spec.name, time.monotonic(), stop), daemon=True
            ).start()
        else:
            state["stop"].set()
            outcome = (
                "ok"
                if check.passed
                else ("timed out" if check.timed_out else f"exit {check.exit_code}")
            )
            sys.stderr.write(
                "\r" + safe(f"  {spec.name}: {outcome} ({check.seconds:.1f} s)") + " " * 20 + "\n"
            )

    return progress
