"""The public API: what the command line, the MCP server and the dashboard call.

Each name is the use case itself, imported the first time it is used (``__getattr__``
below), so `sdd status` pays only for the modules that answer it. The imports under
``TYPE_CHECKING`` are the same names for the type checker and for a reader: one line per
name, saying where it lives. ``tests/test_api.py`` keeps the two lists the same.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sdd.agents.install.apply import install as install_agents
    from sdd.agents.install.apply import invocations as agent_invocations
    from sdd.agents.install.apply import uninstall as uninstall_agents
    from sdd.agents.install.plan import folders as agent_folders
    from sdd.agents.presets import listing as agent_list
    from sdd.core.paths import require_root as find_root
    from sdd.demo.driver import demo
    from sdd.project.project import Project, open_project
    from sdd.usecases.agent_records import add_question as record_question
    from sdd.usecases.agent_records import record_handoff
    from sdd.usecases.approvals import Confirm, DecisionResult, Review
    from sdd.usecases.approvals import decide as decide_gate
    from sdd.usecases.approvals import review as review_gate
    from sdd.usecases.approvers import add as add_approver
    from sdd.usecases.approvers import listing as approvers
    from sdd.usecases.approvers import new_key as new_signing_key
    from sdd.usecases.approvers import offer as signing_offer
    from sdd.usecases.approvers import recover as recover_approver
    from sdd.usecases.approvers import revoke as revoke_approver
    from sdd.usecases.autopilot import Budget as AutopilotBudget
    from sdd.usecases.autopilot import until_gate as run_until_gate
    from sdd.usecases.ci import check as ci_check
    from sdd.usecases.ci_setup import init as ci_init
    from sdd.usecases.cycles import abandon as abandon_cycle
    from sdd.usecases.cycles import archive, change, switch_layout
    from sdd.usecases.cycles import new as new_cycle
    from sdd.usecases.discard import discard as discard_branches
    from sdd.usecases.doctor import diagnose as doctor
    from sdd.usecases.document_check import check, document_path
    from sdd.usecases.findings import from_release as findings_from_release
    from sdd.usecases.findings import raise_finding as record_finding
    from sdd.usecases.findings import rows_for as finding_rows
    from sdd.usecases.findings import waive as waive_finding
    from sdd.usecases.hooks import install as install_hook
    from sdd.usecases.hooks import parse_updates as hook_updates
    from sdd.usecases.hooks import pre_push as hook_pre_push
    from sdd.usecases.hooks import receive as hook_receive
    from sdd.usecases.hooks import uninstall as uninstall_hook
    from sdd.usecases.init import init
    from sdd.usecases.log import listing as log
    from sdd.usecases.overview import overview, state_version
    from sdd.usecases.panel import Panel, status, status_all
    from sdd.usecases.parallel import run as run_parallel
    from sdd.usecases.parallel import stale as stale_worktrees
    from sdd.usecases.parallel import sweep as sweep_worktrees
    from sdd.usecases.postmortem import render as postmortem_text
    from sdd.usecases.postmortem import report as postmortem
    from sdd.usecases.questions import answer as answer_question
    from sdd.usecases.questions import listing as spec_questions
    from sdd.usecases.release import release
    from sdd.usecases.rules import RulesView
    from sdd.usecases.rules import accept as accept_rules
    from sdd.usecases.rules import show as rules
    from sdd.usecases.runner import run
    from sdd.usecases.sessions import abandon as abandon_session
    from sdd.usecases.sessions import done, start
    from sdd.usecases.sessions import listing as session_pages
    from sdd.usecases.sessions import preview as prompt
    from sdd.usecases.tasks import listing as tasks
    from sdd.usecases.tasks import reopen as reopen_task
    from sdd.usecases.templates import diff as templates_diff
    from sdd.usecases.templates import upgrade as templates_upgrade
    from sdd.usecases.verify import checks_for as verify_checks
    from sdd.usecases.verify import run as verify
    from sdd.usecases.walkthrough import Answer, Walk
    from sdd.usecases.walkthrough import begin as begin_walkthrough
    from sdd.usecases.walkthrough import walk as walk_through

# public name -> (module, name there)
EXPORTS: dict[str, tuple[str, str]] = {
    "agent_folders": ("sdd.agents.install.plan", "folders"),
    "install_agents": ("sdd.agents.install.apply", "install"),
    "agent_invocations": ("sdd.agents.install.apply", "invocations"),
    "uninstall_agents": ("sdd.agents.install.apply", "uninstall"),
    "agent_list": ("sdd.agents.presets", "listing"),
    "find_root": ("sdd.core.paths", "require_root"),
    "demo": ("sdd.demo.driver", "demo"),
    "Project": ("sdd.project.project", "Project"),
    "open_project": ("sdd.project.project", "open_project"),
    "record_question": ("sdd.usecases.agent_records", "add_question"),
    "record_handoff": ("sdd.usecases.agent_records", "record_handoff"),
    "Confirm": ("sdd.usecases.approvals", "Confirm"),
    "add_approver": ("sdd.usecases.approvers", "add"),
    "ci_init": ("sdd.usecases.ci_setup", "init"),
    "approvers": ("sdd.usecases.approvers", "listing"),
    "new_signing_key": ("sdd.usecases.approvers", "new_key"),
    "signing_offer": ("sdd.usecases.approvers", "offer"),
    "recover_approver": ("sdd.usecases.approvers", "recover"),
    "revoke_approver": ("sdd.usecases.approvers", "revoke"),
    "AutopilotBudget": ("sdd.usecases.autopilot", "Budget"),
    "run_until_gate": ("sdd.usecases.autopilot", "until_gate"),
    "DecisionResult": ("sdd.usecases.approvals", "DecisionResult"),
    "Review": ("sdd.usecases.approvals", "Review"),
    "decide_gate": ("sdd.usecases.approvals", "decide"),
    "review_gate": ("sdd.usecases.approvals", "review"),
    "ci_check": ("sdd.usecases.ci", "check"),
    "abandon_cycle": ("sdd.usecases.cycles", "abandon"),
    "archive": ("sdd.usecases.cycles", "archive"),
    "change": ("sdd.usecases.cycles", "change"),
    "switch_layout": ("sdd.usecases.cycles", "switch_layout"),
    "new_cycle": ("sdd.usecases.cycles", "new"),
    "doctor": ("sdd.usecases.doctor", "diagnose"),
    "check": ("sdd.usecases.document_check", "check"),
    "document_path": ("sdd.usecases.document_check", "document_path"),
    "findings_from_release": ("sdd.usecases.findings", "from_release"),
    "record_finding": ("sdd.usecases.findings", "raise_finding"),
    "finding_rows": ("sdd.usecases.findings", "rows_for"),
    "waive_finding": ("sdd.usecases.findings", "waive"),
    "install_hook": ("sdd.usecases.hooks", "install"),
    "hook_updates": ("sdd.usecases.hooks", "parse_updates"),
    "hook_pre_push": ("sdd.usecases.hooks", "pre_push"),
    "hook_receive": ("sdd.usecases.hooks", "receive"),
    "uninstall_hook": ("sdd.usecases.hooks", "uninstall"),
    "init": ("sdd.usecases.init", "init"),
    "log": ("sdd.usecases.log", "listing"),
    "overview": ("sdd.usecases.overview", "overview"),
    "state_version": ("sdd.usecases.overview", "state_version"),
    "Panel": ("sdd.usecases.panel", "Panel"),
    "status": ("sdd.usecases.panel", "status"),
    "status_all": ("sdd.usecases.panel", "status_all"),
    "postmortem_text": ("sdd.usecases.postmortem", "render"),
    "postmortem": ("sdd.usecases.postmortem", "report"),
    "answer_question": ("sdd.usecases.questions", "answer"),
    "spec_questions": ("sdd.usecases.questions", "listing"),
    "release": ("sdd.usecases.release", "release"),
    "RulesView": ("sdd.usecases.rules", "RulesView"),
    "accept_rules": ("sdd.usecases.rules", "accept"),
    "rules": ("sdd.usecases.rules", "show"),
    "run": ("sdd.usecases.runner", "run"),
    "run_parallel": ("sdd.usecases.parallel", "run"),
    "sweep_worktrees": ("sdd.usecases.parallel", "sweep"),
    "stale_worktrees": ("sdd.usecases.parallel", "stale"),
    "discard_branches": ("sdd.usecases.discard", "discard"),
    "abandon_session": ("sdd.usecases.sessions", "abandon"),
    "done": ("sdd.usecases.sessions", "done"),
    "start": ("sdd.usecases.sessions", "start"),
    "session_pages": ("sdd.usecases.sessions", "listing"),
    "prompt": ("sdd.usecases.sessions", "preview"),
    "tasks": ("sdd.usecases.tasks", "listing"),
    "reopen_task": ("sdd.usecases.tasks", "reopen"),
    "templates_diff": ("sdd.usecases.templates", "diff"),
    "templates_upgrade": ("sdd.usecases.templates", "upgrade"),
    "verify_checks": ("sdd.usecases.verify", "checks_for"),
    "verify": ("sdd.usecases.verify", "run"),
    "Answer": ("sdd.usecases.walkthrough", "Answer"),
    "Walk": ("sdd.usecases.walkthrough", "Walk"),
    "begin_walkthrough": ("sdd.usecases.walkthrough", "begin"),
    "walk_through": ("sdd.usecases.walkthrough", "walk"),
}


def __getattr__(name: str) -> object:
    where = EXPORTS.get(name)
    if where is None:
        raise AttributeError(f"module 'sdd.api' has no attribute {name!r}")
    module = __import__(where[0], fromlist=[where[1]])  # the builtin: no importlib to load
    value = getattr(module, where[1])
    globals()[name] = value  # the next use is a plain global
    return value


def __dir__() -> list[str]:
    return sorted(EXPORTS)
