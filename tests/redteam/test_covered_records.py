"""Records the person's signed approval covers, rewritten by an agent that cannot sign: one
edited, two reordered, one slipped in, one cut out with the chain relinked; every hash after
them recomputed, the best a forger can do. The signature no longer covers what the history
holds: detected, named, and the person's next act is refused until the history is restored."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from redteam.forge import History
from redteam.person import Signed
from redteam.verdicts import flagged, refused

FINDING = {"cycle": 1, "finding": "F-9", "severity": "minor", "stage": "spec", "text": "slipped in"}


def _edited(history: History) -> str:
    end = history.one("session.end", session="S-0001")
    history.edit(end, note="the person asked for links that never expire")
    return end.id


def _reordered(history: History) -> str:
    begun = history.one("session.start", session="S-0001")
    end = history.one("session.end", session="S-0001")
    history.swap(begun, end)
    return begun.id


def _inserted(history: History) -> str:
    begun = history.one("session.start", session="S-0001")
    return str(history.insert_after(begun, "finding.add", FINDING)["id"])


def _cut_out(history: History) -> str:
    base = history.one("template.base")
    history.cut_out(base)
    return base.id


REWRITES: dict[str, Callable[[History], str]] = {
    "edited": _edited,
    "reordered": _reordered,
    "inserted": _inserted,
    "cut-out": _cut_out,
}


@pytest.mark.parametrize("rewrite", REWRITES)
def test_a_record_the_signed_approval_covers_rewritten_is_detected(
    rewrite: str, signed: Signed
) -> None:
    history = History(signed.root)
    approval = history.one("gate.approve", gate="spec-approval")
    assert approval.record.get("sig"), "the person's approval is signed"
    touched = REWRITES[rewrite](history)
    assert touched < approval.id, "the rewritten record is one the approval covers"
    flagged(signed.root, touched, approval.id, words=("signature", "covered"))
    code, shown = signed.person.act(signed.root, "approve", "implementation-approval")
    refused(code, shown, "history", "signature", "changed")
