"""An opened project: its paths, config, history and derived state, and the one way
to change the state (a transaction under the lock that regenerates what `sdd` owns)."""

from __future__ import annotations

import contextlib
import os
from contextlib import contextmanager

from sdd.core import clock, files, gitfiles, history, records
from sdd.core.errors import SddError, StateError, UsageError
from sdd.core.fold import fold
from sdd.core.paths import TEMP_DIR, ProjectPaths, linked_home, require_root
from sdd.documents import snapshots
from sdd.project import cache, rules
from sdd.project.checks import DETECTION_INPUTS
from sdd.project.config import Config
from sdd.project.config import load as load_config
from sdd.workflow import tracker
from sdd.workflow.gates import Position

# A part of the checkpoint no head names stays this long: a reader that read an older
# head a moment ago may still decode it.
_PART_GRACE_NS = 60 * 10**9

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    from sdd.core.records import Kind
    from sdd.core.state import Cycle, Decision, ProjectState, Session
    from sdd.core.trust import Tally, Trust
    from sdd.documents.structures import Task
    from sdd.project.rules import Rules, Standing
    from sdd.workflow.model import Gate


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
        # A worktree of a parallel session records into its project's history, and its
        # `sdd done` ends its own session (``bound``), whatever else runs alongside.
        link = linked_home(root)
        self.paths = ProjectPaths(root, link[0] if link else None)
        self.bound: str | None = link[1] if link else None
        self._config: Config | None = None
        # The last comparison with the commit, and what it was made for (history files, HEAD).
        self._committed_memo: tuple[object, list[tuple[str, str]]] | None = None
        self._base_memo: tuple[str, set[str]] | None = None  # the protected base's history files
        # [HEAD, history files, what commits did to them] (``_uncommitted``)
        self._rewritten: list[Any] | None = None
        self._latest: ProjectState | None = None  # the state loaded last
        self._standing: tuple[ProjectState, Standing] | None = None
        self._accepted: dict[tuple[str, str], Rules] = {}  # read from records (``rules.key``)
        # The checkpoint of the state loaded last (``core.checkpoint``), encoded, and whether
        # this process made it from bytes it verified (else it was read from disk).
        self._memo: tuple[bytes, bool] | None = None
        self._parts: Any = None  # the checkpoint's parts (``checkpoint_codec.PartStore``)
        self._view: tuple[list[str], str | None] = ([], None)  # the heads, the last id
        self.fold_kind = ""  # how the state loaded last was folded: "full" or "incremental"
        self._made: Any = None  # the checkpoint of the state loaded last
        # The state the last `load` gave, and what it was loaded from (``_shown_key``): a
        # `load` right after it, with nothing changed since, gives it again.
        self._shown: tuple[object, ProjectState] | None = None

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
        """The state as the history has it now, for what is shown: it may start from the
        checkpoint on disk (``core.checkpoint``). A transaction loads with ``decide``.

        Loaded again in the same process with nothing changed since (the history's files,
        HEAD, the config: ``_shown_key``) and no other load between, it is the same state
        (`sdd done` asks several times): states are not changed by what reads them."""
        key = self._shown_key()
        if key is not None and self._shown is not None and self._shown[0] == key:
            return self._shown[1]
        state = self._load(decide=False)
        self._shown = (key, state) if key is not None else None
        return state

    def _shown_key(self) -> object:
        """What a shown state was loaded from, as file status (None: HEAD cannot be read
        without git, so nothing is reused)."""
        head = gitfiles.head_key(self.paths.home)
        if head is None:
            return None
        return (repr(cache.history_key(self.paths)), head, cache.file_key(self.paths.config))

    def _reverified(self, state: ProjectState) -> ProjectState:
        """``state``, read from the checkpoint on disk, once the signed acts it holds are
        checked against the history (``project.reverify``), now and for each cycle decoded
        later. A checkpoint that does not match is tampering with the cache: the command is
        refused and the checkpoint removed, so the next folds the whole history."""
        from sdd.project import reverify

        made = self._made
        assert made is not None
        verifier = reverify.Verifier(
            self.paths, state, made.place, made.approver_ids, self._confirmed_files
        )

        def refuse(reason: str) -> None:
            with contextlib.suppress(OSError):
                os.unlink(self.checkpoint_path())
            self._memo = None
            raise reverify.refuse_tampered(reason)

        why = verifier.why_not()
        if why is not None:
            refuse(why)

        def check(cycle: Cycle) -> None:
            reason = verifier.cycle_why_not(cycle)
            if reason is not None:
                refuse(reason)

        hooks = state.on_cycle_read()
        if hooks is not None:
            hooks.append(check)
        return state

    def load_whole(self) -> ProjectState:
        """The state folded and verified from the whole history in this process (once: what
        this process loads next continues from it). `sdd run` starts so, and decides every
        session it starts on it, whatever an agent it launched wrote into the cache."""
        return self._load(decide=False, whole=True)

    def _load(self, *, decide: bool, whole: bool = False) -> ProjectState:
        """The state, folded from a checkpoint and the records appended since when one
        covers the history as it is, else from the whole history. ``decide``: under the
        lock, for a transaction (nothing written until it ends). ``whole``: only a
        checkpoint this process made from bytes it verified may be started from."""
        from sdd.core import checkpoint

        self._shown = None  # whatever this load gives, an earlier `load` is not it
        if type(self)._trust is not Project._trust:
            # A project that judges what counts its own way (``judged``): no checkpoint.
            self.fold_kind = "full"
            return self.state_of(history.load(self.paths))
        start, trusted, source = None, False, b""
        if self._memo is not None and (self._memo[1] or not whole):
            start, trusted = checkpoint.decode(self._memo[0], self._store()), self._memo[1]
            source = self._memo[0]
        elif not whole and os.environ.get("SDD_CHECKPOINT") != "off":
            start, source = self._read_checkpoint()
        if start is not None:
            advanced = self._advance(start)
            if advanced is not None:
                made, _ = advanced
                self.fold_kind = "incremental"
                return self._finish(
                    made,
                    trusted=trusted,
                    write=not decide,
                    source=source if made.unchanged else None,
                )
        with history.collector_paused():  # a whole history's fold makes no cycles either
            loaded = history.load(self.paths)
            state, made = self._full(loaded)
            self.fold_kind = "full"
            if made is not None:
                return self._finish(made, trusted=True, write=not decide, state=state)
        self._memo = None
        return state

    def _advance(self, start: Any) -> tuple[Any, history.Loaded] | None:
        from sdd.core import checkpoint
        from sdd.core.fold import fold_into

        now = _now_ns()
        got = history.load_since(self.paths, start.coverage, start.written)
        if got is None:
            return None
        tail, _ = got
        made = checkpoint.advance(start, tail, fold_into, self._confirmed, now)
        if made is not None and not tail.records and made.coverage == start.coverage:
            # Nothing new. Written again only when that makes the next check cheaper: a
            # file changed near the old checkpoint's time is no longer near the new one's.
            changes = [c[3] for c in made.coverage]
            near = [t for t in changes if t >= start.written - history.RACY_NS]
            if not near or max(near) >= now - history.RACY_NS:
                made.written = start.written
                made.unchanged = True
        return (made, tail) if made is not None else None

    def _full(self, loaded: history.Loaded) -> tuple[ProjectState, Any]:
        """The state of the whole ``loaded`` history, and its checkpoint (None when it
        cannot be made)."""
        from sdd.core import checkpoint, trust

        evaluator = trust.Evaluator.start(loaded, self._confirmed(loaded))
        evaluator.feed(loaded, loaded.records)
        evaluator.finish(loaded)
        verdicts = evaluator.trust
        raw = fold([r for r in loaded.records if verdicts.counts(r)])
        made = checkpoint.full(loaded, evaluator, raw, _now_ns())
        if made is not None:
            return raw, made
        return self._finished_whole(loaded, raw, verdicts), None

    def _finish(
        self,
        made: Any,
        *,
        trusted: bool,
        write: bool,
        state: ProjectState | None = None,
        source: bytes | None = None,
    ) -> ProjectState:
        """The state of checkpoint ``made``: kept (in this process, and on disk for what
        follows when ``write``), then checked on a copy of its fold."""
        from sdd.core import checkpoint

        if self._rewritten is None and made.committed is not None:
            self._rewritten = made.committed
        if self._committed_memo is None and made.uncommitted is not None:
            self._committed_memo = (made.uncommitted[0], [tuple(c) for c in made.uncommitted[1]])
        uncommitted = self._uncommitted()
        memo = [self._committed_memo[0], self._committed_memo[1]] if self._committed_memo else None
        data: bytes | None = source
        if not data or made.committed != self._rewritten or made.uncommitted != memo:
            made.unchanged = (
                made.unchanged and made.committed == self._rewritten and made.uncommitted == memo
            )
            made.committed = self._rewritten
            made.uncommitted = memo
            raw = made.state

            def problems_of(cycle: Cycle) -> list[history.Problem]:
                return self._judged(raw, cycle, made.place)[1]

            try:
                data = checkpoint.encode(made, self._store(), problems_of)
            except ValueError:  # a value marshal cannot keep (a record written by hand)
                data = None
        self._memo = (data, trusted) if data is not None else None
        if data is not None and write and not made.unchanged:
            self._write_checkpoint(data)
        if state is None:
            state = made.state
        self._view = (made.heads, made.last_id)
        self._made = made
        return self._finished(
            state,
            made.evaluator.trust,
            count=made.count,
            problems=made.problems,
            warnings=[],
            heads=made.heads,
            unseen=made.unseen if made.evaluator.trust.signed else 0,
            place=made.place,
            uncommitted=uncommitted,
        )

    def _finished(
        self,
        state: ProjectState,
        verdicts: Trust,
        *,
        count: int,
        problems: list[history.Problem],
        warnings: list[str],
        heads: list[str],
        unseen: int,
        place: Callable[[str], tuple[str, int]],
        uncommitted: list[history.Problem],
    ) -> ProjectState:
        from sdd.core.checkpoint_codec import decode_now

        state.records = count
        state.problems = [*problems, *verdicts.problems, *uncommitted]
        state.warnings = warnings
        state.trust = verdicts
        state.heads = heads
        state.unseen = unseen
        latest = state.latest_cycle()
        if latest is not None:
            decode_now(latest)  # what every command looks at; the older cycles wait
        self._check_decisions(state, place)
        self._check_rules(state, place)
        self._latest = state
        return state

    def checkpoint_path(self) -> str:
        return cache.checkpoint_path(self.paths)

    def _store(self) -> Any:
        """Where this process keeps and finds the checkpoint's parts."""
        if self._parts is None:
            from sdd.core.checkpoint_codec import PartStore

            self._parts = PartStore(cache.checkpoint_parts(self.paths), self.checkpoint_path())
        return self._parts

    def _read_checkpoint(self) -> tuple[Any, bytes]:
        from sdd.core import checkpoint

        try:
            with open(self.checkpoint_path(), "rb") as handle:
                data = handle.read()
        except OSError:
            return None, b""
        return checkpoint.decode(data, self._store()), data

    def _write_checkpoint(self, data: bytes) -> None:
        """The parts this process made that the folder lacks, then the head; parts no head
        names any more go once a reader of an older head cannot still want them."""
        from sdd.core.checkpoint_codec import head_parts

        path = self.checkpoint_path()
        if not files.can_write(path):
            return
        store = self._store()
        with contextlib.suppress(OSError, SddError):
            names = store.named if store.named is not None else head_parts(data, store)
            os.makedirs(store.folder, exist_ok=True)
            store.save(
                sorted(names), lambda where, data: files.write_atomic(where, data, flush=False)
            )
            # No flush either: a head or part lost to a crash is a checkpoint that fails its
            # check on read, and the next command folds the history again (caches only).
            files.write_atomic(path, data, flush=False)
            made = [n for n in names if n in store.memory]
            if not made or max(made) < "1":
                # About one write in sixteen (as the name of the part it made falls):
                # listing the folder on every write costs what the parts save. Every
                # part the head names is kept, those on shelves it did not read included.
                store.prune(head_parts(data, store), _now_ns() - _PART_GRACE_NS)

    def state_of(self, loaded: history.Loaded) -> ProjectState:
        """The state a loaded history gives: only the records that count are folded
        (``core.trust``); what does not count, and any tampering, is reported."""
        verdicts = self._trust(loaded)
        state = fold([r for r in loaded.records if verdicts.counts(r)])
        return self._finished_whole(loaded, state, verdicts)

    def _finished_whole(
        self, loaded: history.Loaded, raw: ProjectState, verdicts: Trust
    ) -> ProjectState:
        """The state of a whole loaded history (no checkpoint), its problems reported."""
        self._view = (loaded.heads, loaded.records[-1]["id"] if loaded.records else None)
        return self._finished(
            raw,
            verdicts,
            count=len(loaded.records),
            problems=loaded.problems,
            warnings=loaded.warnings,
            heads=loaded.heads,
            unseen=len(verdicts.unseen(loaded)) if verdicts.signed else 0,
            place=lambda i: (loaded.files.get(i, ""), loaded.lines.get(i, 0)),
            uncommitted=self._uncommitted(),
        )

    def _trust(self, loaded: history.Loaded) -> Trust:
        """Which records count (``core.trust``), against the protected branch."""
        from sdd.core import trust

        return trust.evaluate(loaded, confirmed=self._confirmed(loaded))

    def _confirmed(self, loaded: history.Loaded) -> frozenset[str]:
        """The records the protected branch already holds (their segments are in it: a
        segment never changes once git tracks it)."""
        if not any(r["type"] == "approver.add" for r in loaded.records):
            return frozenset()  # an unsigned project: nothing to confirm (and no git call)
        return self._confirmed_files(loaded.files)

    def _confirmed_files(self, files: dict[str, str]) -> frozenset[str]:
        """Of ``files`` (record id -> its file), the ids whose file the protected branch holds."""
        from sdd.system import gitrepo

        base = gitrepo.protected_base(self.paths.home)
        if base is None:
            return frozenset()
        if self._base_memo is None or self._base_memo[0] != base:
            self._base_memo = (base, gitrepo.history_names_at(self.paths.home, base))
        held = self._base_memo[1]
        return frozenset(ident for ident, name in files.items() if name in held)

    def _uncommitted(self) -> list[history.Problem]:
        """History files that differ from the last commit: committed records are never
        rewritten (a tracked segment is sealed), so a difference is an edit or a removal."""
        home = self.paths.home  # the history is committed where it is kept
        head = gitfiles.head_key(home)
        memo = (repr(cache.history_key(self.paths)), head) if head is not None else None
        if (
            memo is not None
            and self._committed_memo is not None
            and self._committed_memo[0] == memo
        ):
            changed = self._committed_memo[1]
        else:
            from sdd.system import gitrepo  # only when git must be asked: it starts processes

            files = self._history_files()
            changed = gitrepo.changed_since_commit(home, files)
            # What commits did to the segments is a matter of the commit alone (and of
            # which files stand now): kept with the checkpoint, asked of git once a commit.
            key = [head, files]
            if head is None or self._rewritten is None or self._rewritten[:2] != key:
                self._rewritten = [*key, gitrepo.segments_rewritten(home, files)]
            changed = changed + [tuple(c) for c in self._rewritten[2]]
            self._committed_memo = (memo, changed) if memo is not None else None
        return [
            history.Problem(
                0,
                "",
                f"{how} since the last commit: committed records are never rewritten",
                name,
            )
            for name, how in changed
        ]

    def _carry_uncommitted(self, before: list[Any], appended: history.Appended) -> None:
        """What git said differs from HEAD still holds after sdd's own append, which went to
        a segment git does not track (``history.append`` seals a tracked one and opens a new
        one), and such a file is never in `git diff-index`'s answer. So it is carried to the
        history's new key, sparing the command a git process; only when nothing else in the
        history changed, so that an edit made meanwhile is still asked of git."""
        memo = self._committed_memo
        head = gitfiles.head_key(self.paths.home)
        if memo is None or head is None or appended.created or memo[0] != (repr(before), head):
            return
        after = cache.history_key(self.paths)
        name = os.path.basename(appended.segment)
        if len(after) != len(before) or after[0] != before[0]:
            return
        for old, new in zip(before[1:], after[1:], strict=True):
            if old != new and not old[0] == new[0] == name:
                return
        self._committed_memo = ((repr(after), head), memo[1])

    def _history_files(self) -> list[str]:
        names = [self.paths.rel(self.paths.history)] if os.path.isfile(self.paths.history) else []
        for name in history.segment_names(self.paths):
            names.append(self.paths.rel(os.path.join(self.paths.history_dir, name)))
        return names

    def _check_rules(self, state: ProjectState, place: Callable[[str], tuple[str, int]]) -> None:
        """A `rules.accept` sdd did not write is flagged and does not count."""
        from sdd.core import trust

        def count(
            need: int, roles: tuple[str, ...], approvals: list[tuple[str, dict[str, str]]]
        ) -> Tally:
            return trust.tally(need, roles, approvals, state.trust)

        accepted, refused = rules.counted(
            state.rule_accepts, self._accepted, count, state.rules_waiting
        )
        state.accepted_rules = accepted
        for record, why in refused:
            state.problems.append(
                history.Problem(
                    place(record.record)[1],
                    record.record,
                    f"an acceptance of the rules {why}: written by hand? It does not count",
                    place(record.record)[0],
                    tamper=False,
                )
            )

    def _check_decisions(
        self, state: ProjectState, place: Callable[[str], tuple[str, int]]
    ) -> None:
        """An approval sdd did not write (no confirmation, or documents it never kept) is
        flagged and does not count: the gate it claims stays closed. A cycle a checkpoint
        has not decoded shows the problems its part was made with until it is."""
        from sdd.core.checkpoint_codec import is_lazy, stored_problems

        for cycle in state.cycles.values():
            if is_lazy(cycle) and cycle.__dict__.get("_problems"):
                state.problems.extend(stored_problems(cycle))

        def judge(cycle: Cycle) -> None:
            if cycle.__dict__.get("_problems"):
                gone = {id(p) for p in stored_problems(cycle)}
                state.problems = [p for p in state.problems if id(p) not in gone]
            cycle.decisions, problems = self._judged(state, cycle, place)
            state.problems.extend(problems)

        state.each_cycle(judge)

    def _judged(
        self, state: ProjectState, cycle: Cycle, place: Callable[[str], tuple[str, int]]
    ) -> tuple[list[Decision], list[history.Problem]]:
        """The decisions of ``cycle`` that count, and a problem for each that does not."""
        kept: list[Decision] = []
        problems: list[history.Problem] = []
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
            problems.append(
                history.Problem(
                    place(decision.record)[1],
                    decision.record,
                    f"an approval of {decision.gate} (cycle {cycle.number}) {why}: written by hand? "
                    "It does not count",
                    place(decision.record)[0],
                )
            )
        return kept, problems

    def open_session(self, cycle: Cycle) -> Session | None:
        """The open session a command here works on: a parallel session's worktree works on
        its own; elsewhere, the latest open one."""
        if self.bound is not None:
            return next(
                (s for s in cycle.sessions if s.id == self.bound and s.outcome == "open"), None
            )
        return cycle.open_session()

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
        if not any(
            d.kind == "approve" and any(p.endswith("implementation-plan.md") for p in d.docs)
            for d in cycle.decisions
        ):
            return None  # and the document rules stay unloaded
        from sdd.documents import check

        return check.approved_tasks(self.paths, cycle)

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
                walk=in_force.workflow.stage(gate.after).actor == "person",
            )

        def verdicts(gate: Gate) -> str | None:
            """The digest of the walk of the session ``gate`` judges (a person's stage)."""
            from sdd.workflow import conditions

            session = conditions.prepared_session(cycle, gate.after)
            return conditions.walk_digest(state, session.id) if session else None

        def counter(gate: Gate, approvals: list[tuple[str, dict[str, str]]]) -> Tally:
            from sdd.core import trust

            return trust.tally(gate.approvals, gate.roles, approvals, state.trust)

        return Position(
            in_force.workflow,
            cycle,
            demo=state.demo,
            hasher=hasher or DocHasher(self.paths),
            tasks=[t.id for t in tasks] if tasks else None,
            conditions=conditions,
            released=cycle.number in state.releases,
            verdicts=verdicts,
            counter=counter,
        )

    def panel(self, state: ProjectState, cycle: Cycle | None, hasher: DocHasher) -> dict[str, Any]:
        position = self.position(state, cycle, hasher) if cycle else None
        return tracker.panel(
            state, cycle, position, rules=rules.notice(self.rule_state(state), state.rules_waiting)
        )

    def next_for(self, state: ProjectState, cycle: Cycle | None) -> dict[str, Any]:
        return self.panel(state, cycle, DocHasher(self.paths))["next"]  # type: ignore[no-any-return]

    def refresh(self, state: ProjectState, *, reading: bool = False) -> dict[str, Any]:
        """Regenerate the tracker page and the cache from ``state`` (the caller holds the lock).
        A command that only reads (``reading``) writes neither where the project cannot be
        written: the panel is computed all the same, and nothing fails."""
        hasher = DocHasher(self.paths)
        if self.paths.linked:
            # A parallel session's worktree: its documents are not the project's; the
            # project's own `sdd` regenerates the tracker and the cache from them.
            return self.panel(state, state.latest_cycle(), hasher)
        history_key = cache.history_key(self.paths)
        head_key = gitfiles.head_key(self.paths.root)
        config_key = cache.file_key(self.paths.config)
        # The files check detection reads matter only when the config names no checks.
        inputs: dict[str, Any] = {}
        if self.rule_state(state).proposed.detected:
            inputs = {rel: cache.file_key(self.paths.inside(rel)) for rel in DETECTION_INPUTS}
        data = self.panel(state, state.latest_cycle(), hasher)
        page = tracker.render_page(data)
        if files.read_text(self.paths.tracker) != page and not (
            reading and not files.can_write(self.paths.tracker)
        ):
            files.write_atomic(self.paths.tracker, page, display=self.paths.rel(self.paths.tracker))
        if state.signed:
            self._write_approvers(state, reading=reading)
        if reading and not files.can_write(cache.cache_path(self.paths)):
            return data
        import json

        cache.write(
            self.paths,
            {
                "written": _now_ns(),
                "history": history_key,
                "head": head_key,
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

    def _write_approvers(self, state: ProjectState, *, reading: bool) -> None:
        """``.sdd/approvers``, the allowed-signers file, as the history has the approvers."""
        from sdd.core import allowed_signers
        from sdd.core.sshsig import NAMESPACE

        approvers = state.trust.approvers.values() if state.trust else ()
        text = allowed_signers.render([(a.principal, a.key) for a in approvers], NAMESPACE)
        if files.read_text(self.paths.approvers) == text:
            return
        if reading and not files.can_write(self.paths.approvers):
            return
        files.write_atomic(self.paths.approvers, text, display=self.paths.rel(self.paths.approvers))

    @contextmanager
    def transaction(self, *, person: bool = False) -> Iterator[Transaction]:
        """Load the state under the lock; records appended are written, then derived files.

        A recording command starts from the checkpoint (``core.checkpoint``: its cost
        follows what was appended since, not the history). A person's act (``person``)
        never does: it folds and verifies the whole history in this process, every
        signature checked, so a person never decides, nor signs, on top of a state an
        agent could have written into the cache."""
        with history.locked(self.paths):
            tx = Transaction(self, self._load(decide=True, whole=person))
            tx.whole = person
            if tx.state.signed and self._memo is not None and not self._memo[1]:
                # From the cache, in a signed project: the signed acts are read back first.
                tx.state = self._reverified(tx.state)
            try:
                self._ignore_temporary(tx)
                yield tx
                if tx.pending:
                    self.note_template_changes(tx)
                    self.note_rules(tx)
                    if tx.state.signed or any(k == "approver.add" for k, _ in tx.pending):
                        clock.refuse_override("the project has approvers")
                    before = cache.history_key(self.paths)
                    appended = self._append(tx)
                    tx.written, tx.pending = appended.records, []
                    self._carry_uncommitted(before, appended)
                    try:
                        tx.state = self.load()
                        if not self.paths.linked:  # a worktree leaves them to its project
                            self.refresh(tx.state)
                    except BaseException:
                        # The command fails as a whole: what it recorded goes too.
                        appended.undo()
                        raise
                elif not self.paths.linked:
                    self.refresh(tx.state)
            except BaseException:
                tx.undo()
                raise
            if tx.written:
                self._commit_bookkeeping(tx.written)

    def _commit_bookkeeping(self, written: list[dict[str, Any]]) -> None:
        """With ``[git] commit_bookkeeping``, commit sdd's own files after a recorded change
        (never the person's staged work). Best effort: the change stands whatever git says,
        and during a merge sdd's files wait for the person."""
        if self.paths.linked:
            return  # the project's `sdd run --parallel` commits them, under the lock
        try:
            if not self.config.commit_bookkeeping:
                return
        except SddError:
            return
        from sdd.system import gitrepo

        root = self.paths.root
        if gitrepo.commit_blocker(root) is not None:
            return
        kinds = sorted({str(r.get("type")) for r in written})
        with contextlib.suppress(SddError, OSError):
            gitrepo.commit_bookkeeping(root, f"sdd: {', '.join(kinds)}")

    def _append(self, tx: Transaction) -> history.Appended:
        from sdd.system import gitrepo

        entries = list(tx.pending)
        heads, last_id = self._view
        if last_id is not None and not history.segment_names(self.paths):
            # A format-1 history goes on in segments; its file stays as it is.
            entries.insert(0, ("history.migrate", {"from_format": 1, "heads": heads}))
        root = self.paths.home
        return history.append(
            self.paths,
            entries,
            heads=heads,
            last_id=last_id,
            tracked=lambda relative: gitrepo.is_tracked(root, relative),
            sign=tx.signer,
        )

    def _ignore_temporary(self, tx: Transaction) -> None:
        """A project made before `.sdd/tmp/` existed: its `.sdd/.gitignore` learns it with
        this change (the folder ignores itself too, so nothing in it is ever committed)."""
        text = files.read_text(self.paths.gitignore)
        line = f"{TEMP_DIR}/"
        if text is None or line in {kept.strip() for kept in text.splitlines()}:
            return
        separator = "" if not text or text.endswith("\n") else "\n"
        tx.replace(self.paths.gitignore, f"{text}{separator}{line}\n", ".sdd/.gitignore")

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
        session = self.open_session(cycle) if cycle else None
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
    tampered = [p for p in state.problems if p.tamper]
    if not tampered:
        return
    from sdd.core.errors import Refused

    raise Refused(
        f"{act} is refused: the history holds records changed or removed by hand",
        details=[f"{p.place}: {p.what}" for p in tampered[:5]],
        hint="run `sdd doctor`: it shows what was found and how to recover",
    )


class Transaction:
    """A change under the lock. Whatever it wrote to files is taken back if it fails:
    files it created are removed, files it replaced get their old bytes back."""

    def __init__(self, project: Project, state: ProjectState) -> None:
        self.project = project
        self.state = state
        self.pending: list[tuple[Kind, dict[str, Any]]] = []
        self.signer: history.Signer | None = None  # signs the person's act, in a signed project
        self.whole = False  # the state was folded from the whole history in this process
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
