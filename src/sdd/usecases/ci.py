"""`sdd ci check`: whether a branch holds to the process, judged against its base.

Everything it judges by is read from the base's commit, never from the branch: the
approvers, the workflow and the gates' rules in force, ``[ci]`` (whether unsigned is
accepted, the released branches). The branch's history must hold the base's, be intact, and
every signature must hold under the base's approvers (an approver the branch adds does not
count). Every commit after the base that changes code (outside docs/ and .sdd/) must be the
work of an implement or fix session that every gate before it let start (matched by patch,
so a rebase, a squash or a cherry-pick keeps it), and a release (a tag, or a merge into a
released branch) needs the cycle's deployment-approval. ``verify``: the base's checks, run
afresh in the working tree, which must be the commit judged.

Nothing is checked out and nothing of the branch is run (but its checks, with ``verify``):
the two commits' ``.sdd/`` are read from git's objects into a temporary folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile

from sdd.core import history
from sdd.core.errors import ConfigError, SddError, StateError, UsageError
from sdd.core.structs import dataclass, field
from sdd.core.trust import is_person_act
from sdd.project import rules
from sdd.project.config import CiSettings, ci_settings
from sdd.project.judged import Judged, export
from sdd.system import gitrepo
from sdd.usecases.ci_sessions import Work, fill_code, judge
from sdd.workflow.model import RELEASE_GATE, Workflow

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import ClassVar

    from sdd.core.state import ProjectState


@dataclass
class Failure:
    """One way the branch falls short, and what to do about it."""

    kind: str  # base, history, unsigned, act, rules, commit, release, verify
    what: str
    fix: str
    commit: str | None = None


@dataclass
class Report:
    base: str  # the base as named
    base_commit: str
    head: str
    commits: int = 0  # after the base
    code_commits: int = 0  # of them, those that change code
    sessions: int = 0  # implement and fix sessions that could write code
    signed: bool = False
    approvers: list[str] = field(default_factory=list)  # the base's, by principal
    release: str | None = None  # the tag or the released branch this is a release into
    verified: bool | None = None  # with --verify: whether the base's checks passed at HEAD
    notes: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    JSON_EXTRA: ClassVar[tuple[str, ...]] = ("ok",)

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(self, kind: str, what: str, fix: str, commit: str | None = None) -> None:
        self.failures.append(Failure(kind, what, fix, commit))


def resolve_base(repo: str, head: str, base: str | None) -> tuple[str, str]:
    """The base as named and its commit: ``base``, else the merge base of ``head`` with the
    default branch (origin/HEAD, else main, else master)."""
    if base is not None:
        commit = gitrepo.resolve(repo, base)
        if commit is None:
            raise UsageError(f"--base {base}: not a commit of this repository")
        return base, commit
    default = gitrepo.default_branch(repo)
    if default is None:
        raise UsageError(
            "no default branch to judge against (no origin/HEAD, main or master)",
            hint="name the base: sdd ci check --base REF",
        )
    commit = gitrepo.merge_base(repo, head, default)
    if commit is None:
        raise UsageError(
            f"HEAD has no commit in common with {default}",
            hint="a shallow clone? fetch the whole history (`git fetch --unshallow`; in GitHub "
            "Actions, actions/checkout with fetch-depth: 0), or name the base: --base REF",
        )
    shown = default.removeprefix("refs/heads/").removeprefix("refs/remotes/")
    return f"merge base with {shown}", commit


def check(
    repo: str,
    *,
    base: str | None = None,
    head: str = "HEAD",
    tag: str | None = None,
    into: str | None = None,
    verify: bool = False,
    worktree: str | None = None,
) -> Report:
    """Judge ``head`` against ``base`` in the repository ``repo`` (a work tree or a bare
    repository). ``tag``: judged as a release tag (default: the tags at ``head``); ``into``:
    the branch it is merged into (a released one needs deployment-approval); ``verify``: run
    the base's checks in ``worktree`` (which must hold ``head``)."""
    repo = gitrepo.toplevel(repo) or repo  # git's pathspecs are relative to where it runs
    worktree = gitrepo.toplevel(worktree) if worktree else None
    head_commit = gitrepo.resolve(repo, head)
    if head_commit is None:
        raise UsageError(
            f"{head}: not a commit of a git repository here",
            hint="run it in a clone of the project (with its history fetched)",
        )
    named, base_commit = resolve_base(repo, head_commit, base)
    report = Report(named, base_commit, head_commit)
    if base_commit == head_commit:
        report.notes.append(
            "HEAD is its own base (the default branch itself?): there are no commits after it "
            "to judge; run it on a branch, or name an older base with --base REF"
        )
    scratch = tempfile.mkdtemp(prefix="sdd-ci-")
    try:
        _judge(repo, report, scratch, tag=tag, into=into)
        if verify and not any(f.kind == "base" for f in report.failures):
            _verify(repo, report, scratch, worktree or repo)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return report


def _judge(repo: str, report: Report, scratch: str, *, tag: str | None, into: str | None) -> None:
    base_dir, head_dir = os.path.join(scratch, "base"), os.path.join(scratch, "head")
    export(repo, [(report.base_commit, base_dir), (report.head, head_dir)])
    if not os.path.isfile(os.path.join(base_dir, ".sdd", "config.toml")):
        report.fail(
            "base",
            f"the base ({report.base_commit[:10]}) is not an sdd project: there are no rules to "
            "judge the branch by",
            "merge the project's set-up (`sdd init`) into the base first, or name another "
            "base: --base REF",
        )
        return
    base_project = Judged(base_dir)
    try:
        settings = ci_settings(base_project.config.raw, ".sdd/config.toml (base)")
        base_loaded = history.load(base_project.paths)
        base_state = base_project.state_of(base_loaded)
        standing = base_project.rule_state(base_state)
    except (ConfigError, StateError) as exc:
        report.fail(
            "base",
            f"the base's project cannot be read: {exc.message}",
            "fix it on the base first (`sdd doctor` there)",
        )
        return
    trust = base_state.trust
    report.signed = base_state.signed
    report.approvers = sorted({a.principal for a in trust.approvers.values()}) if trust else []
    if not base_state.signed and not settings.accept_unsigned:
        report.fail(
            "unsigned",
            "the base has no approvers: nobody's signature stands behind its gates",
            "on the base, a person adds their key (`sdd approvers add`), or the base's "
            ".sdd/config.toml accepts unsigned work: [ci] accept_unsigned = true",
        )
    if not os.path.isdir(os.path.join(head_dir, ".sdd")):
        report.fail(
            "history",
            "the branch has no .sdd/: its history was removed",
            "restore .sdd/ from the base (git checkout BASE -- .sdd) and record the work again",
        )
        return
    base_ids = frozenset(r["id"] for r in base_loaded.records)
    judged = Judged(head_dir, confirmed=base_ids, fixed=True, standing=standing)
    try:
        loaded = history.load(judged.paths)
    except StateError as exc:
        report.fail("history", f"the branch's history cannot be read: {exc.message}",
                    exc.hint or "restore it from the base and record the work again")  # fmt: skip
        return
    state = judged.state_of(loaded)
    _history(report, base_loaded, loaded, state)
    _rules(report, judged, state, standing)
    workflow = standing.in_force.workflow
    stage = next((s.name for s in workflow.stages if s.repeat == "per-task"), "implement")
    works = judge(repo, judged, loaded, state, stage)
    report.sessions = sum(1 for w in works if w.valid)
    cycles = _commits(repo, report, works, stage)
    _release(repo, report, judged, state, workflow, settings, cycles, tag=tag, into=into)


def _history(
    report: Report, base: history.Loaded, loaded: history.Loaded, state: ProjectState
) -> None:
    tampered = [p for p in state.problems if p.tamper]
    for problem in tampered[:10]:
        report.fail(
            "history",
            f"{problem.place}: {problem.what}",
            "restore the history from the base (records are never rewritten) and run `sdd doctor`",
        )
    if len(tampered) > 10:
        report.fail(
            "history",
            f"and {len(tampered) - 10} more record(s) changed or removed by hand",
            "`sdd doctor` lists them all",
        )
    missing = [r for r in base.records if r["hash"] not in loaded.by_hash]
    if missing:
        report.fail(
            "history",
            f"{len(missing)} record(s) of the base's history are missing from the branch's "
            f"(the first: {missing[0]['id']}, a `{missing[0]['type']}`)",
            "merge the base into the branch (git merge BASE): a history is only ever added to",
        )
    base_ids = {r["id"] for r in base.records}
    for problem in state.problems:
        if problem.tamper or problem.record_id in base_ids or not problem.record_id:
            continue
        record = next((r for r in loaded.records if r["id"] == problem.record_id), None)
        kind = record["type"] if record else ""
        if record is None or not is_person_act(record) or kind.startswith("approver."):
            # An approver the branch adds counts once the base holds it; a record whose past
            # is missing counts for nothing, and the commits it would cover are named.
            report.notes.append(f"{problem.place}: {problem.what}")
        else:
            report.fail(
                "act",
                f"{problem.place}: {problem.what}",
                "an approver of the base decides it again at their own terminal (their key "
                "signs it), and the branch is pushed again",
            )


def _rules(report: Report, judged: Judged, state: ProjectState, standing: rules.Standing) -> None:
    """A branch whose config weakens the base's rules: it is judged by the base's all the
    same, and a person must accept the change on the base before it can count."""
    try:
        proposed = rules.proposed(judged.config, judged.paths.root, ".sdd/config.toml")
    except ConfigError as exc:
        report.fail("rules", f"the branch's config cannot be read: {exc.message}",
                    "fix .sdd/config.toml (`sdd doctor`)")  # fmt: skip
        return
    # Against what the base's config proposes: a weakening the base itself still waits on
    # (not accepted there) is the base's, not the branch's.
    weaker = [c.what for c in rules.compare(standing.proposed, proposed) if c.weakens]
    accepted = state.accepted_rules
    if weaker and accepted is not None and accepted.fingerprint == proposed.fingerprint:
        # People accepted it on the branch, as many as it needs, with the base's keys: it is
        # theirs to make; the branch is still judged by the base's rules.
        report.notes.append(
            "the branch weakens the rules, and its history holds their acceptance: "
            + "; ".join(weaker)
        )
    elif weaker:
        report.fail(
            "rules",
            "the branch weakens the rules it is judged by: " + "; ".join(weaker),
            "weakening the rules is a change of its own: make it on the base, where a person "
            "accepts it (`sdd rules accept`), or revert it on the branch",
        )


def _commits(repo: str, report: Report, works: list[Work], stage: str) -> set[int]:
    """Each commit after the base that changes code, matched to the session that wrote it.
    The cycles whose sessions wrote the branch's code."""
    commits = gitrepo.commits_between(repo, report.base_commit, report.head)
    report.commits = len(commits)
    code = [c for c in commits if c.code]
    report.code_commits = len(code)
    patches = gitrepo.patch_ids(repo, [c.sha for c in code if not c.is_merge])
    valid = {p: w for w in works if w.valid for p in w.patches}
    other = {p: w for w in works if not w.valid for p in w.patches}
    cycles: set[int] = set()
    unmatched = []
    for commit in code:
        patch = patches.get(commit.sha)
        work = valid.get(patch) if patch else None
        if work is not None:
            cycles.add(work.cycle)
        else:
            unmatched.append(commit)
    if not unmatched:
        return cycles
    fill_code(repo, works)
    keys = gitrepo.code_keys(repo, [c for m in unmatched for c in (m.sha, *m.parents[:1])])
    for commit in unmatched:
        patch = patches.get(commit.sha)
        work = _chain(commit, works, keys)
        if work is not None:
            cycles.add(work.cycle)
            continue
        short = f'{commit.sha[:10]} "{commit.subject[:60]}"'
        changed = ", ".join(commit.code[:4]) + (" …" if len(commit.code) > 4 else "")
        blocked = other.get(patch) if patch else None
        if blocked is not None:
            why = (
                f"session {blocked.session} did not complete"
                if not blocked.complete
                else f"session {blocked.session} started behind a gate: {blocked.blocked}"
            )
            report.fail(
                "commit",
                f"commit {short} changes code ({changed}) in {why}",
                "redo the work in a session that starts after the gate is passed "
                f"(`sdd approve` by a person, then `sdd start {stage}`)",
                commit.sha,
            )
            continue
        open_work = next((w for w in works if not w.complete and not w.blocked), None)
        hint = (
            f"session {open_work.session} is still open: finish it (`sdd done`) and push again"
            if open_work is not None
            else f"do the work in a session (`sdd start {stage}` once implementation-approval "
            "is passed), or revert the commit"
        )
        what = "a merge that changes code of its own" if commit.is_merge else "changes code"
        report.fail(
            "commit",
            f"commit {short} {what} ({changed}) outside any implement or fix session",
            hint,
            commit.sha,
        )
    return cycles


EMPTY_CODE = "code1:" + hashlib.sha256(b"").hexdigest()  # a tree without code


def _chain(commit: gitrepo.Commit, works: list[Work], keys: dict[str, str]) -> Work | None:
    """A commit whose change to the code is that of consecutive valid sessions (a squash of
    their commits): from the code its parent holds to the code it holds, session by session.
    The last of them, or None."""
    before = keys.get(commit.parents[0]) if commit.parents else EMPTY_CODE
    after = keys.get(commit.sha)
    if before is None or after is None or before == after:
        return None
    at = before
    for work in works:  # in history order: each takes the code on from where the last left it
        if work.valid and work.code_before == at and work.code_after:
            at = work.code_after
            if at == after:
                return work
    return None


def _release(
    repo: str,
    report: Report,
    judged: Judged,
    state: ProjectState,
    workflow: Workflow,
    settings: CiSettings,
    cycles: set[int],
    *,
    tag: str | None,
    into: str | None,
) -> None:
    tags = [tag] if tag else gitrepo.tags_at(repo, report.head)
    branch = into.removeprefix("refs/heads/") if into else None
    if tags:
        report.release = f"tag {', '.join(tags)}"
    elif branch and branch in settings.released_branches:
        report.release = f"a merge into {branch} (a released branch)"
    if report.release is None or workflow.gate(RELEASE_GATE) is None:
        return
    if not tags and not cycles:
        return  # a merge that brings no code (documents, sdd's records) releases nothing
    if not cycles and state.cycles:
        cycles = {max(state.cycles)}
    from sdd.project.project import DocHasher

    class AtHead(DocHasher):
        def __init__(self) -> None:
            super().__init__(judged.paths)
            self.found: dict[str, str | None] = {}

        def __call__(self, relative: str) -> str | None:
            if relative not in self.found:
                blob = gitrepo.blobs_at(repo, [f"{report.head}:{relative}"]).get(
                    f"{report.head}:{relative}"
                )
                data = gitrepo.read_blobs(repo, [blob]).get(blob) if blob else None
                from sdd.core.files import hash_bytes

                self.found[relative] = hash_bytes(data) if data is not None else None
            return self.found[relative]

    hasher = AtHead()
    for number in sorted(cycles):
        cycle = state.cycles.get(number)
        if cycle is None:
            continue
        view = judged.position(state, cycle, hasher).gate_view(RELEASE_GATE)
        if view is None or not view.passed:
            shown = view.note or view.state if view is not None else "not reached"
            report.fail(
                "release",
                f"{report.release} needs cycle {number}'s {RELEASE_GATE}, which is {shown}",
                f"finish the cycle's final verification and have a person approve it "
                f"(`sdd approve {RELEASE_GATE}`) before releasing",
            )


def _verify(repo: str, report: Report, scratch: str, worktree: str) -> None:
    """The base's checks, run afresh in the work tree (which must be the commit judged)."""
    from sdd.usecases import verify

    if gitrepo.head(worktree) != report.head:
        report.fail(
            "verify",
            f"--verify runs the checks in the work tree, which is not {report.head[:10]}",
            "check out the commit judged (CI does), or leave --verify out",
        )
        return
    base_project = Judged(os.path.join(scratch, "base"))
    try:
        in_force = base_project.rule_state(base_project.load()).in_force
    except SddError as exc:
        report.fail("verify", f"the base's checks cannot be read: {exc.message}", "fix the base")
        return
    if not in_force.checks:
        report.fail(
            "verify",
            "the base names no checks and detection finds none: nothing to verify",
            "name the checks in the base's .sdd/config.toml ([[verify.checks]])",
        )
        return
    folder = os.path.join(scratch, "verify")
    result = verify.run_checks(
        worktree, list(in_force.checks), in_force.detected, folder, lambda p: p
    )
    report.verified = result.ok
    for run in result.checks:
        if not run.passed:
            with open(run.log, "rb") as handle:
                said = handle.read()[-600:].decode("utf-8", "replace").splitlines()
            tail = [line.strip() for line in said if line.strip()][-3:]
            report.fail(
                "verify",
                f"check {run.name} (`{' '.join(run.command)}`) "
                + ("timed out" if run.timed_out else f"exited {run.exit_code}")
                + (": " + " / ".join(tail) if tail else ""),
                "make it pass in an implement or fix session, then push again",
            )
