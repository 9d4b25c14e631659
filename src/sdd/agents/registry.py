"""The agent registry: every coding agent sdd knows, in one table.

An entry says what sdd needs to know of the agent for each thing it does with one:
- launching it with a brief (`sdd run`): its :class:`Launch` forms, where it has a preset;
- installing the stages for it (`sdd agents install`): where it reads commands, skills and
  MCP settings, its :class:`Install`, where sdd installs for it;
- telling it from a person (the person check): the process names and package markers
  looked for among a process's ancestors, for every agent, launchable or not.

Where each agent looks for project files (checked against each agent's documentation, late 2026):

- Claude Code reads `.claude/commands/<name>.md` and `.claude/skills/<name>/SKILL.md`; it
  does not read `.agents/skills/`.
- Codex CLI reads project skills from `.agents/skills/` only (its prompts live in the home
  folder, out of a project's reach).
- Gemini CLI reads `.gemini/commands/<name>.toml` and skills in `.gemini/skills/` or
  `.agents/skills/`.
- GitHub Copilot CLI reads skills in `.github/skills/`, `.claude/skills/` and
  `.agents/skills/` (it does not load `.github/prompts/`).
- Cursor reads `.cursor/commands/<name>.md` and skills in `.agents/skills/`,
  `.cursor/skills/`, `.claude/skills/` and `.codex/skills/`.
- opencode reads `.opencode/commands/<name>.md` and skills in `.opencode/skills/`,
  `.claude/skills/` and `.agents/skills/`.
- Qwen Code reads `.qwen/commands/<name>.md` (its TOML form is deprecated) and skills in
  `.qwen/skills/` or `.agents/skills/`.
- Amp reads skills in `.agents/skills/` and `.claude/skills/`.

Where each reads a project's MCP servers: Claude Code and Copilot CLI `.mcp.json`
(`mcpServers`), Codex `.codex/config.toml` (`[mcp_servers.NAME]`, in a trusted project),
Gemini CLI `.gemini/settings.json` and Qwen Code `.qwen/settings.json` (`mcpServers`), Cursor
`.cursor/mcp.json`, opencode `opencode.json` (`mcp`, the command as one list), Amp
`.amp/settings.json` (`amp.mcpServers`). Each then wants one step from the person before it
uses what was installed (trust the folder, approve the server): :class:`Step`.

To add an agent: one :class:`Agent` entry below (and a :class:`Location` or :class:`McpFile`
if it reads a folder or settings file no other agent does); `tests/test_registry.py` checks
the table holds together.
"""

from __future__ import annotations

from sdd.core.structs import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

# Agents that are not coding-agent CLIs, as a session records who ran it.
DEMO = "demo"  # sdd's own scripted agent, which plays every part in `sdd demo`
PERSON = "person"  # a person doing a person's stage through `sdd run`


@dataclass(frozen=True)
class Launch:
    """How `sdd run` starts the agent with a brief, in both modes.

    Argument templates use ``{brief}`` (the brief's text) and ``{brief_file}`` (a file that
    holds it). `sdd run --agent` knows the agent by the command it launches.
    """

    interactive: tuple[str, ...]
    headless: tuple[str, ...]
    # Headless argv that reads the brief from standard input, when the agent can.
    headless_stdin: tuple[str, ...] | None = None
    result: str | None = None  # how to read its structured output: see presets.reported_error
    interactive_note: str | None = None  # what the person tells an agent that takes no first prompt
    # What its headless output says of what a session cost: "cost" (a ``total_cost_usd``
    # in its JSON result, see presets.reported_cost), "tokens" (token counts only), or None.
    reports: str | None = None

    @property
    def executable(self) -> str:
        return self.interactive[0]


@dataclass(frozen=True)
class Step:
    """What the person does once for the agent to use what was installed (trust, approve)."""

    text: str
    mcp_only: bool = False  # needed only for the MCP server, not for the stages


@dataclass(frozen=True)
class Install:
    """Where the agent reads what `sdd agents install` writes for it."""

    reads: tuple[str, ...]  # the LOCATIONS it reads
    prefers: tuple[str, ...]  # where its stages go, best first (a subset of ``reads``)
    invoke: str  # how a person calls a stage given as a skill, with {name} (commands: /{name})
    mcp: str | None = None  # its key in MCP_FILES
    instructions: str | None = None  # its own instructions file besides AGENTS.md
    imports: str | None = None  # how that file imports AGENTS.md (so the block is there once)
    step: Step | None = None  # the person's one step after installing; None: nothing to do


@dataclass(frozen=True)
class Agent:
    """An agent sdd knows: how it is found, launched and installed for."""

    name: str
    title: str
    aliases: tuple[str, ...] = ()  # other names `sdd agents install` accepts for it
    executables: tuple[str, ...] = ()  # any of these on PATH means the agent is installed
    processes: tuple[str, ...] = ()  # its process names, for the person check
    packages: tuple[str, ...] = ()  # markers of its packages in a command line, likewise
    launch: Launch | None = None
    install: Install | None = None


@dataclass(frozen=True)
class Location:
    """A folder sdd may write the stages into, and the form of the files there."""

    key: str
    folder: str
    form: str  # skill, claude-skill, claude-command, gemini-command, cursor-command, opencode-command, qwen-command

    @property
    def shared(self) -> bool:
        return self.key == "agents-skills"


LOCATIONS: dict[str, Location] = {
    loc.key: loc
    for loc in (
        Location("agents-skills", ".agents/skills", "skill"),
        Location("claude-commands", ".claude/commands", "claude-command"),
        Location("claude-skills", ".claude/skills", "claude-skill"),
        Location("github-skills", ".github/skills", "skill"),
        Location("gemini-commands", ".gemini/commands", "gemini-command"),
        Location("cursor-commands", ".cursor/commands", "cursor-command"),
        Location("opencode-commands", ".opencode/commands", "opencode-command"),
        Location("qwen-commands", ".qwen/commands", "qwen-command"),
    )
}


@dataclass(frozen=True)
class McpFile:
    """Where an agent's project configuration registers MCP servers."""

    path: str
    table: str  # the object that holds the servers, by name
    entry: Mapping[str, Any]  # sdd's entry in it
    skeleton: Mapping[str, Any] = field(default_factory=dict)  # a new file's other keys
    format: str = "json"  # json, or toml (Codex)


# Every registration starts the committed launcher, which finds this machine's `sdd` (see
# agents/install/launcher.py): no absolute path of one machine goes into a committed file,
# and the server starts whether or not the venv holding sdd is active. Run by `sh`, so it
# needs no executable bit (lost in some checkouts and archives).
LAUNCHER = ".sdd/bin/sdd-mcp"
SERVER = "sdd"  # sdd's name among each agent's MCP servers
_STDIO = {"command": "sh", "args": [LAUNCHER]}
MCP_FILES: dict[str, McpFile] = {
    spec.path: spec
    for spec in (
        McpFile(".mcp.json", "mcpServers", {"type": "stdio", **_STDIO}),
        McpFile(".gemini/settings.json", "mcpServers", _STDIO),
        McpFile(".cursor/mcp.json", "mcpServers", _STDIO),
        McpFile(
            "opencode.json",
            "mcp",
            {"type": "local", "command": ["sh", LAUNCHER], "enabled": True},
            {"$schema": "https://opencode.ai/config.json"},
        ),
        McpFile(".qwen/settings.json", "mcpServers", _STDIO),
        McpFile(".codex/config.toml", "mcp_servers", _STDIO, format="toml"),
        McpFile(".amp/settings.json", "amp.mcpServers", _STDIO),
    )
}


AGENTS: dict[str, Agent] = {
    a.name: a
    for a in (
        # Launch flags as each agent documents them (late 2026). Headless forms grant no
        # extra permissions: a project that wants e.g. `--permission-mode acceptEdits`
        # defines its own agent in .sdd/config.toml.
        Agent(
            "claude",
            "Claude Code",
            aliases=("claude-code",),
            executables=("claude",),
            processes=("claude",),
            packages=("@anthropic-ai/claude-code",),
            launch=Launch(
                ("claude", "{brief}"),
                ("claude", "-p", "{brief}", "--output-format", "json"),
                ("claude", "-p", "--output-format", "json"),
                result="json-result",
                reports="cost",
            ),
            install=Install(
                ("claude-commands", "claude-skills"),
                ("claude-commands", "claude-skills"),
                "/{name}",
                ".mcp.json",
                "CLAUDE.md",
                "@AGENTS.md",
                Step(
                    "approve the project's `sdd` server when Claude Code asks (or list it in "
                    '`"enabledMcpjsonServers": ["sdd"]` of .claude/settings.local.json)',
                    mcp_only=True,
                ),
            ),
        ),
        Agent(
            "codex",
            "Codex CLI",
            executables=("codex",),
            processes=("codex",),
            packages=("@openai/codex", "@openai/codex-cli"),
            launch=Launch(
                ("codex", "{brief}"),
                ("codex", "exec", "--json", "{brief}"),
                ("codex", "exec", "--json", "-"),
                result="json-events",
                reports="tokens",
            ),
            install=Install(
                ("agents-skills",),
                ("agents-skills",),
                "${name}",
                ".codex/config.toml",
                step=Step(
                    "trust the project when Codex asks (it reads .codex/config.toml only in "
                    "a trusted project)",
                    mcp_only=True,
                ),
            ),
        ),
        Agent(
            "gemini",
            "Gemini CLI",
            executables=("gemini",),
            processes=("gemini",),
            packages=("@google/gemini-cli",),
            launch=Launch(
                ("gemini", "-i", "{brief}"),
                ("gemini", "-p", "{brief}", "--output-format", "json"),
                ("gemini", "--output-format", "json"),
                result="json-result",
                reports="tokens",
            ),
            install=Install(
                ("agents-skills", "gemini-commands"),
                ("gemini-commands", "agents-skills"),
                "the {name} skill",
                ".gemini/settings.json",
                "GEMINI.md",
                "@./AGENTS.md",
                Step(
                    "trust this folder when Gemini CLI asks (in an untrusted folder it loads no "
                    "project commands, skills or MCP servers)"
                ),
            ),
        ),
        Agent(
            "copilot",
            "GitHub Copilot CLI",
            executables=("copilot",),
            processes=("copilot",),
            packages=("@github/copilot",),
            launch=Launch(
                ("copilot", "-i", "{brief}"),
                ("copilot", "-p", "{brief}", "--output-format", "json"),
                result="json-events",
            ),
            install=Install(
                ("agents-skills", "claude-skills", "github-skills"),
                ("agents-skills", "github-skills", "claude-skills"),
                "the {name} skill",
                ".mcp.json",
                step=Step(
                    "trust this folder when Copilot CLI asks (its trusted folders are in "
                    "~/.copilot/config.json)"
                ),
            ),
        ),
        Agent(
            "cursor",
            "Cursor",
            aliases=("cursor-agent",),
            executables=("cursor-agent", "cursor"),
            # Not "cursor", the editor's own command: a person may work in its terminal.
            processes=("cursor-agent",),
            launch=Launch(
                ("cursor-agent", "{brief}"),
                ("cursor-agent", "-p", "{brief}", "--output-format", "json"),
                result="json-result",
            ),
            install=Install(
                ("agents-skills", "claude-skills", "cursor-commands"),
                ("cursor-commands", "agents-skills", "claude-skills"),
                "/{name}",
                ".cursor/mcp.json",
                step=Step(
                    "approve the project's `sdd` server when Cursor asks (its MCP settings "
                    "list it)",
                    mcp_only=True,
                ),
            ),
        ),
        Agent(
            "opencode",
            "opencode",
            executables=("opencode",),
            processes=("opencode",),
            packages=("opencode-ai",),
            launch=Launch(
                ("opencode", "--prompt", "{brief}"),
                ("opencode", "run", "--format", "json", "{brief}"),
                ("opencode", "run", "--format", "json"),
                result="json-events",
            ),
            install=Install(
                ("agents-skills", "claude-skills", "opencode-commands"),
                ("opencode-commands", "agents-skills", "claude-skills"),
                "the {name} skill",
                "opencode.json",
            ),
        ),
        Agent(
            "qwen",
            "Qwen Code",
            aliases=("qwen-code",),
            executables=("qwen",),
            processes=("qwen",),
            packages=("@qwen-code/",),
            launch=Launch(
                ("qwen", "-i", "{brief}"),
                ("qwen", "-p", "{brief}", "--output-format", "json"),
                ("qwen", "--output-format", "json"),
                result="json-result",
                reports="tokens",
            ),
            install=Install(
                ("agents-skills", "qwen-commands"),
                ("qwen-commands", "agents-skills"),
                "/{name}",
                ".qwen/settings.json",
                step=Step(
                    "run `qwen mcp approve sdd` (Qwen Code 0.24 and later start a project's "
                    "server only once approved)",
                    mcp_only=True,
                ),
            ),
        ),
        Agent(
            "amp",
            "Amp",
            executables=("amp",),
            processes=("amp",),
            packages=("@ampcode/cli", "@sourcegraph/amp"),  # its new package, and its old one
            launch=Launch(
                ("amp",),
                ("amp", "-x", "{brief}", "--stream-json"),
                ("amp", "-x", "--stream-json"),
                result="json-result",
                interactive_note="Amp takes no first prompt on its command line: tell it "
                '"Read {brief_file} and follow it".',
            ),
            install=Install(
                ("agents-skills", "claude-skills"),
                ("agents-skills", "claude-skills"),
                "the {name} skill",
                ".amp/settings.json",
                step=Step(
                    "run `amp mcp approve sdd` (Amp starts a workspace's MCP server only once "
                    "approved)",
                    mcp_only=True,
                ),
            ),
        ),
        Agent(
            "aider",
            "aider",
            executables=("aider",),
            processes=("aider",),
            packages=("aider-chat",),
            launch=Launch(
                ("aider", "--read", "{brief_file}"),
                (
                    "aider",
                    "--message-file",
                    "{brief_file}",
                    "--yes-always",
                    "--no-pretty",
                    "--no-stream",
                ),
                interactive_note="aider has the brief as a read-only file: tell it "
                '"Follow the brief in {brief_file}".',
            ),
        ),
        # Known to the person check only: sdd neither launches nor installs for them.
        Agent("goose", "Goose", processes=("goose",)),
        Agent("crush", "Crush", processes=("crush",)),
        Agent("kiro", "Kiro", processes=("kiro", "kiro-cli")),
        Agent("droid", "Factory Droid", processes=("droid",)),
        Agent("auggie", "Auggie", processes=("auggie",)),
        Agent("cline", "Cline", processes=("cline",)),
        Agent("qodo", "Qodo", processes=("qodo",)),
    )
}

# The views each use reads, in the table's order.
LAUNCHES: dict[str, Launch] = {
    a.launch.executable: a.launch for a in AGENTS.values() if a.launch is not None
}
INSTALLS: dict[str, Install] = {a.name: a.install for a in AGENTS.values() if a.install}
PROCESS_NAMES = frozenset(name for a in AGENTS.values() for name in a.processes)
PACKAGE_MARKERS = tuple(marker for a in AGENTS.values() for marker in a.packages)


def known_as(name: str) -> Agent | None:
    """The agent with this name or alias (any case), if there is one."""
    wanted = name.strip().lower()
    return next((a for a in AGENTS.values() if wanted == a.name or wanted in a.aliases), None)
