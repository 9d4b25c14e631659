"""`sdd doctor`: check the project and name the fix for every problem found."""

from __future__ import annotations

import json
import os

from sdd.core import files, history, records, timeline, trust
from sdd.core.errors import SddError
from sdd.core.paths import TEMP_DIR, ProjectPaths
from sdd.core.structs import dataclass, field
from sdd.documents import check, templates
from sdd.system import gitrepo
from sdd.usecases import acts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, ClassVar

    from sdd.core.state import ProjectState
    from sdd.project.project import Project

RECOVER_HISTORY = (
    "see what changed with `git log -p -- .sdd/history .sdd/history.jsonl` and restore the "
    "files from the last good commit (`git checkout <commit> -- .sdd/`); if a gate really was "
    "decided, a person decides it again with `sdd approve GATE`"
)
NOT_COUNTED = (
    "nothing to repair: the record is ignored. If a person meant it, they do it again "
    "(a signed project: with their key)"
)


@dataclass
class Finding:
    area: str  # history, config, rules, templates, documents, agents, git, state
    severity: str  # error or warning
    what: str
    fix: str


@dataclass
class Report:
    root: str
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    JSON_EXTRA: ClassVar[tuple[str, ...]] = ("ok",)

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def add(self, area: str, severity: str, what: str, fix: str) -> None:
        self.findings.append(Finding(area, severity, what, fix))


def diagnose(project: Project) -> Report:
    paths = project.paths
    report = Report(paths.root)
    state = _history(project, report)
    config_ok = _config(project, report)
    if config_ok:
        _templates(project, state, report)
        if state is not None and _rules(project, state, report):
            _documents(project, state, report)
    for relative in _symlinks_leaving(paths):
        report.add(
            "documents",
            "error",
            f"{relative} is a symbolic link that points outside the project",
            "replace the link with the file itself; sdd never writes through such links",
        )
    _agents(paths, report)
    _git(paths, report)
    if state is not None:
        _snapshots(project, state, report)
        _pages(project, state, report)
    if state is not None and state.signed:
        _signing_key(project, state, report)
    return report


def _pages(project: Project, state: ProjectState, report: Report) -> None:
    """Every session page's markers: sdd rewrites the part between them, so a page with one
    missing or doubled would be cut or copied by the next rewrite (and `sdd done` refuses it)."""
    from sdd.documents import pages

    report.checked.append("pages")
    for session in state.sessions.values():
        try:
            text = files.read_text(project.paths.inside(session.page)) if session.page else None
        except SddError:  # a page outside the project: the history's checks name that
            continue
        if text is None:
            continue
        for what, restore in pages.damage(text):
            report.add(
                "documents",
                "error",
                f"{session.page} ({session.id}, {session.stage}): {what}",
                f"{restore} (`git log -p -- {session.page}` shows how it was)",
            )


def _snapshots(project: Project, state: ProjectState, report: Report) -> None:
    """Each approved version sdd kept (``.sdd/snapshots/<hash>``) still holds what its hash
    says: a rewritten one would hide, from the next approval's diff, what changed."""
    from sdd.documents import snapshots

    seen: set[str] = set()
    for cycle in state.cycles.values():
        for decision in cycle.decisions:
            for path, digest in decision.docs.items():
                if digest in seen or not digest:
                    continue
                seen.add(digest)
                if snapshots.snapshot_holds(project.paths, digest) is False:
                    report.add(
                        "history",
                        "error",
                        f".sdd/snapshots/{digest}: the approved version of {path} "
                        f"({decision.gate}, cycle {cycle.number}) was rewritten after the approval",
                        "restore it from git (`git checkout -- .sdd/snapshots/`); the next "
                        "approval of that gate shows the document itself, not a diff",
                    )


def _signing_key(project: Project, state: ProjectState, report: Report) -> None:
    """The person's signing key, when it is an approver here: it must need the person (a
    passphrase, or a touch), or an agent running as them signs too."""
    from sdd.core.errors import SddError
    from sdd.system import signing

    report.checked.append("signing")
    try:
        key = signing.git_signing_key(project.paths.root)
        if key is None or key.public_key is None:
            return
        check = signing.check_key(key)
    except SddError as exc:
        report.add("signing", "warning", exc.message, acts.SETUP_HINT)
        return
    approvers = state.trust.approvers if state.trust else {}
    if check.fingerprint not in approvers:
        return
    _signing_program(report)
    for warning in check.warnings:
        report.add(
            "signing",
            "warning",
            f"your approver key {check.fingerprint}: {warning}",
            "use a key with a passphrase (`ssh-keygen -p -f KEY` adds one) or a security key "
            "(ed25519-sk), and keep it out of a long-lived ssh-agent",
        )


def _signing_program(report: Report) -> None:
    """The ssh-keygen a person's act runs: if a user can replace it, an agent running as that
    user can put one there that signs the agent's payload as well."""
    import shutil

    from sdd.system import signing

    found = shutil.which(signing.SSH_KEYGEN)
    if found is None:
        return
    real = os.path.realpath(found)
    # Root-owned and writable by nobody else, the program and its folder: what a package
    # manager installs. Anything else, a process running as its owner can replace.
    stats = [os.stat(p) for p in (real, os.path.dirname(real))]
    if any(st.st_uid != 0 or st.st_mode & 0o022 for st in stats):
        report.add(
            "signing",
            "warning",
            f"the ssh-keygen that signs your acts ({real}) is not a root-owned program in a "
            "root-owned folder: an agent running as its owner can replace it with one that "
            "signs the agent's payload too",
            "put the system's ssh-keygen (root-owned, e.g. /usr/bin) first on PATH when you "
            "decide gates",
        )


def _history(project: Project, report: Report) -> ProjectState | None:
    report.checked.append("history")
    paths = project.paths
    if not history.exists(paths):
        report.add(
            "history", "error", f"{paths.rel(paths.history_dir)}/ is missing", RECOVER_HISTORY
        )
        return None
    try:
        loaded = history.load(paths)
        state = project.state_of(loaded)
    except SddError as exc:
        report.add("history", "error", exc.message, exc.hint or RECOVER_HISTORY)
        return None
    for warning in state.warnings:
        report.add(
            "history",
            "warning",
            warning,
            "nothing to do: the next command that records something drops the cut record",
        )
    hand_written = {r["id"] for r in loaded.records if records.mismatches(r)}
    for problem in state.problems:
        where = problem.place if problem.file else paths.rel(paths.history_dir)
        if problem.tamper or problem.record_id in hand_written:
            report.add("history", "error", f"{where}: {problem.what}", RECOVER_HISTORY)
        else:  # it does not count: somebody wrote (or copied in) what sdd would not
            report.add("history", "error", f"{where}: {problem.what}", NOT_COUNTED)
    _record_shapes(paths, loaded, report)
    _record_times(paths, loaded, report)
    cycle = state.latest_cycle()
    session = cycle.open_session() if cycle else None
    if session is not None and not os.path.exists(paths.inside(session.page)):
        report.add(
            "state",
            "warning",
            f"session {session.id} is open but its page {session.page} is missing",
            "drop the session with `sdd abandon` and start it again",
        )
    return state


def _record_shapes(paths: ProjectPaths, loaded: history.Loaded, report: Report) -> None:
    """Every record against the schema of its kind: sdd writes none that differs, so one
    that does was written or edited by hand (its hash recomputed, or it would show above)."""
    for record in loaded.records:
        where = loaded.place(record["id"])
        kind = record["type"]
        if not records.is_kind(kind):
            report.add(
                "history",
                "warning",
                f"{where}: a record of a kind this sdd does not know (`{kind}`); it is ignored",
                "if a newer sdd wrote it, upgrade sdd; if nobody meant to, " + RECOVER_HISTORY,
            )
        wrong = records.mismatches(record)
        if wrong and not trust.is_person_act(record):  # an act: the trust problems name it
            report.add(
                "history",
                "error",
                f"{where}: a `{kind}` record that sdd did not write: {'; '.join(wrong)}",
                RECOVER_HISTORY,
            )


def _record_times(paths: ProjectPaths, loaded: history.Loaded, report: Report) -> None:
    """A record dated before the one it was appended after: backdated, or the clock was
    set back. An id that runs backwards is certain (sdd never writes one); a date may be
    the clock's doing, so it is a warning."""
    for found in timeline.backdated(loaded.records):
        where = loaded.place(found.record_id)
        if found.certain:
            report.add("history", "error", f"{where}: {found.what}", RECOVER_HISTORY)
        else:
            report.add(
                "history",
                "warning",
                f"{where}: {found.what}",
                "if the clock was right, the record was written by hand: " + RECOVER_HISTORY,
            )


def _config(project: Project, report: Report) -> bool:
    report.checked.append("config")

    def holds(read: Callable[[], object]) -> bool:
        try:
            read()
        except SddError as exc:
            report.add(
                "config",
                "error",
                exc.message + "".join(f"\n  {d}" for d in exc.details),
                exc.hint or "fix the file as the message says",
            )
            return False
        return True

    if not holds(lambda: project.config):  # loading it validates it
        return False
    from sdd.agents import presets
    from sdd.usecases import verify

    where = project.paths.rel(project.paths.config)
    holds(lambda: verify.configured(project))
    holds(lambda: presets.from_config(project.config.raw, where))
    known = {"format", "project", "spec", "workflow", "gates", "verify", "agents", "git", "ci"}
    for key in project.config.raw:
        if key not in known:
            report.add(
                "config",
                "warning",
                f"{project.paths.rel(project.paths.config)}: unknown setting `{key}`",
                f"remove it (known: {', '.join(sorted(known))})",
            )
    return True


def _templates(project: Project, state: ProjectState | None, report: Report) -> None:
    report.checked.append("templates")
    try:
        workflow = project.rule_state(state).in_force.workflow if state else None
    except SddError:  # the config's checks are not valid: the config check names them
        workflow = None
    # Without a readable history, the config's own workflow is the one to check against.
    for stage in (workflow or project.config.workflow).stages:
        try:
            template = templates.load(project.paths, stage.name)
        except SddError as exc:
            report.add(
                "templates",
                "error",
                exc.message + "".join(f"\n  {d}" for d in exc.details),
                exc.hint
                or f"restore it: `sdd templates diff` shows the packaged sessions/{stage.name}.md",
            )
            continue
        if template.source.startswith("(packaged)"):
            report.add(
                "templates",
                "warning",
                f"sessions/{stage.name}.md is missing; the packaged template is used",
                "run `sdd init` again to put the packaged copy back (nothing else is touched)",
            )
        declared = [w for w in template.writes]
        if declared != list(stage.writes):
            report.add(
                "templates",
                "warning",
                f"{template.source}: writes {declared} but the workflow says {list(stage.writes)}",
                "the workflow decides what a session must write: align the template's `writes`",
            )


def _rules(project: Project, state: ProjectState, report: Report) -> bool:
    """A change to the rules that weakens them: not in force, and waiting for a person.
    False when the rules cannot be read (the config check names why)."""
    report.checked.append("rules")
    try:
        standing = project.rule_state(state)
    except SddError:
        return False
    if not standing.pending:
        return True
    from sdd.project.rules import ACCEPT_COMMAND

    config = project.paths.rel(project.paths.config)
    for change in standing.changes:
        weakens = " (weakens)" if change.weakens else ""
        report.add(
            "rules",
            "error",
            f"the rules {config} proposes (with what detection finds) differ from the accepted "
            f"ones: {change.what}{weakens}; the accepted rules stay in force",
            f"a person accepts the change with `{ACCEPT_COMMAND}`, or the config is put back",
        )
    return True


def _documents(project: Project, state: ProjectState, report: Report) -> None:
    report.checked.append("documents")
    cycle = state.latest_cycle()
    if cycle is None:
        return
    position = project.position(state, cycle)
    done = {s for s, d in position.done.items() if d}
    kinds = {"spec": "spec", "architecture": "architecture", "plan": "plan"}
    names = [kind for stage, kind in kinds.items() if stage in done]
    if "plan" in names:
        names.append("test-plan")
    if not names:
        return
    result = check.check(project.paths, names, cycle.docs)
    for message in (m for m in result.messages if m.severity == "error"):
        report.add(
            "documents",
            "error",
            str(message),
            "fix the document (its contract is in the template's first line), or `sdd change --stage …` to rework it",
        )


def _symlinks_leaving(paths: ProjectPaths) -> list[str]:
    found = []
    real_root = os.path.realpath(paths.root)
    for folder, dirs, names in os.walk(paths.docs):
        for name in dirs + names:
            full = os.path.join(folder, name)
            if os.path.islink(full):
                target = os.path.realpath(full)
                if target != real_root and not target.startswith(real_root + os.sep):
                    found.append(paths.rel(full))
    return found


def _agents(paths: ProjectPaths, report: Report) -> None:
    from sdd.agents.install import manifest

    if not os.path.exists(os.path.join(paths.root, manifest.MANIFEST)):
        return
    report.checked.append("agents")
    try:
        drifted = manifest.drift(paths)
    except SddError as exc:
        report.add("agents", "error", exc.message, exc.hint or "run `sdd agents install` again")
        return
    recorded = manifest.load(paths)
    _twice(paths, recorded, report)
    if recorded.get("mcp"):
        _mcp_servers(paths, recorded, report)
    for relative, how in drifted:
        if how == "missing":
            report.add(
                "agents",
                "warning",
                f"{relative} (installed by sdd) is missing",
                "run `sdd agents install` to write it again",
            )
        else:
            report.add(
                "agents",
                "warning",
                f"{relative} was edited after sdd installed it",
                "keep your edit (sdd will not overwrite it), or delete the file and run `sdd agents install`",
            )


def _twice(paths: ProjectPaths, recorded: dict[str, Any], report: Report) -> None:
    """A stage an installed agent would see twice (a file sdd left alone next to its own)."""
    from sdd.agents.install import plan, twice

    try:
        agents = plan.agent_names(str(a) for a in recorded["agents"])
    except SddError:  # an agent this sdd does not know: nothing of its to check
        return
    for fix in twice.fixes(paths, agents, set(recorded["files"])):
        what, _, command = fix.partition(": `")
        report.add("agents", "warning", what, "`" + command)


def _mcp_servers(paths: ProjectPaths, recorded: dict[str, Any], report: Report) -> None:
    """Each MCP registration sdd wrote is still sdd's, and the server it starts starts: sdd's
    own command, found as the committed launcher finds it (never a command a cloned
    repository's files name), initialised with the SDK's client."""
    from sdd.agents.install import launcher, manifest
    from sdd.agents.registry import MCP_FILES

    report.checked.append("mcp")
    again = "run `sdd agents install --mcp` again"
    for relative, entry in sorted(recorded["files"].items()):
        if entry.get("kind") not in ("json", "toml"):
            continue
        text = files.read_text(paths.inside(relative))
        if text is None:
            continue  # missing: the drift check names it
        now = manifest.registered(text, entry)
        spec = MCP_FILES.get(relative)
        if spec is not None and now == dict(spec.entry):
            continue
        if now is None:
            what = f"{relative} no longer registers the `sdd` MCP server"
        elif now == entry.get("value"):
            what = (
                f"{relative} registers the `sdd` MCP server as {json.dumps(now)}, not with "
                "sdd's launcher (as an older sdd did): it starts only where that command "
                "works, and sdd doctor does not start it"
            )
        else:
            what = (
                f"{relative}: its `sdd` MCP server is not the one sdd registers "
                f"({json.dumps(now)}); sdd doctor does not start it"
            )
        report.add("agents", "error" if now == entry.get("value") else "warning", what, again)
    tracked = gitrepo.is_repo(paths.root) and gitrepo.is_tracked(paths.root, launcher.PATH_FILE)
    if tracked:
        report.add(
            "agents",
            "error",
            f"{launcher.PATH_FILE} is committed: it names one machine's sdd, and sdd doctor "
            "does not run what a repository names",
            f"`git rm --cached {launcher.PATH_FILE}`, then {again}",
        )
    found = launcher.resolve(paths, use_path_file=not tracked)
    if found.path is None:
        # A path file that names nothing: this machine's registration broke (a moved venv).
        # None at all: nobody ran `sdd agents install --mcp` here (a fresh clone, a CI job),
        # so no agent here was set up; said, but not an error.
        where = (
            f"{launcher.PATH_FILE} names {found.recorded}, which is not there (a moved or "
            "removed venv?), and"
            if found.stale
            else f"{launcher.PATH_FILE} is missing (not installed on this machine) and"
        )
        report.add(
            "agents",
            "error" if found.stale else "warning",
            f"the agents' MCP server cannot start: {where} no sdd is on PATH, in ~/.local/bin "
            "or installed by pipx or uv",
            launcher.REINSTALL,
        )
        return
    if found.stale:
        report.add(
            "agents",
            "warning",
            f"{launcher.PATH_FILE} names {found.recorded}, which is not there (a moved or "
            f"removed venv?); the launcher falls back to {found.path} ({found.via})",
            launcher.REINSTALL,
        )
    try:
        from sdd.system import mcp_probe
    except ImportError:  # pragma: no cover - the module imports the SDK only when called
        return
    try:
        probe = mcp_probe.initialise([found.path, "mcp"], cwd=paths.root, env=dict(os.environ))
    except ImportError:
        from sdd.core.distribution import install_hint

        report.add(
            "agents",
            "warning",
            "the MCP servers were not started: this sdd has no MCP Python SDK to talk to them",
            install_hint("mcp"),
        )
        return
    if not probe.ok:
        no_sdk = "needs the MCP Python SDK" in probe.error
        report.add(
            "agents",
            "error",
            f"the agents' MCP server did not start: `{found.path} mcp` (found in {found.via}, "
            f"as the launcher finds it): {probe.error}",
            "install the `mcp` extra where that sdd is installed (its message above names "
            "the command)"
            if no_sdk
            else f"run `{found.path} mcp` in the project to see why; if that sdd is not the "
            f"one you use, {launcher.REINSTALL}",
        )


def _git(paths: ProjectPaths, report: Report) -> None:
    report.checked.append("git")
    if not gitrepo.is_repo(paths.root):
        report.add(
            "git",
            "error",
            "the project is not a git repository",
            "run `git init` and commit .sdd/ with the code",
        )
        return
    attributes = files.read_text(os.path.join(paths.state, ".gitattributes")) or ""
    if os.path.isfile(paths.history) and "merge=union" not in attributes:
        report.add(
            "git",
            "warning",
            ".sdd/.gitattributes does not set the union merge for the history",
            "add the line `history.jsonl merge=union` to .sdd/.gitattributes",
        )
    ignore = {line.strip() for line in (files.read_text(paths.gitignore) or "").splitlines()}
    for folder in ("cache/", f"{TEMP_DIR}/"):
        if folder not in ignore:
            report.add(
                "git",
                "warning",
                f".sdd/.gitignore does not ignore {folder}",
                f"add `cache/`, `logs/`, `lock` and `{TEMP_DIR}/` to .sdd/.gitignore "
                "(the next command that records something adds `tmp/`)",
            )
