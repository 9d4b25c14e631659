"""A project as one commit holds it, read from git's objects (`sdd ci check`).

The commit's ``.sdd/`` (its history, the approved documents' snapshots, the config) and the
files check detection reads are written into a folder of the caller's, as data: nothing of
the commit is run. A judged project decides by rules it is given — the base's — never by its
own: its approvers are those of the base (an approver added on the branch does not count),
its rules are the base's in force, and what the base holds is what is confirmed.
"""

from __future__ import annotations

from sdd.project.checks import DETECTION_INPUTS
from sdd.project.project import Project
from sdd.system import gitrepo

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.core import history
    from sdd.core.state import Cycle, ProjectState
    from sdd.core.trust import Trust
    from sdd.documents.structures import Task
    from sdd.project.rules import Standing

# What of a commit a judged project reads.
STATE_FILES = [".sdd/config.toml", ".sdd/history.jsonl", ".sdd/history", ".sdd/snapshots"]


def export(repo: str, wanted: list[tuple[str, str]]) -> None:
    """Write what a judged project reads of each commit into its folder ((commit, folder))."""
    gitrepo.export(repo, wanted, [*STATE_FILES, *DETECTION_INPUTS])


class Judged(Project):
    """A commit's project, judged by the rules ``standing`` (the base's): ``confirmed`` are
    the ids of the records the base holds; with ``fixed`` only those may add approvers."""

    def __init__(
        self,
        root: str,
        *,
        confirmed: frozenset[str] | None = None,
        fixed: bool = False,
        standing: Standing | None = None,
    ) -> None:
        super().__init__(root)
        self.confirmed_ids = confirmed
        self.fixed = fixed
        self.standing = standing

    def _trust(self, loaded: history.Loaded) -> Trust:
        from sdd.core import trust

        confirmed = self.confirmed_ids
        if confirmed is None:  # the base judges itself: everything it holds is confirmed
            confirmed = frozenset(r["id"] for r in loaded.records)
        return trust.evaluate(loaded, confirmed=confirmed, fixed=self.fixed)

    def _uncommitted(self) -> list[history.Problem]:
        return []  # read from a commit: there is nothing uncommitted

    def rule_state(self, state: ProjectState) -> Standing:
        if self.standing is not None:
            return self.standing
        return super().rule_state(state)

    def approved_tasks(self, cycle: Cycle) -> list[Task] | None:
        # Which gates a session started behind is all the check asks of a position: the
        # plan's tasks decide only whether the per-task stage is done.
        return None if self.standing is not None else super().approved_tasks(cycle)
