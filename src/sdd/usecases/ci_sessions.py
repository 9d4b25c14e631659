"""Which sessions may have written code, and which commits they wrote (`sdd ci check`).

A session of the per-task stage (implement, and the fix sessions of findings) may write code
when every gate before that stage was passed at the moment it started — the decision `sdd
start` made, made again here from the branch's history under the base's rules and approvers.
The history is folded record by record and each such session judged just before its start
record, with the documents as its starting commit held them (and, where a rebase or a squash
took that commit away, as the history recorded them).

What a session wrote is known by patch: the patch ids of its commits' changes to the code
(recorded at `sdd done`; for a session from before that, asked of git while its commits
exist) and the code before and after it, so that a squash of several sessions' commits is
known as their chain.
"""

from __future__ import annotations

from sdd.core import files, history
from sdd.core.errors import SddError
from sdd.core.fold import HANDLERS
from sdd.core.records import Record, strings, text, text_map
from sdd.core.state import ProjectState
from sdd.core.structs import dataclass, field
from sdd.project.project import DocHasher
from sdd.system import gitrepo

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.project.judged import Judged


@dataclass
class Work:
    """One session of the per-task stage, as the check sees it."""

    session: str
    cycle: int
    start: str  # its start record
    head_before: str | None
    blocked: str = ""  # why it could not write code when it started ("": it could)
    complete: bool = False
    head_after: str | None = None
    code_before: str | None = None
    code_after: str | None = None
    patches: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.blocked and self.complete


class _AtStart(DocHasher):
    """The documents as a session found them: its starting commit's (its uncommitted files
    by the hashes it recorded), else the hashes the history last recorded for them."""

    def __init__(
        self, project: Judged, dirty: dict[str, str], at_commit: dict[str, str | None] | None,
        recorded: dict[str, str],
    ) -> None:  # fmt: skip
        super().__init__(project.paths)
        self.dirty = dirty
        self.at_commit = at_commit
        self.recorded = recorded

    def __call__(self, relative: str) -> str | None:
        if relative in self.dirty:
            found = self.dirty[relative]
            return None if found == "deleted" else found
        if self.at_commit is None:
            return self.recorded.get(relative)
        return self.at_commit.get(relative)


def judge(
    repo: str, project: Judged, loaded: history.Loaded, state: ProjectState, stage: str
) -> list[Work]:
    """Every session of ``stage`` in the judged project's history (``loaded``, folded into
    ``state``), in order."""
    records = history_records(loaded, state)
    starts = [r for r in records if r["type"] == "session.start" and text(r, "stage") == stage]
    paths = _document_paths(records)
    contents = _documents_at(repo, [r.get("head") for r in starts], paths)
    works: dict[str, Work] = {}
    folding = ProjectState(name=state.name, demo=state.demo, trust=state.trust)
    recorded: dict[str, str] = {}
    for record in records:
        kind = record["type"]
        if kind == "session.start" and text(record, "stage") == stage:
            work = _admitted(project, folding, record, contents, recorded)
            if work is not None:
                works[work.session] = work
        elif kind == "session.end" and text(record, "session") in works:
            work = works[text(record, "session")]
            if text(record, "outcome") == "complete" and not work.complete:
                work.complete = True
                head = record.get("head")
                work.head_after = head if isinstance(head, str) else None
                code = record.get("code")
                work.code_after = code if isinstance(code, str) else None
                work.patches = strings(record, "patches")
                if "patches" not in record:
                    work.patches = _asked(repo, work)  # a history from before they were recorded
        if kind == "session.end":
            recorded.update(text_map(record, "outputs"))
        handler = HANDLERS.get(kind)
        if handler is not None:
            handler(folding, record)
        folding.last_record = record["id"]
    return list(works.values())


def fill_code(repo: str, works: list[Work]) -> None:
    """The code before and after each complete session that did not record it (a history
    from before it was), asked of git while its commits exist: one git process."""
    wanted = [w for w in works if w.complete and (w.code_before is None or w.code_after is None)]
    keys = gitrepo.code_keys(
        repo, [c for w in wanted for c in (w.head_before, w.head_after) if c is not None]
    )
    for work in wanted:
        if work.code_before is None and work.head_before:
            work.code_before = keys.get(work.head_before)
        if work.code_after is None and work.head_after:
            work.code_after = keys.get(work.head_after)


def history_records(loaded: history.Loaded, state: ProjectState) -> list[Record]:
    """The records that count, in id order, without the decisions the project set aside
    (an approval sdd did not write: no confirmation, documents it never kept)."""
    trust = state.trust
    kept = {d.record for c in state.cycles.values() for d in c.decisions}
    return [
        r
        for r in loaded.records
        if (trust is None or trust.counts(r))
        and (r["type"] not in ("gate.approve", "gate.reject") or r["id"] in kept)
    ]


def _admitted(
    project: Judged,
    state: ProjectState,
    record: Record,
    contents: dict[str, dict[str, str | None]],
    recorded: dict[str, str],
) -> Work | None:
    number = record.get("cycle")
    cycle = state.cycles.get(number) if isinstance(number, int) else None
    if cycle is None:
        return None
    head = record.get("head")
    head = head if isinstance(head, str) else None
    code = record.get("code")
    work = Work(text(record, "session"), cycle.number, record["id"], head)
    work.code_before = code if isinstance(code, str) else None
    at_commit = contents.get(head) if head is not None else None
    hasher = _AtStart(project, text_map(record, "dirty"), at_commit, recorded)
    position = project.position(state, cycle, hasher)
    stage = text(record, "stage")
    if stage not in position.names:
        work.blocked = f"{stage} is not a stage of the base's workflow"
        return work
    blocker = position.blocking_gate(stage)
    if blocker is not None:
        state_word = blocker.note or blocker.state
        work.blocked = f"{blocker.gate.name} was {state_word} when it started"
    return work


def _document_paths(records: list[Record]) -> list[str]:
    """Every document a gate may judge: the outputs sessions recorded, the approvals' documents."""
    found: set[str] = set()
    for record in records:
        if record["type"] == "session.end":
            found.update(text_map(record, "outputs"))
        elif record["type"] in ("gate.approve", "gate.reject"):
            found.update(text_map(record, "docs"))
    return sorted(p for p in found if p and "\n" not in p and not p.startswith("/"))


def _documents_at(
    repo: str, heads: list[object], paths: list[str]
) -> dict[str, dict[str, str | None]]:
    """commit -> path -> the document's content hash there, for every commit that exists:
    two git processes, whatever the number of sessions."""
    commits = sorted({h for h in heads if isinstance(h, str) and h})
    known = gitrepo.objects(
        repo, [f"{c}^{{commit}}" for c in commits] + [f"{c}:{p}" for c in commits for p in paths]
    )
    present = [c for c in commits if f"{c}^{{commit}}" in known]
    blobs = {name: oid for name, (oid, kind) in known.items() if kind == "blob"}
    contents = gitrepo.read_blobs(repo, list(blobs.values()))
    hashed = {blob: files.hash_bytes(data) for blob, data in contents.items()}
    found: dict[str, dict[str, str | None]] = {}
    for commit in present:
        found[commit] = {p: hashed.get(blobs.get(f"{commit}:{p}", "")) for p in paths}
    return found


def _asked(repo: str, work: Work) -> list[str]:
    """The patch ids of a session's commits, asked of git (None of them when they are gone)."""
    if work.head_after is None:
        return []
    try:
        return gitrepo.code_patches(repo, work.head_before, work.head_after)
    except SddError:
        return []
