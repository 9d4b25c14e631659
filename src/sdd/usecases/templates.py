"""`sdd templates`: the project's stage templates against the packaged ones, and the upgrade
(recorded as a change to the process, like every change to a template)."""

from __future__ import annotations

from sdd.documents import template_upgrade

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.project.project import Project


def diff(project: Project) -> list[template_upgrade.StageDiff]:
    return template_upgrade.diff(project.paths)


def upgrade(project: Project) -> template_upgrade.Upgrade:
    with project.transaction() as tx:
        project.note_template_changes(tx)  # hand edits before the upgrade are their own change
        before = project.template_hashes()
        result = template_upgrade.upgrade(project.paths)
        after = project.template_hashes()
        changed = {p: h for p, h in after.items() if before.get(p) != h}
        if changed:
            cycle = tx.state.latest_cycle()
            tx.record(
                "template.change",
                cycle=cycle.number if cycle else None,
                hashes=changed,
                previous={p: before.get(p) for p in changed},
                source="sdd templates upgrade",
            )
    return result
