"""`sdd agents install|uninstall`: the stages as the agents' own skills and commands, the
managed block in AGENTS.md/CLAUDE.md/GEMINI.md, `--mcp` registration, and `sdd init`.

Where each agent looks is written down here from each agent's own documentation, apart
from sdd's code, so a wrong folder or a stage an agent would see twice is caught. Every
generated file is read back with a real parser for its format (YAML front matter with
PyYAML, TOML with tomllib, JSON with json).
"""

from __future__ import annotations

import itertools
import json
import re
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from helpers import STAGES, commit_all, run, sdd_json
from run_helpers import Agents, agents_fixture  # noqa: F401 - a fixture

# discovery is optional: offered only in a project with code to discover (the tests'
# projects have none; test_discovery_only_where_code_exists adds some)
ALL_STAGES = list(STAGES)

# Where each agent reads a project's commands (`.md` / `.toml` files) and skills
# (`<name>/SKILL.md` folders), late 2026:
#   Claude Code: docs "Extend Claude with skills" (commands merged into skills; both folders).
#   Codex CLI: developers.openai.com/codex/skills (repository skills in .agents/skills).
#   Gemini CLI: geminicli.com/docs/cli/custom-commands and /using-agent-skills (.agents alias).
#   Copilot CLI: docs.github.com "About agent skills" (.github, .claude or .agents skills;
#     .github/prompts is an IDE feature the CLI does not load).
#   Cursor: cursor.com/docs/context/skills and commands (.cursor/commands).
#   opencode: opencode.ai/docs/commands and /skills (commands/, legacy command/).
#   Qwen Code: docs/users/features/commands.md (Markdown; TOML deprecated) and skills.md.
#   Amp: skills in .agents/skills and .claude/skills.
COMMANDS, SKILLS = "commands", "skills"
READS: dict[str, list[tuple[str, str]]] = {
    "claude": [(".claude/commands", COMMANDS), (".claude/skills", SKILLS)],
    "codex": [(".agents/skills", SKILLS)],
    "gemini": [
        (".gemini/commands", COMMANDS),
        (".gemini/skills", SKILLS),
        (".agents/skills", SKILLS),
    ],
    "copilot": [(".github/skills", SKILLS), (".claude/skills", SKILLS), (".agents/skills", SKILLS)],
    "cursor": [
        (".cursor/commands", COMMANDS),
        (".cursor/skills", SKILLS),
        (".agents/skills", SKILLS),
        (".claude/skills", SKILLS),
        (".codex/skills", SKILLS),
    ],
    "opencode": [
        (".opencode/commands", COMMANDS),
        (".opencode/command", COMMANDS),
        (".opencode/skills", SKILLS),
        (".claude/skills", SKILLS),
        (".agents/skills", SKILLS),
    ],
    "qwen": [(".qwen/commands", COMMANDS), (".qwen/skills", SKILLS), (".agents/skills", SKILLS)],
    "amp": [(".agents/skills", SKILLS), (".claude/skills", SKILLS)],
}
AGENTS = list(READS)
# The file each agent's command folder takes: Gemini's commands are TOML, the others Markdown.
COMMAND_SUFFIX = {".gemini/commands": ".toml"}
# Each agent's project file for MCP servers, and the path to sdd's entry in it.
MCP_FILES = {
    "claude": (".mcp.json", ["mcpServers", "sdd"]),
    "copilot": (".mcp.json", ["mcpServers", "sdd"]),
    "gemini": (".gemini/settings.json", ["mcpServers", "sdd"]),
    "cursor": (".cursor/mcp.json", ["mcpServers", "sdd"]),
    "opencode": ("opencode.json", ["mcp", "sdd"]),
    "qwen": (".qwen/settings.json", ["mcpServers", "sdd"]),
    "amp": (".amp/settings.json", ["amp.mcpServers", "sdd"]),
}
# Codex reads TOML: `[mcp_servers.sdd]` in .codex/config.toml (a trusted project's).
CODEX_MCP = (".codex/config.toml", ["mcp_servers", "sdd"])
# Every registration starts the committed launcher with `sh` (no absolute path, no bare `sdd`).
LAUNCHED = {"command": "sh", "args": [".sdd/bin/sdd-mcp"]}
SKILL_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


# ----------------------------------------------------------------------------- reading back


def tree(root: Path) -> dict[str, bytes]:
    """Every file and folder of the project, sdd's derived cache, lock and logs left out."""
    found: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel == ".git" or rel.startswith(".git/"):
            continue
        if rel.startswith((".sdd/cache", ".sdd/logs", ".sdd/lock")):
            continue
        found[rel] = path.read_bytes() if path.is_file() else b"<folder>"
    return found


def front_matter(text: str) -> tuple[dict[str, Any], str]:
    """YAML front matter (parsed by PyYAML) and the body; ({}, text) when there is none."""
    if not text.startswith("---\n"):
        return {}, text
    end = text.index("\n---\n", 4)
    data = yaml.safe_load(text[4:end])
    assert isinstance(data, dict), f"front matter is not a mapping: {text[:200]}"
    return data, text[end + 5 :]


def stage_files(root: Path, folder: str, kind: str) -> dict[str, Path]:
    """Stage -> the file of sdd's stage in one folder an agent reads."""
    base = root / folder
    found: dict[str, Path] = {}
    if not base.is_dir():
        return found
    if kind == SKILLS:
        for skill in sorted(base.glob("sdd-*/SKILL.md")):
            found[skill.parent.name.removeprefix("sdd-")] = skill
    else:
        suffix = COMMAND_SUFFIX.get(folder, ".md")
        for command in sorted(base.glob(f"sdd-*{suffix}")):
            found[command.name.removeprefix("sdd-").removesuffix(suffix)] = command
    return found


def seen_by(root: Path, agent: str) -> Counter[str]:
    """How many times the agent sees each stage, over every folder it reads."""
    counts: Counter[str] = Counter()
    for folder, kind in READS[agent]:
        counts.update(list(stage_files(root, folder, kind)))
    return counts


def check_instructions(text: str, stage: str) -> None:
    """What every stage's skill or command tells the agent to do."""
    assert "fresh conversation" in text
    assert f"`sdd start {stage}`" in text
    assert f"`sdd prompt {stage}`" in text
    assert "`sdd done`" in text
    assert "## Handoff" in text
    assert "Never run `sdd approve`" in text  # gates stay a person's


def check_file(path: Path, folder: str, kind: str, stage: str) -> None:
    """The file parses in its format and carries the fields its agent requires."""
    text = path.read_text(encoding="utf-8")
    if kind == SKILLS:
        meta, body = front_matter(text)
        assert meta["name"] == path.parent.name == f"sdd-{stage}"
        assert SKILL_NAME.match(meta["name"]) and len(meta["name"]) <= 64
        assert isinstance(meta["description"], str) and 0 < len(meta["description"]) <= 1024
        assert stage in meta["description"]
        check_instructions(body, stage)
    elif path.suffix == ".toml":
        data = tomllib.loads(text)
        assert isinstance(data["prompt"], str) and data["prompt"].strip()
        assert isinstance(data["description"], str) and stage in data["description"]
        check_instructions(data["prompt"], stage)
    else:
        meta, body = front_matter(text)
        if folder != ".cursor/commands":  # Cursor's commands are plain Markdown
            assert isinstance(meta["description"], str) and stage in meta["description"]
        check_instructions(body, stage)


def check_every_agent(root: Path, installed: list[str]) -> None:
    """Installed agents see every stage exactly once; no agent sees a stage twice."""
    for agent in AGENTS:
        counts = seen_by(root, agent)
        if agent in installed:
            assert counts == Counter(ALL_STAGES), f"{agent} sees {dict(counts)}"
        else:
            assert all(n <= 1 for n in counts.values()), f"{agent} sees {dict(counts)}"
    for agent in installed:
        for folder, kind in READS[agent]:
            for stage, path in stage_files(root, folder, kind).items():
                check_file(path, folder, kind, stage)


def install(root: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    return sdd_json("agents", "install", *args, cwd=root, env=env)  # type: ignore[no-any-return]


def uninstall(root: Path, *args: str) -> dict[str, Any]:
    return sdd_json("agents", "uninstall", *args, cwd=root)  # type: ignore[no-any-return]


@pytest.fixture
def bare(project: Path) -> Path:
    """A project with nothing of `sdd agents` in it (init's AGENTS.md uninstalled), committed."""
    uninstall(project)
    assert not (project / "AGENTS.md").exists()
    assert not (project / ".sdd" / "agents.json").exists()
    commit_all(project, "no agent files")
    return project


# ----------------------------------------------------------------------------- the tests


def test_install_all_gives_every_agent_each_stage_once(bare: Path) -> None:
    data = install(bare, "--all")
    assert data["agents"] == AGENTS
    check_every_agent(bare, AGENTS)
    # The shared folder serves every agent that reads it; Claude Code, which does not,
    # gets its own commands.
    assert data["locations"]["claude"] == ".claude/commands"
    assert {data["locations"][a] for a in AGENTS if a != "claude"} == {".agents/skills"}
    for name in ("AGENTS.md", "CLAUDE.md", "GEMINI.md"):
        text = (bare / name).read_text(encoding="utf-8")
        assert text.count("<!-- sdd-agents:begin") == 1 and "<!-- sdd-agents:end -->" in text
    # The block once, in AGENTS.md; Claude Code and Gemini CLI import it (an agent that reads
    # all three, like Copilot CLI, sees it once).
    agents_md = (bare / "AGENTS.md").read_text(encoding="utf-8")
    assert "sdd status" in agents_md and "sdd start <stage>" in agents_md
    for name, line in (("CLAUDE.md", "@AGENTS.md"), ("GEMINI.md", "@./AGENTS.md")):
        text = (bare / name).read_text(encoding="utf-8")
        assert line in text.splitlines() and "sdd status" not in text
    manifest = json.loads((bare / ".sdd" / "agents.json").read_text(encoding="utf-8"))
    assert manifest["agents"] == AGENTS
    assert set(manifest["files"]) == set(data["created"])
    # A second run changes nothing.
    before = tree(bare)
    again = install(bare, "--all")
    assert again["created"] == again["updated"] == again["removed"] == []
    assert tree(bare) == before


@pytest.mark.parametrize("agent", AGENTS)
def test_each_agent_alone_gets_its_own_form(bare: Path, agent: str) -> None:
    """Alone, each agent gets the form it prefers: its own commands where it has them."""
    native = {
        "claude": ".claude/commands/sdd-spec.md",
        "codex": ".agents/skills/sdd-spec/SKILL.md",
        "gemini": ".gemini/commands/sdd-spec.toml",
        "copilot": ".agents/skills/sdd-spec/SKILL.md",
        "cursor": ".cursor/commands/sdd-spec.md",
        "opencode": ".opencode/commands/sdd-spec.md",
        "qwen": ".qwen/commands/sdd-spec.md",
        "amp": ".agents/skills/sdd-spec/SKILL.md",
    }
    before = tree(bare)
    data = install(bare, agent)
    assert data["agents"] == [agent]
    assert (bare / native[agent]).is_file()
    check_every_agent(bare, [agent])
    uninstall(bare)
    assert tree(bare) == before


# Alone, these agents get their own commands; these use the shared .agents/skills folder,
# which all of the first group but Claude Code read too. Every pair of one from each is a
# project where an agent could see a stage twice (its own command and the shared skill).
OWN_COMMANDS = ["claude", "gemini", "cursor", "opencode", "qwen"]
SHARED = ["codex", "copilot", "amp"]


def test_agents_that_read_several_folders_see_each_stage_once(bare: Path) -> None:
    """Whichever two agents share the project, none sees a stage twice; uninstall undoes
    each install."""
    before = tree(bare)
    for pair in itertools.product(OWN_COMMANDS, SHARED):
        install(bare, *pair)
        check_every_agent(bare, list(pair))
        uninstall(bare)
        assert tree(bare) == before, f"uninstall after {pair} left the folder changed"


def test_install_without_names_uses_the_agents_on_path(bare: Path, agents: Agents) -> None:
    data = install(bare, env=agents.env(path=agents.only("claude", "gemini")))
    assert data["agents"] == ["claude", "gemini"]
    check_every_agent(bare, ["claude", "gemini"])
    assert (bare / "CLAUDE.md").is_file() and (bare / "GEMINI.md").is_file()
    # Adding an agent later keeps the earlier ones, and moves Gemini to the shared folder
    # Codex needs (it must not see the stages in both).
    data = install(bare, "codex")
    assert data["agents"] == ["claude", "codex", "gemini"]
    assert data["locations"]["gemini"] == ".agents/skills"
    assert not (bare / ".gemini" / "commands").exists()
    check_every_agent(bare, ["claude", "codex", "gemini"])


def test_no_agent_on_path_still_writes_agents_md(bare: Path, agents: Agents) -> None:
    result = run("agents", "install", cwd=bare, env=agents.env(path=str(agents.base)))
    assert result.returncode == 0, result.stderr
    assert "no agent CLI found on PATH" in result.stdout
    assert (bare / "AGENTS.md").is_file()
    assert not (bare / ".claude").exists() and not (bare / ".agents").exists()


def test_reinstall_keeps_an_edited_file_and_updates_the_rest(bare: Path) -> None:
    install(bare, "claude")
    mine = bare / ".claude" / "commands" / "sdd-spec.md"
    edited = mine.read_text(encoding="utf-8") + "\nAlso: ask about accessibility.\n"
    mine.write_text(edited, encoding="utf-8")
    untouched = (bare / ".claude" / "commands" / "sdd-qa.md").read_bytes()
    # The plan template's role changes: its command is regenerated from it.
    template = bare / "sessions" / "plan.md"
    template.write_text(
        template.read_text(encoding="utf-8").replace(
            "role: ", "role: Staff engineer and planner, formerly ", 1
        ),
        encoding="utf-8",
    )

    data = install(bare, "claude")
    assert data["kept"] == [".claude/commands/sdd-spec.md"]
    assert data["updated"] == [".claude/commands/sdd-plan.md"]
    assert mine.read_text(encoding="utf-8") == edited
    assert "Staff engineer and planner" in (bare / ".claude/commands/sdd-plan.md").read_text(
        encoding="utf-8"
    )
    assert (bare / ".claude" / "commands" / "sdd-qa.md").read_bytes() == untouched
    text = run("agents", "install", "claude", cwd=bare).stdout
    assert "left alone (edited since sdd wrote it): .claude/commands/sdd-spec.md" in text

    # Uninstall removes what is still as sdd wrote it and leaves the edited file.
    gone = uninstall(bare)
    assert gone["kept"] == [".claude/commands/sdd-spec.md"]
    assert mine.read_text(encoding="utf-8") == edited
    assert sorted(p.name for p in (bare / ".claude" / "commands").iterdir()) == ["sdd-spec.md"]


def test_uninstall_leaves_the_folder_exactly_as_before(bare: Path) -> None:
    """A person's own AGENTS.md, MCP files with other servers and their own command: install
    everything with --mcp, then uninstall: every file and folder is as it was, byte for byte."""
    (bare / "AGENTS.md").write_text("# Our conventions\n\nTabs, not spaces.", encoding="utf-8")
    (bare / ".mcp.json").write_text(
        '{\n    "mcpServers": {"db": {"command": "db-mcp", "args": []}}\n}\n', encoding="utf-8"
    )
    (bare / ".gemini").mkdir()
    (bare / ".gemini" / "settings.json").write_text('{"theme": "Dracula"}', encoding="utf-8")
    (bare / ".claude" / "commands").mkdir(parents=True)
    (bare / ".claude" / "commands" / "mine.md").write_text("Do my thing.\n", encoding="utf-8")
    before = tree(bare)

    data = install(bare, "--all", "--mcp")
    check_every_agent(bare, AGENTS)
    agents_md = (bare / "AGENTS.md").read_text(encoding="utf-8")
    assert agents_md.startswith("# Our conventions\n\nTabs, not spaces.\n\n<!-- sdd-agents:begin")
    assert (bare / ".claude" / "commands" / "mine.md").read_text(
        encoding="utf-8"
    ) == "Do my thing.\n"
    for agent, (relative, keys) in MCP_FILES.items():
        config = json.loads((bare / relative).read_text(encoding="utf-8"))
        entry = config
        for key in keys:
            entry = entry[key]
        if agent == "opencode":
            assert entry == {
                "type": "local",
                "command": ["sh", ".sdd/bin/sdd-mcp"],
                "enabled": True,
            }
            assert config["$schema"] == "https://opencode.ai/config.json"
        else:
            assert {k: entry[k] for k in LAUNCHED} == LAUNCHED
        assert relative in data["mcp"]
    codex = tomllib.loads((bare / CODEX_MCP[0]).read_text(encoding="utf-8"))
    assert codex["mcp_servers"]["sdd"] == LAUNCHED
    assert CODEX_MCP[0] in data["mcp"]
    mcp_json = json.loads((bare / ".mcp.json").read_text(encoding="utf-8"))
    assert mcp_json["mcpServers"]["db"] == {"command": "db-mcp", "args": []}
    gemini = json.loads((bare / ".gemini" / "settings.json").read_text(encoding="utf-8"))
    assert gemini["theme"] == "Dracula"

    gone = uninstall(bare)
    assert gone["kept"] == []
    assert tree(bare) == before


def test_uninstall_one_agent_keeps_the_others(bare: Path) -> None:
    install(bare, "claude", "gemini", "--mcp")
    assert json.loads((bare / ".gemini" / "settings.json").read_text(encoding="utf-8"))
    data = uninstall(bare, "gemini")
    assert data["agents"] == ["claude"]
    assert not (bare / "GEMINI.md").exists()
    assert not (bare / ".gemini").exists()
    check_every_agent(bare, ["claude"])
    assert (bare / ".mcp.json").is_file()  # Claude Code's registration stays
    refused = run("agents", "uninstall", "codex", cwd=bare)
    assert refused.returncode == 2
    assert "not installed here: codex" in refused.stderr


def test_an_edited_block_and_config_are_left_alone(bare: Path) -> None:
    (bare / ".cursor").mkdir()
    (bare / ".cursor" / "mcp.json").write_text('{"mcpServers": {}}\n', encoding="utf-8")
    install(bare, "cursor", "--mcp")
    agents_md = bare / "AGENTS.md"
    agents_md.write_text(
        agents_md.read_text(encoding="utf-8").replace("sdd status", "sdd status (daily)"),
        encoding="utf-8",
    )
    config = bare / ".cursor" / "mcp.json"
    data = json.loads(config.read_text(encoding="utf-8"))
    data["mcpServers"]["other"] = {"command": "other"}
    config.write_text(json.dumps(data), encoding="utf-8")

    again = install(bare, "cursor")
    assert "AGENTS.md" in again["kept"]
    gone = uninstall(bare)
    assert "AGENTS.md" in gone["kept"]
    assert "sdd status (daily)" in agents_md.read_text(encoding="utf-8")
    # The registration is taken out of the file; the person's server stays.
    assert json.loads(config.read_text(encoding="utf-8")) == {
        "mcpServers": {"other": {"command": "other"}}
    }


def test_unknown_agent_is_bad_usage(bare: Path) -> None:
    result = run("agents", "install", "notepad", cwd=bare)
    assert result.returncode == 2
    assert "notepad: not an agent sdd installs for" in result.stderr
    assert not (bare / "AGENTS.md").exists()


def test_init_installs_for_agents_on_path_creating_only_new_files(
    work: Path, agents: Agents
) -> None:
    root = work / "app"
    root.mkdir()
    (root / "AGENTS.md").write_text("# Ours\n", encoding="utf-8")
    env = agents.env(path=agents.only("claude", "opencode"))
    data = sdd_json("init", cwd=root, env=env)
    assert data["agents"] == ["claude", "opencode"]
    assert "AGENTS.md" in data["skipped"]
    assert (root / "AGENTS.md").read_text(encoding="utf-8") == "# Ours\n"
    assert "CLAUDE.md" in data["created"] and ".sdd/agents.json" in data["created"]
    assert ".claude/commands/sdd-spec.md" in data["created"]
    assert ".opencode/commands/sdd-spec.md" in data["created"]
    check_every_agent(root, ["claude", "opencode"])

    # A second init creates nothing; an explicit install adds the block to AGENTS.md.
    again = sdd_json("init", cwd=root, env=env)
    assert again["created"] == []
    install(root)  # no names: the agents already installed stay
    text = (root / "AGENTS.md").read_text(encoding="utf-8")
    assert text.startswith("# Ours\n\n<!-- sdd-agents:begin")


def test_nothing_is_written_through_a_symbolic_link(bare: Path, work: Path) -> None:
    outside = work / "elsewhere"
    outside.mkdir()
    (bare / ".claude").symlink_to(outside, target_is_directory=True)
    data = install(bare, "claude")
    assert list(outside.iterdir()) == []
    assert ".claude/commands/sdd-spec.md" in data["skipped"]
    assert any("symbolic link" in note for note in data["notes"])
    manifest = json.loads((bare / ".sdd" / "agents.json").read_text(encoding="utf-8"))
    assert not [p for p in manifest["files"] if p.startswith(".claude/")]
    uninstall(bare)
    assert list(outside.iterdir()) == [] and (bare / ".claude").is_symlink()


def test_after_installing_each_agent_is_told_its_one_step(bare: Path) -> None:
    from sdd.agents.registry import INSTALLS  # the one source of the steps' text

    without = run("agents", "install", "--all", cwd=bare).stdout
    with_mcp = run("agents", "install", "--all", "--mcp", cwd=bare)
    assert with_mcp.returncode == 0, with_mcp.stderr
    for name, spec in INSTALLS.items():
        if spec.step is None:
            continue
        assert spec.step.text in with_mcp.stdout, name
        assert (spec.step.text in without) is not spec.step.mcp_only, name
    assert "`qwen mcp approve sdd`" in with_mcp.stdout
    assert "`amp mcp approve sdd`" in with_mcp.stdout


def test_a_stage_an_agent_would_see_twice_is_warned_with_its_fix(bare: Path) -> None:
    """An edited Gemini command left alone, then the shared skills added for Codex: Gemini
    would see the spec stage twice. Install and doctor say so, with the command that ends it."""
    install(bare, "gemini")
    mine = bare / ".gemini" / "commands" / "sdd-spec.toml"
    mine.write_text(mine.read_text(encoding="utf-8") + "# ours\n", encoding="utf-8")
    data = install(bare, "codex")
    assert ".gemini/commands/sdd-spec.toml" in data["kept"]
    assert seen_by(bare, "gemini")["spec"] == 2
    (warning,) = data["twice"]
    assert warning.startswith("Gemini CLI would see the spec stage twice")
    assert "`rm .gemini/commands/sdd-spec.toml`" in warning
    text = run("agents", "install", cwd=bare).stdout
    assert "warning: Gemini CLI would see the spec stage twice" in text
    doctor = sdd_json("doctor", cwd=bare, expect=0)
    (found,) = [f for f in doctor["findings"] if "twice" in f["what"]]
    assert found["fix"].startswith("`rm .gemini/commands/sdd-spec.toml`")
    mine.unlink()  # the fix
    assert install(bare)["twice"] == []
    assert not [f for f in sdd_json("doctor", cwd=bare)["findings"] if "twice" in f["what"]]
    check_every_agent(bare, ["codex", "gemini"])


def test_uninstall_says_entry_removed_from_the_files_that_stay(bare: Path) -> None:
    (bare / "AGENTS.md").write_text("# Ours\n", encoding="utf-8")
    (bare / "opencode.json").write_text('{"mcp": {"db": {"type": "local"}}}', encoding="utf-8")
    install(bare, "claude", "opencode", "--mcp")
    data = uninstall(bare)
    assert sorted(data["taken_out"]) == ["AGENTS.md", "opencode.json"]
    assert "CLAUDE.md" in data["removed"] and ".mcp.json" in data["removed"]
    assert not {"AGENTS.md", "opencode.json"} & set(data["removed"])
    install(bare, "claude", "opencode", "--mcp")
    text = run("agents", "uninstall", cwd=bare).stdout
    assert "entry removed from: AGENTS.md, opencode.json" in text
    assert (bare / "AGENTS.md").read_text(encoding="utf-8") == "# Ours\n"


def test_discovery_is_offered_only_where_code_exists(bare: Path) -> None:
    install(bare, "claude")
    assert not (bare / ".claude" / "commands" / "sdd-discovery.md").exists()
    (bare / "app.py").write_text("print('hello')\n", encoding="utf-8")
    data = install(bare, "claude")
    assert ".claude/commands/sdd-discovery.md" in data["created"]


def description_of(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".toml":
        return str(tomllib.loads(text)["description"])
    return str(front_matter(text)[0]["description"])


def test_each_description_leads_with_what_the_stage_produces_within_100_characters(
    bare: Path,
) -> None:
    """Gemini CLI, Amp and Copilot CLI cut descriptions at 100 to 160 characters: the first
    sentence, within 100, says what the stage writes (its outputs, from the workflow) and
    which stage it is; the goal and the rest follow. Every stage, every form of file."""
    (bare / "app.py").write_text("print('hello')\n", encoding="utf-8")  # discovery too
    forms = {
        "claude": (".claude/commands", COMMANDS),
        "gemini": (".gemini/commands", COMMANDS),
        "opencode": (".opencode/commands", COMMANDS),
        "qwen": (".qwen/commands", COMMANDS),
        "codex": (".agents/skills", SKILLS),
    }
    for agent, (folder, kind) in forms.items():
        install(bare, agent)
        found = stage_files(bare, folder, kind)
        assert sorted(found) == sorted(["discovery", *STAGES]), (agent, sorted(found))
        for stage, path in found.items():
            text = description_of(path)
            first, marker, rest = text.partition(f"({stage} stage).")
            assert marker and len(first + marker) <= 100, (agent, text)
            assert first.startswith("Write docs/") or stage == "implement", (agent, text)
            assert rest.strip(), (agent, text)  # the goal and the rest follow
        uninstall(bare)


def test_codex_config_keeps_its_comments_and_settings_and_comes_back_as_it_was(bare: Path) -> None:
    """Codex's .codex/config.toml is the project's own file, comments and all: sdd appends
    its [mcp_servers.sdd] table as text (read back with tomllib) and takes out exactly that."""
    mine = (
        '# Our Codex settings\nmodel = "gpt-5"  # the team\'s model\n\n'
        '[mcp_servers.db]\ncommand = "db-mcp"\n'
    )
    (bare / ".codex").mkdir()
    (bare / ".codex" / "config.toml").write_text(mine, encoding="utf-8")
    (bare / ".amp").mkdir()
    (bare / ".amp" / "settings.json").write_text('{"amp.showCosts": false}', encoding="utf-8")
    before = tree(bare)
    data = install(bare, "codex", "amp", "--mcp")
    text = (bare / ".codex" / "config.toml").read_text(encoding="utf-8")
    assert text.startswith(mine)
    config = tomllib.loads(text)
    assert config["model"] == "gpt-5" and config["mcp_servers"]["db"] == {"command": "db-mcp"}
    assert config["mcp_servers"]["sdd"] == LAUNCHED
    amp = json.loads((bare / ".amp" / "settings.json").read_text(encoding="utf-8"))
    assert amp == {"amp.showCosts": False, "amp.mcpServers": {"sdd": LAUNCHED}}
    assert {".codex/config.toml", ".amp/settings.json"} <= set(data["mcp"])
    assert install(bare, "codex", "amp", "--mcp")["updated"] == []  # a second run: nothing
    gone = uninstall(bare)
    assert {".codex/config.toml", ".amp/settings.json"} <= set(gone["taken_out"])
    assert tree(bare) == before


def test_a_registration_of_a_bare_sdd_is_moved_to_the_launcher(bare: Path) -> None:
    """A project an older sdd registered with a bare `sdd` (found only while its venv is
    active): installing again moves each entry sdd wrote to the launcher."""
    install(bare, "claude", "opencode", "--mcp")
    old = {"claude": {"type": "stdio", "command": "sdd", "args": ["mcp"]}}
    old["opencode"] = {"type": "local", "command": ["sdd", "mcp"], "enabled": True}
    manifest_path = bare / ".sdd" / "agents.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for agent in ("claude", "opencode"):
        relative, (table, name) = MCP_FILES[agent]
        data = json.loads((bare / relative).read_text(encoding="utf-8"))
        data[table][name] = old[agent]
        (bare / relative).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        manifest["files"][relative]["value"] = old[agent]
        manifest["files"][relative]["sha256"] = "as the older sdd wrote it"
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    data = install(bare)
    assert {".mcp.json", "opencode.json"} <= set(data["updated"])
    claude = json.loads((bare / ".mcp.json").read_text(encoding="utf-8"))["mcpServers"]["sdd"]
    assert {k: claude[k] for k in LAUNCHED} == LAUNCHED
    opencode = json.loads((bare / "opencode.json").read_text(encoding="utf-8"))["mcp"]["sdd"]
    assert opencode["command"] == ["sh", ".sdd/bin/sdd-mcp"]
