"""The real agent CLIs, driven offline: what each one lists for a project after
`sdd init && sdd agents install --all --mcp` (tests/test_agent_clis.py).

scripts/agent-clis installs them from the npm registry into a cache folder and writes its
manifest.json; the functions here read it, run each CLI's own listing commands in the test's
throwaway HOME, and return what the CLI showed: how many times it offers each `sdd-<stage>`,
the state of the `sdd` MCP server and the server's tools as the CLI lists them.

Some CLIs list the server's tools only to their model. For those, the model's API is a
stand-in on 127.0.0.1 (:class:`StandIn`) that answers every request with an error: the CLI's
first request carries the tools it would give the model, and the stand-in never answers with
a tool call, so nothing is ever run. No request leaves the machine.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import pwd
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers import BIN

CLI_TIMEOUT = 90  # seconds for one listing command; opencode's first run is the slowest
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Credentials a developer may have in their environment: no CLI here sees a real one.
SECRETS = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "CODEX_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_GEMINI_BASE_URL",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "COPILOT_GITHUB_TOKEN",
    "AMP_API_KEY",
    "AMP_URL",
    "DASHSCOPE_API_KEY",
)


def cache_dir() -> Path:
    """Where scripts/agent-clis installs the CLIs (the same rule as the script's)."""
    if os.environ.get("SDD_AGENT_CLI_CACHE"):
        return Path(os.environ["SDD_AGENT_CLI_CACHE"]).absolute()
    # conftest points HOME at the test's tmp: the script ran with the real one.
    return Path(pwd.getpwuid(os.getuid()).pw_dir) / ".cache" / "sdd-agent-clis"


def manifest() -> dict[str, dict[str, str]]:
    path = cache_dir() / "manifest.json"
    if not path.exists():
        return {}
    data: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return data


@dataclass
class Seen:
    """What one CLI showed. ``problems``: what went wrong getting it (with the output)."""

    stages: Counter[str] = field(default_factory=Counter)
    server: str = "not listed"
    tools: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


class NeedsLogin(Exception):
    """The CLI's listing needs a login or the network; the message says which and how."""


# ----------------------------------------------------------------------- the model stand-in


class StandIn:
    """An HTTP server on 127.0.0.1 that stands in for a model's API: it records each
    request and answers it with a 400 error, so a CLI gives up without doing anything."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        recorded = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace")
                recorded.append((self.path, body))
                self._refuse()

            def do_GET(self) -> None:
                recorded.append((self.path, ""))
                self._refuse()

            def _refuse(self) -> None:
                payload = b'{"error":{"code":400,"message":"stand-in model: no answers","type":"invalid_request_error","status":"INVALID_ARGUMENT"}}'
                self.send_response(400)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def tool_names(self) -> set[str]:
        """The tool names in every JSON request body seen (OpenAI, Anthropic, Gemini forms)."""
        names: set[str] = set()
        for _, body in self.requests:
            try:
                data = json.loads(body)
            except ValueError:
                continue
            if not isinstance(data, dict):
                continue
            for tool in data.get("tools") or []:
                if not isinstance(tool, dict):
                    continue
                for decl in tool.get("functionDeclarations") or []:  # Gemini
                    names.add(str(decl.get("name")))
                function = tool.get("function")
                if isinstance(function, dict):  # OpenAI chat completions
                    names.add(str(function.get("name")))
                elif "name" in tool:  # Anthropic, OpenAI responses
                    names.add(str(tool["name"]))
        return names


@contextlib.contextmanager
def stand_in() -> Iterator[StandIn]:
    server = StandIn()
    try:
        yield server
    finally:
        server.close()


# ---------------------------------------------------------------------------- processes


def cli_env(executable: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test's environment (throwaway HOME and XDG folders) with PATH holding the CLI and
    node but not the venv that holds `sdd`: the registration must find sdd by itself."""
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    venv_bin = str(BIN)
    rest = [p for p in env.get("PATH", "/usr/bin:/bin").split(os.pathsep) if p and p != venv_bin]
    node = shutil.which("node") or "/usr/bin/node"
    env["PATH"] = os.pathsep.join([str(Path(executable).parent), str(Path(node).parent), *rest])
    env["NO_COLOR"] = "1"
    env["TERM"] = "dumb"
    env.update(extra or {})
    return env


def sdd_on_path(env: dict[str, str]) -> str | None:
    return shutil.which("sdd", path=env["PATH"])


def execute(
    argv: list[str], cwd: Path, env: dict[str, str], timeout: float = CLI_TIMEOUT
) -> tuple[int, str]:
    """Run one listing command; (exit status, stdout and stderr, ANSI codes removed).
    stdin is /dev/null, so a CLI that would ask for a login cannot wait for an answer."""
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env={**env, "PWD": str(cwd)},  # opencode takes its project from PWD
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill(proc)
        out, _ = proc.communicate()
        return -1, ANSI.sub("", out or "") + f"\n[timed out after {timeout:.0f} s]"
    return proc.returncode, ANSI.sub("", out)


def kill(proc: subprocess.Popen[str]) -> None:
    """End the CLI and everything it started (its MCP servers too)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def first_json_line(
    argv: list[str], cwd: Path, env: dict[str, str], want: str, timeout: float = CLI_TIMEOUT
) -> tuple[dict[str, Any] | None, str]:
    """Run a CLI that prints JSON lines; the first whose ``type`` (or ``type/subtype``) is
    ``want``, and all that was printed until then. The CLI is stopped there."""
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env={**env, "PWD": str(cwd)},  # opencode takes its project from PWD
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(proc, lines), daemon=True).start()
    printed: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            printed.append(line)
            data = _json_object(line)
            if data is None:
                continue
            kind = str(data.get("type"))
            if kind == want or f"{kind}/{data.get('subtype')}" == want:
                return data, "".join(printed)
        return None, ANSI.sub("", "".join(printed))
    finally:
        kill(proc)


def _pump(proc: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.put(line)
    lines.put(None)


def _json_object(line: str) -> dict[str, Any] | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def count_stages(names: list[str] | Counter[str], seen: Seen) -> None:
    for name in names:
        if str(name).startswith("sdd-"):
            seen.stages[str(name)] += 1


def strip_prefix(names: set[str], prefix: str) -> set[str]:
    return {n[len(prefix) :] for n in names if n.startswith(prefix)}


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


# ------------------------------------------------------------------------ each CLI


def probe_claude(exe: str, root: Path, home: Path) -> Seen:
    """`claude mcp list`, and the init message of `claude -p --output-format stream-json`
    (its skills and commands, servers and tools), printed before it asks the model."""
    seen = Seen()
    # The person's step: approve the project's server (what the approval dialog records).
    write_json(home / ".claude" / "settings.json", {"enabledMcpjsonServers": ["sdd"]})
    # MCP_CONNECTION_NONBLOCKING=0: -p waits for the servers before its init message.
    quiet = {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1"}
    env = cli_env(exe, {**quiet, "MCP_CONNECTION_NONBLOCKING": "0"})
    code, out = execute([exe, "mcp", "list"], root, env)
    match = re.search(r"^sdd: .* - (.+)$", out, re.M)
    if match is None:
        seen.problems.append(f"`claude mcp list` does not list sdd (exit {code}):\n{out}")
    elif "Connected" not in match.group(1):
        seen.problems.append(f"`claude mcp list`: sdd is {match.group(1)!r}:\n{out}")
    with stand_in() as model:
        env = {**env, "ANTHROPIC_API_KEY": "stand-in", "ANTHROPIC_BASE_URL": model.url}
        argv = [exe, "-p", "hi", "--output-format", "stream-json", "--verbose"]
        init, printed = first_json_line(argv, root, env, "system/init")
    if init is None:
        seen.problems.append(f"`claude -p --output-format stream-json` printed no init:\n{printed}")
        return seen
    count_stages(init.get("slash_commands") or [], seen)
    servers = {s.get("name"): s.get("status") for s in init.get("mcp_servers") or []}
    seen.server = str(servers.get("sdd", "not listed"))
    seen.tools = strip_prefix(set(init.get("tools") or []), "mcp__sdd__")
    return seen


def probe_codex(exe: str, root: Path, home: Path) -> Seen:
    """`codex mcp list --json`, then its app server (the protocol its IDE clients use):
    `skills/list` for the project, and `mcpServerStatus/list` for a new thread there."""
    seen = Seen()
    # The person's step: trust the project (Codex reads .codex/config.toml only then).
    config = home / ".codex" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[projects."{root}"]\ntrust_level = "trusted"\n', encoding="utf-8")
    env = cli_env(exe)
    code, out = execute([exe, "mcp", "list", "--json"], root, env)
    start = out.find("[")
    try:
        listed = json.loads(out[start:]) if start >= 0 else []
    except ValueError:
        listed = []
    if not any(s.get("name") == "sdd" and s.get("enabled") for s in listed):
        seen.problems.append(f"`codex mcp list --json` has no enabled sdd (exit {code}):\n{out}")
    rpc = AppServer([exe, "app-server"], root, env)
    try:
        rpc.call("initialize", {"clientInfo": {"name": "sdd-tests", "version": "1"}})
        rpc.notify("initialized")
        skills = rpc.call("skills/list", {"cwds": [str(root)], "forceReload": True})
        for entry in skills.get("data") or []:
            count_stages([s.get("name") for s in entry.get("skills") or []], seen)
        thread = rpc.call("thread/start", {"cwd": str(root), "ephemeral": True})
        thread_id = thread["thread"]["id"]
        rpc.wait_for(
            lambda m: (
                m.get("method") == "mcpServer/startupStatus/updated"
                and m["params"].get("name") == "sdd"
                and m["params"].get("status") not in ("starting", "notStarted")
            )
        )
        status = rpc.call("mcpServerStatus/list", {"threadId": thread_id})
        for server in status.get("data") or []:
            if server.get("name") == "sdd":
                seen.server = str(server.get("runtimeStatus"))
                seen.tools = set(server.get("tools") or {})
                if server.get("toolsError"):
                    seen.problems.append(f"codex: sdd's tools: {server['toolsError']}")
    except AppServerError as exc:
        seen.problems.append(f"`codex app-server`: {exc}")
    finally:
        rpc.close()
    return seen


def probe_gemini(exe: str, root: Path, home: Path) -> Seen:
    """`gemini mcp list` and `gemini skills list`; the server's tools as Gemini declares them
    to the model (the stand-in's first request)."""
    seen = Seen()
    # The person's step: trust the folder (else no project skills or MCP servers load).
    write_json(home / ".gemini" / "trustedFolders.json", {str(root): "TRUST_FOLDER"})
    write_json(
        home / ".gemini" / "settings.json",
        {"security": {"auth": {"selectedType": "gemini-api-key"}}},
    )
    env = cli_env(exe)
    code, out = execute([exe, "mcp", "list"], root, env)
    match = re.search(r"sdd: .* - (\w+)\s*$", out, re.M)
    if match is None:
        seen.problems.append(f"`gemini mcp list` does not list sdd (exit {code}):\n{out}")
    else:
        seen.server = match.group(1)
    code, out = execute([exe, "skills", "list"], root, env)
    count_stages(re.findall(r"^(sdd-[\w-]+) \[Enabled\]", out, re.M), seen)
    if not seen.stages:
        seen.problems.append(f"`gemini skills list` lists no sdd stage (exit {code}):\n{out}")
    with stand_in() as model:
        # --approval-mode yolo: Gemini declares the MCP tools to a headless model only when
        # it may call them unasked; the stand-in never calls one.
        model_env = {**env, "GEMINI_API_KEY": "stand-in", "GOOGLE_GEMINI_BASE_URL": model.url}
        argv = [exe, "-m", "gemini-2.5-flash", "--approval-mode", "yolo", "-p", "hi"]
        execute([*argv, "--output-format", "json"], root, model_env, timeout=45)
        seen.tools = strip_prefix(model.tool_names(), "mcp_sdd_")
    return seen


def probe_copilot(exe: str, root: Path, home: Path) -> Seen:
    """`copilot skill list` and `copilot mcp list --json`; the server's state and tools from
    `copilot -p --output-format json` with its own model provider set to the stand-in."""
    seen = Seen()
    # The person's step: trust the folder (Copilot loads no workspace MCP server otherwise).
    write_json(home / ".copilot" / "config.json", {"trustedFolders": [str(root)]})
    env = cli_env(exe, {"COPILOT_PKG_CACHE_HOME": str(cache_dir() / "copilot-pkg")})
    code, out = execute([exe, "skill", "list"], root, env)
    count_stages(re.findall(r"^\s+(sdd-[\w-]+) - ", out, re.M), seen)
    if not seen.stages:
        seen.problems.append(f"`copilot skill list` lists no sdd stage (exit {code}):\n{out}")
    code, out = execute([exe, "mcp", "list", "--json"], root, env)
    start = out.find("{")
    try:
        servers = json.loads(out[start:]).get("mcpServers", {}) if start >= 0 else {}
    except ValueError:
        servers = {}
    if "sdd" not in servers:
        seen.problems.append(f"`copilot mcp list --json` does not list sdd (exit {code}):\n{out}")
    with stand_in() as model:
        model_env = {
            **env,
            "COPILOT_OFFLINE": "true",
            # In prompt mode Copilot starts workspace servers only when asked to.
            "COPILOT_PROMPT_MODE_WORKSPACE_MCP": "true",
            "COPILOT_PROVIDER_TYPE": "openai",
            "COPILOT_PROVIDER_BASE_URL": model.url + "/v1",
            "COPILOT_PROVIDER_API_KEY": "stand-in",
            "COPILOT_PROVIDER_MODEL_ID": "gpt-4o",
        }
        argv = [exe, "-p", "hi", "--output-format", "json"]
        code, out = execute(argv, root, model_env, timeout=60)
        if "No authentication information found" in out:
            raise NeedsLogin("copilot -p asks for a GitHub login even with a provider of its own")
        for line in out.splitlines():
            event = _json_object(line)
            if (
                event
                and event.get("type") == "session.mcp_server_status_changed"
                and event["data"].get("serverName") == "sdd"
            ):
                seen.server = str(event["data"].get("status"))
        seen.tools = strip_prefix(model.tool_names(), "sdd-")
    return seen


def probe_opencode(exe: str, root: Path, home: Path) -> Seen:
    """`opencode debug skill` and `opencode mcp list`; the server's tools as opencode gives
    them to the model (`opencode run` with a provider pointed at the stand-in)."""
    seen = Seen()
    env = cli_env(exe, {"OPENCODE_DISABLE_AUTOUPDATE": "1", "OPENCODE_DISABLE_MODELS_FETCH": "1"})
    code, out = execute([exe, "debug", "skill"], root, env)
    start = out.find("[")
    try:
        skills = json.loads(out[start:]) if start >= 0 else []
    except ValueError:
        skills = []
    count_stages([s.get("name") for s in skills], seen)
    if not seen.stages:
        seen.problems.append(f"`opencode debug skill` lists no sdd stage (exit {code}):\n{out}")
    code, out = execute([exe, "mcp", "list"], root, env)
    match = re.search(r"sdd\s+(\w+)", out)
    if match is None:
        seen.problems.append(f"`opencode mcp list` does not list sdd (exit {code}):\n{out}")
    else:
        seen.server = match.group(1)
    with stand_in() as model:
        provider = {
            "provider": {
                "standin": {
                    "npm": "@ai-sdk/openai-compatible",
                    "name": "stand-in",
                    "options": {"baseURL": model.url + "/v1", "apiKey": "stand-in"},
                    "models": {"m": {"name": "m"}},
                }
            },
            "model": "standin/m",
        }
        model_env = {**env, "OPENCODE_CONFIG_CONTENT": json.dumps(provider)}
        execute([exe, "run", "hi", "--format", "json"], root, model_env, timeout=60)
        seen.tools = strip_prefix(model.tool_names(), "sdd_")
    return seen


def probe_qwen(exe: str, root: Path, home: Path) -> Seen:
    """`qwen mcp list`, and the init message of `qwen -p --output-format stream-json`
    (its commands and skills, servers and tools), with the stand-in as its model."""
    seen = Seen()
    env = cli_env(exe)
    # The person's step: approve the project's server.
    code, out = execute([exe, "mcp", "approve", "sdd"], root, env)
    if code != 0:
        seen.problems.append(f"`qwen mcp approve sdd` failed (exit {code}):\n{out}")
    code, out = execute([exe, "mcp", "list"], root, env)
    match = re.search(r"sdd: .* - (.+)$", out, re.M)
    if match is None or "Connected" not in match.group(1):
        seen.problems.append(f"`qwen mcp list`: sdd is not connected (exit {code}):\n{out}")
    with stand_in() as model:
        model_env = {
            **env,
            "OPENAI_API_KEY": "stand-in",
            "OPENAI_BASE_URL": model.url + "/v1",
            "OPENAI_MODEL": "m",
        }
        argv = [exe, "--auth-type", "openai", "-p", "hi", "--output-format", "stream-json"]
        init, printed = first_json_line(argv, root, model_env, "system/init")
    if init is None:
        seen.problems.append(f"`qwen -p --output-format stream-json` printed no init:\n{printed}")
        return seen
    count_stages(init.get("slash_commands") or [], seen)
    servers = {s.get("name"): s.get("status") for s in init.get("mcp_servers") or []}
    seen.server = str(servers.get("sdd", "not listed"))
    seen.tools = strip_prefix(set(init.get("tools") or []), "mcp__sdd__")
    return seen


def probe_amp(exe: str, root: Path, home: Path) -> Seen:
    """`amp skills list` and `amp mcp doctor` (the server's state and its tools). Amp asks
    its service who the user is first; the stand-in is that service (AMP_URL), with a
    stand-in key, and it answers nothing."""
    seen = Seen()
    with stand_in() as service:
        env = cli_env(exe, {"AMP_API_KEY": "stand-in", "AMP_URL": service.url})
        # The person's step: approve the workspace's server.
        code, out = execute([exe, "mcp", "approve", "sdd"], root, env)
        if code != 0:
            seen.problems.append(f"`amp mcp approve sdd` failed (exit {code}):\n{out}")
        code, out = execute([exe, "skills", "list"], root, env, timeout=45)
        if "No API key found" in out or "Starting login flow" in out:
            raise NeedsLogin(f"`amp skills list` asks for a login: {out.strip()[:200]}")
        count_stages(re.findall(r"^\s*• (sdd-[\w-]+)\s*$", out, re.M), seen)
        if not seen.stages:
            seen.problems.append(f"`amp skills list` lists no sdd stage (exit {code}):\n{out}")
        code, out = execute([exe, "mcp", "doctor"], root, env, timeout=60)
        match = re.search(r"^sdd \(.*?\): (\w+)(?: \((\d+) tools?: (.*)\))?", out, re.M)
        if match is None:
            seen.problems.append(f"`amp mcp doctor` does not list sdd (exit {code}):\n{out}")
        else:
            seen.server = match.group(1)
            seen.tools = {t.strip() for t in (match.group(3) or "").split(",") if t.strip()}
            if seen.server != "connected":
                seen.problems.append(f"`amp mcp doctor`:\n{out}")
    return seen


PROBES = {
    "claude": probe_claude,
    "codex": probe_codex,
    "gemini": probe_gemini,
    "copilot": probe_copilot,
    "opencode": probe_opencode,
    "qwen": probe_qwen,
    "amp": probe_amp,
    "amp-sourcegraph": probe_amp,
}


# ------------------------------------------------------------------- codex's app server


class AppServerError(Exception):
    pass


class AppServer:
    """`codex app-server`: JSON-RPC, one message a line, over its stdin and stdout."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env={**env, "PWD": str(cwd)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.next_id = 0
        threading.Thread(target=_pump, args=(self.proc, self.lines), daemon=True).start()

    def notify(self, method: str) -> None:
        self._send({"method": method})

    def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.next_id += 1
        ident = self.next_id
        self._send({"id": ident, "method": method, "params": params})
        reply = self.wait_for(lambda m: m.get("id") == ident and "method" not in m)
        if "error" in reply:
            raise AppServerError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result") or {}
        return result

    def wait_for(self, wanted: Any, timeout: float = 60) -> dict[str, Any]:
        for message in self.seen:
            if wanted(message):
                return message
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise AppServerError("it exited")
            message = _json_object(line)
            if message is None:
                continue
            self.seen.append(message)
            if wanted(message):
                return message
        raise AppServerError(f"no answer in {timeout:.0f} s; it said: {self.seen[-5:]}")

    def _send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
        except OSError as exc:
            raise AppServerError(f"it stopped reading: {exc}") from None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        kill(self.proc)
