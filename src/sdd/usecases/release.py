"""`sdd release`: record the release a person approved, and optionally tag it: sdd's records
are committed first, so that the tagged commit holds the approval and the release."""

from __future__ import annotations

from sdd.core.errors import Refused, SddError, UsageError
from sdd.core.structs import dataclass
from sdd.project.project import Project, refuse_if_tampered
from sdd.system import gitrepo
from sdd.system.process import run_subprocess
from sdd.workflow.evidence import green_for
from sdd.workflow.model import RELEASE_GATE


@dataclass
class Released:
    cycle: int
    version: str
    tag: str | None
    head: str | None
    verify_run: str | None
    approval: str | None
    commit: str | None = None  # what the tag names: ``head`` and sdd's records on it


def release(project: Project, *, tag: str | None = None, cycle: str | None = None) -> Released:
    root = project.paths.root
    if tag is not None:
        checked = run_subprocess(["git", "check-ref-format", f"refs/tags/{tag}"], cwd=root)
        if checked.returncode != 0 or tag.startswith("-"):
            raise UsageError(f"--tag {tag!r}: not a valid git tag name")
    with project.transaction() as tx:
        chosen = project.cycle(tx.state, cycle)
        if chosen is None:
            raise Refused("there is no cycle yet")
        refuse_if_tampered(tx.state, "the release")
        if chosen.number in tx.state.releases:
            raise SddError(f"cycle {chosen.number} is already released")
        position = project.position(tx.state, chosen)
        view = position.gate_view(RELEASE_GATE)
        if view is None or not view.passed:
            state = view.state if view else "missing"
            raise Refused(
                f"{RELEASE_GATE} is {state}: nothing is released before a person approves deployment",
                hint=f"a person runs `sdd approve {RELEASE_GATE}`",
            )
        head = gitrepo.head(root)
        checks = project.rule_state(tx.state).in_force.checks_fingerprint
        evidence = green_for(tx.state, root, gitrepo.dirty(root), checks)
        if evidence is None:
            raise Refused(
                "no green `sdd verify` at HEAD: the release must rest on evidence",
                hint="sdd verify",
            )
        version = tag or chosen.slug
        if tag is not None:
            exists = run_subprocess(
                ["git", "rev-parse", "-q", "--verify", f"refs/tags/{tag}"], cwd=root
            )
            if exists.returncode == 0:
                raise SddError(f"the tag {tag} already exists")
            blocker = gitrepo.commit_blocker(root)
            if blocker is not None:
                raise Refused(
                    f"--tag {tag}: sdd commits its records before it tags, and cannot now: "
                    f"{blocker}",
                    hint="settle that first (or run `sdd release` without --tag)",
                )
        approval = view.decision.record if view.decision else None
        tx.record(
            "release",
            cycle=chosen.number,
            version=version,
            tag=tag,
            head=head,
            verify=evidence["id"],
            approval=approval,
            # Known issues: the minor findings still open go out with the release, named.
            minor=[
                f.id
                for f in chosen.findings.values()
                if f.severity == "minor" and f.status == "open"
            ],
        )
    tagged = None
    if tag is not None:
        tagged = _tag(root, tag, f"{chosen.title} (cycle {chosen.number}), released with sdd")
    return Released(chosen.number, version, tag, head, str(evidence["id"]), approval, tagged)


def _tag(root: str, tag: str, message: str) -> str | None:
    """Commit sdd's records (the approval, the release), then tag that commit."""
    try:
        gitrepo.commit_bookkeeping(root, f"sdd: records of the release {tag}")
    except SddError as exc:
        raise SddError(
            f"the release is recorded, but not tagged: {exc.message}",
            hint=f"commit .sdd/ and docs/session-tracker.md, then `git tag -a {tag}`",
        ) from None
    run_subprocess(["git", "tag", "-a", tag, "-m", message], cwd=root, check=True)
    return gitrepo.head(root)
