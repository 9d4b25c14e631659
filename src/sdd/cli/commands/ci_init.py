"""`sdd ci init github|gitlab`: the CI job that runs `sdd ci check` where code merges
(`sdd ci`'s dispatcher, in ``ci``, sends ``init`` here)."""

from __future__ import annotations

from sdd import api
from sdd.cli.output import Console, Reply

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def init(args: Any, console: Console) -> Reply:
    done = api.ci_init(api.open_project(), args.host, source=args.source, path=args.file)
    if not done.written:
        return Reply(done, f"{done.path}: {done.note}.")
    lines = [
        f"Wrote {done.path}: on every {'pull' if done.host == 'github' else 'merge'} request and "
        f"release tag it installs sdd {done.version} ({done.install}) and runs "
        "`sdd ci check --verify` against the base.",
    ]
    if done.include:
        lines.append(f"  → add this line to your .gitlab-ci.yml: {done.include}")
    required = (
        "make the job `sdd ci check` a required status check (GitHub: a branch protection rule)"
        if done.host == "github"
        else "require it before a merge (GitLab: Settings → Merge requests → Pipelines must "
        "succeed)"
    )
    lines += [
        f"  → commit it: git add {done.path} && git commit -m 'CI: sdd ci check'",
        f"  → {required}",
        f"  → protect {done.path} and .sdd/ with CODEOWNERS: a pull request can edit them",
    ]
    return Reply(done, "\n".join(lines))
