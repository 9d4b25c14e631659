"""An opened project: its paths, config, history and derived state, and the one way
to change the state (a transaction under the lock that regenerates what `sdd` owns)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sdd.core import files, history, records
from sdd.core.errors import SddError, StateError, UsageError
from sdd.core.fold import fold
from sdd.core.paths import ProjectPaths, require_root
from sdd.core.records import Kind
from sdd.core.state import Cycle, ProjectState
from sdd.documents import snapshots
from sdd.project import cache, rules
from sdd.project.checks import DETECTION_INPUTS
from sdd.project.config import Config
from sdd.project.config import load as load_config
from sdd.project.rules import Rules, Standing
from sdd.workflow import tracker
from sdd.workflow.gates import Position
from sdd.workflow.model import Gate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.documents.contracts import Task


class DocHasher:
    """Hashes documents on demand and remembers what it consulted (the cache key)."""

    def __init__(self, paths: ProjectPaths) -> None:
        self.paths = paths
        self.seen: dict[str, tuple[list[int] | None, str | None]] = {}

    def __call__(self, relative: str) -> str | None:
        if not _clean_relative(relative):
            return None  # a path from a record that would leave the project is never read
        if relative not in self.seen:
            path = os.path.join(self.paths.root, relative)
            key = cache.file_key(path)
            self.seen[relative] = (key, files.content_hash(path))
        return self.seen[relative][1]


def _clean_relative(relative: str) -> bool:
    return (
        bool(relative)
        and not os.path.isabs(relative)
        and ".." not in relative.split("/")
        and "\x00" not in relative
    )


def open_project(start: str | None = None) -> Project:
    """The project at or above ``start`` (default: the working folder)."""
    return Project.find(start)


class Project:
    def __init__(self, root: str) -> None:
        self.paths = ProjectPaths(root)
        self._config: Config | None = None
        self._latest: ProjectState | None = None  # the state loaded last
        self._standing: tuple[ProjectState, Standing] | None = None
        self._accepted: dict[tuple[str, str], Rules] = {}  # read from records (``rules.key``)

    @classmethod
    def find(cls, start: str | None = None) -> Project:
        return cls(require_root(start))

    @property
    def config(self) -> Config:
        """The config as the file says it. What sdd decides by is ``rules``."""
        if self._config is None:
            self._config = load_config(self.paths)
        return self._config

    @property
    def rules(self) -> Rules:
        """The rules in force (workflow, threshold, verify checks): the one place everything
        sdd decides reads them. Of the state loaded last (or the history as it is now)."""
        return self.rule_state(self._latest if self._latest is not None else self.load()).in_force

    def rule_state(self, state: ProjectState) -> Standing:
        """The rules in force for ``state``, against what the config proposes and what a
        person accepted (``sdd.project.rules``)."""
        if self._standing is not None and self._standing[0] is state:
            return self._standing[1]
        record = state.accepted_rules
        accepted = None
        if record is not None:
            accepted = self._accepted.get(rules.key(record)) or rules.from_record(record)
        proposed = rules.proposed(self.config, self.paths.root, self.paths.rel(self.paths.config))
        standing = rules.standing(accepted, proposed, setup=not state.sessions)
        self._standing = (state, standing)
        return standing

    def load(self) -> ProjectState:
        return self.state_of(history.load(self.paths))

    def state_of(self, loaded: history.Loaded) -> ProjectState:
        """The state a loaded history gives, its tamper evidence included."""
        state = fold(loaded.records)
        state.problems = loaded.problems
        state.warnings = loaded.warnings
        self._check_decisions(state, loaded.lines)
        self._check_rules(state, loaded.lines)
        self._latest = state
        return state

    def _check_rules(self, state: ProjectState, lines: dict[str, int]) -> None:
        """A `rules.accept` sdd did not write is flagged and does not count."""
        accepted, refused = rules.counted(state.rule_accepts, self._accepted)
        state.accepted_rules = accepted
        for record, why in refused:
            state.problems.append(
                history.Problem(
                    lines.get(record.record, 0),
                    record.record,
                    f"an acceptance of the rules {why}: written by hand? It does not count",
                )
            )

    def _check_decisions(self, state: ProjectState, lines: dict[str, int]) -> None:
        """An approval sdd did not write (no confirmation, or documents it never kept) is
        flagged and does not count: the gate it claims stays closed."""
        for cycle in state.cycles.values():
            kept = []
            for decision in cycle.decisions:
                why = None
                if decision.kind == "approve":
                    demo_approval = decision.by.get("kind") == "demo"
                    if decision.confirmed not in ("code", "demo"):
                        why = "carries no confirmation"
                    elif (decision.confirmed == "demo") != demo_approval or (
                        demo_approval and not state.demo
                    ):
                        why = "mixes the demo approver with a person"
                    else:
                        missing = [
                            p
                            for p, h in decision.docs.items()
                            if not snapshots.has_snapshot(self.paths, h)
                        ]
                        if missing:
                            why = f"approved versions of {', '.join(missing)} that sdd never kept"
                if why is None:
                    kept.append(decision)
                    continue
                state.problems.append(
                    history.Problem(
                        lines.get(decision.record, 0),
                        decision.record,
                        f"an approval of {decision.gate} (cycle {cycle.number}) {why}: written by hand? "
                        "It does not count",
                    )
                )
            cycle.decisions = kept

    def cycle(self, state: ProjectState, selector: str | None = None) -> Cycle | None:
        """The cycle a command works on: ``selector`` (number or slug), else the latest."""
        if selector is None:
            return state.latest_cycle()
        text = selector.strip()
        for cycle in state.cycles.values():
            if text in (str(cycle.number), cycle.slug, f"{cycle.number:03d}"):
                return cycle
        known = ", ".join(f"{c.number} ({c.slug})" for c in state.cycles.values()) or "none"
        raise UsageError(f"--cycle {selector}: no such cycle (known: {known})")

    def approved_tasks(self, cycle: Cycle) -> list[Task] | None:
        """The tasks of the plan as its latest approval saw it (None before any)."""
        for decision in reversed(cycle.decisions):
            if decision.kind != "approve":
                continue
            for path, digest in decision.docs.items():
                if path.endswith("implementation-plan.md") and digest:
                    from sdd.documents import check

                    parsed = check.parse_snapshot(self.paths, "plan", path, digest)
                    return parsed.tasks if parsed else None
        return None

    def position(
        self, state: ProjectState, cycle: Cycle, hasher: DocHasher | None = None
    ) -> Position:
        tasks = self.approved_tasks(cycle)
        in_force = self.rule_state(state).in_force

        def conditions(gate: Gate, documents: dict[str, str | None]) -> list[str]:
            from sdd.workflow import conditions

            return conditions.unmet(
                self.paths,
                gate,
                documents,
                in_force.threshold,
                state,
                cycle,
                checks=in_force.checks_fingerprint,
            )

        return Position(
            in_force.workflow,
            cycle,
            demo=state.demo,
            hasher=hasher or DocHasher(self.paths),
            tasks=[t.id for t in tasks] if tasks else None,
            conditions=conditions,
            released=cycle.number in state.releases,
        )

    def panel(self, state: ProjectState, cycle: Cycle | None, hasher: DocHasher) -> dict[str, Any]:
        position = self.position(state, cycle, hasher) if cycle else None
        return tracker.panel(state, cycle, position, rules=rules.notice(self.rule_state(state)))

    def next_for(self, state: ProjectState, cycle: Cycle | None) -> dict[str, Any]:
        return self.panel(state, cycle, DocHasher(self.paths))["next"]  # type: ignore[no-any-return]

    def refresh(self, state: ProjectState) -> dict[str, Any]:
        """Regenerate the tracker page and the cache from ``state`` (the caller holds the lock)."""
        hasher = DocHasher(self.paths)
        history_key = cache.file_key(self.paths.history)
        config_key = cache.file_key(self.paths.config)
        inputs = {rel: cache.file_key(self.paths.inside(rel)) for rel in DETECTION_INPUTS}
        data = self.panel(state, state.latest_cycle(), hasher)
        if not self.rule_state(state).proposed.detected:
            inputs = {}  # the config names the checks: the files detection reads do not matter
        page = tracker.render_page(data)
        if files.read_text(self.paths.tracker) != page:
            files.write_atomic(self.paths.tracker, page, display=self.paths.rel(self.paths.tracker))
        import json

        cache.write(
            self.paths,
            {
                "written": _now_ns(),
                "history": history_key,
                "config": config_key,
                "inputs": inputs,
                "docs": {rel: [key, digest] for rel, (key, digest) in hasher.seen.items()},
                "tracker": cache.file_key(self.paths.tracker),
                "tracker_text": page,
                "panel": data,
                "panel_json": json.dumps(data, ensure_ascii=False, sort_keys=True),
                "next_json": json.dumps(data["next"], ensure_ascii=False, sort_keys=True),
            },
        )
        return data

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Load the state under the lock; records appended are written, then derived files."""
        with history.locked(self.paths):
            tx = Transaction(self, self.load())
            try:
                yield tx
                if tx.pending:
                    self.note_template_changes(tx)
                    self.note_rules(tx)
                    size = history.complete_size(self.paths)
                    tx.written = history.append(self.paths, tx.pending)
                    tx.pending = []
                    try:
                        tx.state = self.load()
                        self.refresh(tx.state)
                    except BaseException:
                        # The command fails as a whole: what it recorded goes too.
                        history.truncate(self.paths, size)
                        raise
                else:
                    self.refresh(tx.state)
            except BaseException:
                tx.undo()
                raise

    def template_hashes(self) -> dict[str, str]:
        folder = self.paths.templates
        hashes: dict[str, str] = {}
        try:
            names = sorted(n for n in os.listdir(folder) if n.endswith(".md"))
        except OSError:
            return hashes
        for name in names:
            digest = files.content_hash(os.path.join(folder, name))
            if digest is not None:
                hashes[f"sessions/{name}"] = digest
        return hashes

    def note_template_changes(self, tx: Transaction) -> None:
        """Record every change to a stage template (the process evolving), with its source."""
        known = tx.state.template_hashes
        if not known:
            return
        now = self.template_hashes()
        for kind, fields in tx.pending:
            if kind == "template.change":  # already recorded, with a better source
                known = {**known, **fields.get("hashes", {})}
        changed = {p: h for p, h in now.items() if known.get(p) != h}
        changed.update({p: "deleted" for p in known if p not in now})
        if not changed:
            return
        cycle = tx.state.latest_cycle()
        session = cycle.open_session() if cycle else None
        source = (
            f"post-mortem {session.id}" if session and session.stage == "postmortem" else "by hand"
        )
        for path in changed:
            if path in now:
                snapshots.snapshot(self.paths, path)
        tx.pending.insert(
            0,
            records.checked(
                "template.change",
                {
                    "cycle": cycle.number if cycle else None,
                    "hashes": changed,
                    "previous": {p: known.get(p) for p in changed},
                    "source": source,
                },
            ),
        )

    def note_rules(self, tx: Transaction) -> None:
        """Record the rules in force as accepted when they are not yet: a change that weakens
        nothing, the setup before the first session, an existing project's first rules."""
        if any(kind == "rules.accept" for kind, _ in tx.pending):
            return
        standing = self.rule_state(tx.state)
        source = standing.source
        if source is None:
            return
        fields = rules.accept_fields(standing.proposed, source, standing.changes)
        tx.pending.insert(0, records.checked("rules.accept", fields))


def refuse_if_tampered(state: ProjectState, act: str) -> None:
    """Nothing moves on while the history holds records changed or removed by hand: what
    they said (a finding, a rejection, a red verify) would silently stop counting."""
    if not state.problems:
        return
    from sdd.core.errors import Refused

    raise Refused(
        f"{act} is refused: the history holds records changed or removed by hand",
        details=[f"line {p.line}: {p.what}" for p in state.problems[:5]],
        hint="run `sdd doctor`: it shows what was found and how to recover",
    )


class Transaction:
    """A change under the lock. Whatever it wrote to files is taken back if it fails:
    files it created are removed, files it replaced get their old bytes back."""

    def __init__(self, project: Project, state: ProjectState) -> None:
        self.project = project
        self.state = state
        self.pending: list[tuple[Kind, dict[str, Any]]] = []
        self.written: list[dict[str, Any]] = []
        self.created: list[str] = []  # files (and folders) this change made
        self.replaced: dict[str, bytes] = {}  # files this change rewrote -> their old bytes

    def create(self, path: str, text: str, display: str) -> None:
        """Write a new file that belongs to this change (and the folders it needs)."""
        folder = os.path.dirname(path)
        missing = []
        while folder and not os.path.exists(folder):
            missing.append(folder)
            folder = os.path.dirname(folder)
        self.created += reversed(missing)  # outermost first, so removal goes innermost first
        files.write_atomic(path, text, display=display)
        self.created.append(path)

    def replace(self, path: str, text: str, display: str) -> None:
        """Rewrite an existing file as part of this change (a missing one is created)."""
        if path in self.created or path in self.replaced:
            files.write_atomic(path, text, display=display)
            return
        try:
            with open(path, "rb") as handle:
                before = handle.read()
        except FileNotFoundError:
            self.create(path, text, display)
            return
        except OSError as exc:
            raise StateError(f"{display}: cannot read ({files.reason(exc)})") from None
        files.write_atomic(path, text, display=display)
        self.replaced[path] = before

    def undo(self) -> None:
        """Take back what this change wrote (it failed): best effort, as the failure that
        brought us here is what the user must see."""
        for path, before in reversed(self.replaced.items()):
            with contextlib.suppress(OSError, SddError):
                files.write_atomic(path, before)
        for path in reversed(self.created):  # files first, then the folders made for them
            with contextlib.suppress(OSError):
                if os.path.isdir(path) and not os.path.islink(path):
                    os.rmdir(path)
                else:
                    os.unlink(path)

    def record(self, kind: Kind, **fields: Any) -> None:
        self.pending.append(records.checked(kind, fields))


def _now_ns() -> int:
    import time

    return time.time_ns()
