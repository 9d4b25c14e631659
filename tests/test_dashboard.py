"""`sdd dashboard`: the control panel as one self-contained page, checked in a real headless
Chromium (Debian's `chromium`, driven by Playwright for Python) against what `sdd status`
says, for a project built mid-cycle through the command line.

axe-core is vendored in tests/assets/axe-core/ (MPL-2.0, unmodified, notice kept; see the
README there): the accessibility check needs no network and always runs the same version.
Chromium missing skips these tests with the command that installs it, and fails them under
CI=true (tests/system_tools.py); Playwright missing is a failure. Screenshots land in test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from helpers import (
    SDD,
    approve,
    commit_all,
    complete_stage,
    fill,
    git,
    history_files,
    history_lines,
    history_records,
    run,
    sdd_json,
    start,
    status,
    tick,
)
from system_tools import need_tool

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).parent / "assets" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
VIEWPORT = {"width": 1366, "height": 768}
WAIT_MS = 30_000  # how long the page may take to show a change (a limit, not a measurement)

PLAN = """# Implementation plan

## Tasks

### T1: Reset token store
- Stories: US-1
- Depends on: none
- Risk: medium
- Effort: 2h

Acceptance criteria:
- Tokens are stored hashed, with an expiry 30 minutes ahead

### T2: Reset e-mail with a single-use link
- Stories: US-1
- Depends on: T1
- Risk: high
- Effort: 3h

Acceptance criteria:
- The e-mail holds one link that works once

### T3: Reset form and the new password
- Stories: US-1
- Depends on: T1
- Risk: low
- Effort: 2h

Acceptance criteria:
- The form refuses a password shorter than 12 characters

### T4: Expired and reused links refused
- Stories: US-1
- Depends on: T2, T3
- Risk: medium
- Effort: 1h

Acceptance criteria:
- A link used twice or after 30 minutes shows the reason and sends no e-mail
"""


# ----------------------------------------------------------------------------- the project


def build_mid_cycle(root: Path) -> None:
    """From "architecture is next, spec approved": architecture, a four-task plan, the
    implementation gate passed by a person at a terminal, T1 implemented (with its green
    verify), a major finding, and T2's session open. All through the command line."""
    complete_stage(root, "architecture")
    session = start(root, "plan")
    (root / "docs" / "implementation-plan.md").write_text(PLAN, encoding="utf-8")
    fill(root / "docs" / "test-plan.md")
    tick(root / session["page"], "Four tasks; T2 carries the risk.")
    result = run("done", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    approve(root, "implementation-approval")
    complete_stage(root, "implement")
    result = run(
        "findings",
        "add",
        "Reset e-mails go out as plain text only",
        "--severity",
        "major",
        "--stage",
        "implement",
        cwd=root,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert start(root, "implement")["task"] == "T2"


_BUILT: dict[str, Path] = {}


@pytest.fixture
def mid_cycle(project_at: Any, _stash: dict[str, object], work: Path) -> Path:
    """A copy of a project in the middle of implementation (built once per test session)."""
    folder = _stash["dir"]
    assert isinstance(folder, Path)
    key = str(folder)
    if key not in _BUILT:
        source = project_at("architecture", name="dashboard-source")
        build_mid_cycle(source)
        kept = folder / "dashboard-mid-cycle"
        shutil.copytree(source, kept, symlinks=True)
        _BUILT[key] = kept
    target = work / "mid"
    shutil.copytree(_BUILT[key], target, symlinks=True)
    return target


# ----------------------------------------------------------------------------- the browser


@pytest.fixture
def browser() -> Iterator[Any]:
    chromium = need_tool("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "Playwright for Python is missing: `.venv/bin/pip install -e '.[test]'` installs it"
        )
    if not AXE.is_file():
        pytest.fail(f"axe-core is missing at {AXE}: it is vendored in the repository; restore it")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Watch:
    """Everything a page logs as an error, and every request it makes (requests that would
    leave the page's own origin are recorded and stopped)."""

    def __init__(self, context: Any, page: Any, allowed: Any) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.outside: list[str] = []
        self.dialogs: list[str] = []
        self.allowed = allowed
        context.route("**/*", self._route)
        page.on(
            "console",
            lambda m: (
                self.errors.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route: Any) -> None:
        url = route.request.url
        self.requests.append(url)
        if self.allowed(url):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def check(self) -> None:
        assert self.errors == [], "the page logged errors:\n" + "\n".join(self.errors)
        assert self.outside == [], f"requests left the page's origin: {self.outside}"
        assert self.dialogs == [], f"the page opened dialogs: {self.dialogs}"
        assert self.requests, "no request was seen at all: the watch is not working"


def same_origin(origin: str) -> Any:
    def allowed(url: str) -> bool:
        return url.startswith(origin + "/") or url.startswith("data:")

    return allowed


def open_page(
    browser: Any, url: str, allowed: Any, *, scheme: str = "light"
) -> tuple[Any, Any, Watch]:
    context = browser.new_context(viewport=VIEWPORT, color_scheme=scheme)
    page = context.new_page()
    watch = Watch(context, page, allowed)
    page.goto(url)
    page.wait_for_selector("main#main")
    return context, page, watch


@contextmanager
def serving(
    root: Path, *extra: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, Any]]:
    """`sdd dashboard --serve --port 0 --json` as a child process; yields its URL."""
    full_env = dict(os.environ, **(env or {}))
    proc = subprocess.Popen(
        [*SDD, "dashboard", "--serve", "--port", "0", "--json", *extra],
        cwd=root,
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            proc.wait(timeout=30)
            err = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(
                f"the dashboard server did not start (exit {proc.returncode}):\n{err}"
            )
        envelope = json.loads(line)
        assert envelope["ok"] is True and envelope["command"] == "dashboard", envelope
        url = envelope["data"]["url"]
        assert url.startswith("http://127.0.0.1:"), url
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # Ctrl-C: the way a person stops it
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise AssertionError("the dashboard server did not stop on Ctrl-C") from None
        err = proc.stderr.read() if proc.stderr else ""
        if proc.stdout is not None:
            proc.stdout.close()
        if proc.stderr is not None:
            proc.stderr.close()
        assert "Traceback" not in err, err
    assert proc.returncode == 0, f"the server stopped with exit {proc.returncode}:\n{err}"


def diagram(page: Any, cycle: int) -> dict[str, Any]:
    """What the flow diagram shows: every stage and gate with its state, its visible label,
    its fill colour, and whether it is marked as the current position."""
    return page.evaluate(
        """(n) => {
          const svg = document.querySelector(`section.cycle[data-cycle="${n}"] svg.diagram`);
          const read = (sel, key) => [...svg.querySelectorAll(sel)].map((g) => ({
            name: g.dataset[key], state: g.dataset.state,
            label: g.querySelector("text.state").textContent,
            fill: getComputedStyle(g.querySelector("rect, .diamond")).fill,
            current: g.classList.contains("current"),
          }));
          const legend = {};
          document.querySelectorAll(`section.cycle[data-cycle="${n}"] .legend li`).forEach((li) => {
            legend[li.textContent.trim()] = getComputedStyle(li.querySelector(".sw")).backgroundColor;
          });
          return {stages: read("[data-stage]", "stage"), gates: read("[data-gate]", "gate"),
                  legend, visible: svg.getBoundingClientRect().width > 0};
        }""",
        cycle,
    )


def check_diagram(page: Any, data: dict[str, Any]) -> None:
    """The diagram shows each stage's and gate's true state (as `sdd status --json` has
    it), in the legend's colour for that state, with the current position marked."""
    n = data["cycle"]["number"]
    shown = diagram(page, n)
    assert shown["visible"]
    assert [(s["name"], s["state"]) for s in shown["stages"]] == [
        (s["name"], s["status"]) for s in data["stages"]
    ]
    assert [(g["name"], g["state"]) for g in shown["gates"]] == [
        (g["name"], g["state"]) for g in data["gates"]
    ]
    for node in shown["stages"] + shown["gates"]:
        words = node["state"].replace("-", " ")
        assert node["label"].startswith(words), node
        swatch = [colour for text, colour in shown["legend"].items() if words in text]
        assert len(swatch) == 1, (node, shown["legend"])
        assert node["fill"] == swatch[0], f"{node['name']} is not in the colour of {words}"
    action = data["next"]
    marked = [n["name"] for n in shown["stages"] + shown["gates"] if n["current"]]
    expected = action.get("gate") if action["kind"].startswith("gate") else action.get("stage")
    assert marked == ([expected] if expected else []), (marked, action)
    command = page.locator(f"#cycle-{n} .next .cmd code").inner_text()
    assert command == action["command"]


def run_axe(page: Any, what: str) -> None:
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"axe-core ({what}): " + json.dumps(
        [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "nodes": [n["html"] for n in v["nodes"][:3]],
            }
            for v in bad
        ],
        indent=1,
    )


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (VIEWPORT["width"], VIEWPORT["height"])
    page.screenshot(path=str(ARTIFACTS / f"{name}-full.png"), full_page=True)
    return path


def hrefs(page: Any) -> list[str]:
    """Every link on the page, resolved (anchors within the page left out)."""
    found = page.evaluate(
        "() => [...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href'))"
    )
    return sorted({urljoin(page.url, h) for h in found if not h.startswith("#")})


# ----------------------------------------------------------------------------- the tests


def test_served_page_shows_the_cycle_as_sdd_status_has_it(mid_cycle: Path, browser: Any) -> None:
    data = status(mid_cycle)
    assert data["next"]["kind"] == "finish-session"
    with serving(mid_cycle) as (url, _):
        origin = url.rstrip("/")
        context, page, watch = open_page(browser, url, same_origin(origin))
        check_diagram(page, data)
        n = data["cycle"]["number"]
        cycle = page.locator(f"#cycle-{n}")
        assert cycle.is_visible()
        assert data["cycle"]["title"] in page.locator(f"#c{n}-title").inner_text()

        # The tasks as a board, as `sdd tasks` has them, with what each waits on.
        tasks = sdd_json("tasks", cwd=mid_cycle)
        board = page.evaluate(
            "(n) => [...document.querySelectorAll(`#cycle-${n} .task`)].map((t) => "
            "[t.dataset.task, t.dataset.status, t.closest('.col').dataset.column, t.innerText])",
            n,
        )
        assert {t[0]: t[1] for t in board} == {t["id"]: t["status"] for t in tasks}
        assert all(t[1] == t[2] for t in board)  # each in its own column
        t4 = next(t for t in board if t[0] == "T4")
        assert "waits on T2, T3" in t4[3]

        # The sessions as a timeline, newest first, each linked to its page.
        shown = page.evaluate(
            "(n) => [...document.querySelectorAll(`#cycle-${n} .tl li`)].map((li) => "
            "[li.dataset.session, li.dataset.outcome])",
            n,
        )
        assert [tuple(x) for x in shown] == [
            (s["id"], s["outcome"]) for s in reversed(data["sessions"])
        ]
        for session in data["sessions"]:
            link = cycle.locator(f'[data-session="{session["id"]}"] a').first
            assert link.get_attribute("href") == "/" + session["page"]

        # Findings, and the latest verify evidence as the history recorded it.
        assert cycle.locator('[data-finding="F-1"]').inner_text().count("plain text") == 1
        runs = [r for r in history_records(mid_cycle) if r["type"] == "verify.run"]
        assert runs, "the implement session recorded no verify run"
        evidence = cycle.locator(".verify").inner_text()
        assert runs[-1]["head"][:12] in evidence
        assert "passed" in evidence

        # The keyboard reaches everything: first a visible "skip" link, then the page's links
        # and buttons, each with a visible focus ring.
        page.keyboard.press("Tab")
        skip = page.evaluate(
            "() => { const a = document.activeElement; const r = a.getBoundingClientRect();"
            " return [a.textContent, r.left >= 0 && r.top >= 0, getComputedStyle(a).outlineStyle]; }"
        )
        assert skip == ["Skip to the dashboard", True, "solid"], skip
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        focused = set()
        for _ in range(12):
            page.keyboard.press("Tab")
            focused.add(
                page.evaluate(
                    "() => [document.activeElement.tagName, getComputedStyle(document.activeElement).outlineStyle].join(' ')"
                )
            )
        assert {"BUTTON solid", "A solid"} <= focused, focused

        # Every link resolves, and a session page is rendered from its Markdown.
        links = hrefs(page)
        assert any("/docs/sessions/" in h for h in links)
        assert any(h.endswith("/docs/product-spec.md") for h in links)
        for href in links:
            assert href.startswith(origin + "/"), href
            answer = page.request.get(href)
            assert answer.status == 200, f"{href}: {answer.status}"
        spec_page = next(h for h in links if "/docs/sessions/S-0001" in h)
        page.goto(spec_page)
        # The page's title is bold text, not a heading (nothing sdd generates reads as one)
        assert page.locator("main p strong").first.inner_text().startswith("Session S-0001")
        run_axe_page = page.url

        watch.check()
        context.close()

        # axe-core, in light and dark, on the dashboard and on a rendered session page;
        # screenshots at 1366 by 768 in both.
        for scheme in ("light", "dark"):
            ctx = browser.new_context(viewport=VIEWPORT, color_scheme=scheme, bypass_csp=True)
            pg = ctx.new_page()
            pg.goto(url)
            pg.wait_for_selector("svg.diagram")
            screenshot(pg, f"dashboard-mid-cycle-{scheme}")
            run_axe(pg, f"dashboard, {scheme}")
            pg.goto(run_axe_page)
            run_axe(pg, f"session page, {scheme}")
            ctx.close()


def test_served_page_updates_itself_when_the_state_changes(mid_cycle: Path, browser: Any) -> None:
    with serving(mid_cycle) as (url, _):
        context, page, watch = open_page(browser, url, same_origin(url.rstrip("/")))
        before = status(mid_cycle)
        check_diagram(page, before)
        open_session = before["next"]["session"]
        page.evaluate("window.__sameDocument = 'not reloaded'")

        result = run("abandon", "--reason", "T2 needs the template first", cwd=mid_cycle)
        assert result.returncode == 0, result.stdout + result.stderr
        page.wait_for_function(
            "(id) => document.querySelector(`[data-session='${id}']`)?.dataset.outcome === 'abandoned'",
            arg=open_session,
            timeout=WAIT_MS,
        )
        after = status(mid_cycle)
        assert after["next"]["kind"] == "session"
        check_diagram(page, after)
        assert page.evaluate("window.__sameDocument") == "not reloaded"

        # A document edited after its approval turns the gate stale: no sdd command ran,
        # and the page shows it all the same.
        plan = mid_cycle / "docs" / "architecture.md"
        plan.write_text(plan.read_text(encoding="utf-8") + "\nA late change.\n", encoding="utf-8")
        page.wait_for_function(
            "() => document.querySelector(\"[data-gate='implementation-approval']\")"
            "?.dataset.state === 'stale'",
            timeout=WAIT_MS,
        )
        stale = status(mid_cycle)
        check_diagram(page, stale)
        assert stale["next"]["kind"] == "gate"
        assert page.evaluate("window.__sameDocument") == "not reloaded"
        assert "updated" in page.locator("#live").inner_text()
        watch.check()
        context.close()


def _listening(port: int) -> list[tuple[str, str]]:
    """The (table, local address) of every socket listening on ``port`` (Linux /proc)."""
    found = []
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.append((table, address))
    return found


def _request(
    port: int, method: str, path: str, host: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest(method, path, skip_host=True)
        conn.putheader("Host", host or f"127.0.0.1:{port}")
        if method in ("POST", "PUT", "PATCH"):
            conn.putheader("Content-Length", "2")
            conn.endheaders(b"{}")
        else:
            conn.endheaders()
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()


def test_server_listens_on_127_0_0_1_only_and_answers_only_get(mid_cycle: Path) -> None:
    history = history_lines(mid_cycle)
    tree = git("status", "--porcelain", cwd=mid_cycle).stdout
    with serving(mid_cycle) as (url, _):
        port = urlsplit(url).port
        assert port
        # Listening on 127.0.0.1 alone: no other address, no IPv6, not even 127.0.0.2.
        assert _listening(port) == [("tcp", "0100007F")]
        for family, address in ((socket.AF_INET, "127.0.0.2"), (socket.AF_INET6, "::1")):
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.settimeout(5)
                assert probe.connect_ex((address, port)) != 0, f"{address} answered"

        page = _request(port, "GET", "/")
        assert page[0] == 200 and page[2].startswith(b"<!DOCTYPE html>")
        assert "script-src 'sha256-" in page[1]["content-security-policy"]
        version = _request(port, "GET", "/state-version")
        assert version[0] == 200 and version[2].strip()
        session_page = _request(port, "GET", "/docs/sessions/S-0001-spec.md")
        assert session_page[0] == 200 and b"S-0001" in session_page[2]

        # Anything but GET: 405, for every path, with nothing changed.
        for method in ("POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "APPROVE"):
            for path in ("/", "/state-version", "/docs/product-spec.md", "/approve"):
                code, headers, _ = _request(port, method, path)
                assert code == 405, f"{method} {path}: {code}"
                assert headers.get("allow") == "GET"

        # Only its own pages: nothing outside docs/, no way out of the project.
        outside = mid_cycle.parent / "secret.txt"
        outside.write_text("not for the dashboard\n", encoding="utf-8")
        (mid_cycle / "docs" / "leak.md").symlink_to(outside)
        for path in (
            "/nope",
            "/.sdd/history.jsonl",
            "/.sdd/config.toml",
            "/docs/../.sdd/history.jsonl",
            "/docs/%2e%2e/.sdd/config.toml",
            "/docs/%2e%2e/%2e%2e/secret.txt",
            "/docs/leak.md",
            "/docs/missing.md",
            "/docs/sessions",
            "/reset.py",
            "//etc/passwd",
        ):
            code, _, body = _request(port, "GET", path)
            assert code == 404, f"GET {path}: {code}"
            assert b"not for the dashboard" not in body
        # A page elsewhere that rebinds its own name to 127.0.0.1 gets nothing.
        assert _request(port, "GET", "/", host="attacker.example:80")[0] == 403

        # The page offers no way to change anything: no form, no input, only copy buttons.
        html = page[2].decode()
        assert "<form" not in html and "<input" not in html and "<textarea" not in html
        assert set(re.findall(r'<button type="button" class="(\w+)"', html)) == {"copy"}
        assert html.count("<button") == len(re.findall(r'<button type="button" class="copy"', html))
    (mid_cycle / "docs" / "leak.md").unlink()
    assert history_lines(mid_cycle) == history
    assert git("status", "--porcelain", cwd=mid_cycle).stdout == tree


def test_file_of_a_finished_demo_shows_the_post_mortem_as_charts(work: Path, browser: Any) -> None:
    result = run("demo", "demo", cwd=work)
    assert result.returncode == 0, result.stdout + result.stderr
    root = work / "demo"
    out = work / "pages" / "dashboard.html"
    made = sdd_json("dashboard", "--out", str(out), cwd=root)
    assert Path(made["out"]) == out and out.is_file()
    data = status(root)
    figures = sdd_json("postmortem", cwd=root)

    url = out.as_uri()
    context, page, watch = open_page(browser, url, lambda u: u == url or u.startswith("data:"))
    check_diagram(page, data)
    assert all(s["state"] == "done" for s in diagram(page, 1)["stages"])
    # The live refresh is only for the served page: the file polls nothing.
    assert page.evaluate("document.body.dataset.live") == "0"

    charts = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#cycle-1 [data-chart]')].map(
             (c) => [c.dataset.chart, Object.fromEntries([...c.querySelectorAll('[data-bar]')].map(
               (b) => [b.dataset.bar, Number(b.dataset.value)]))]))"""
    )
    assert charts["time"] == pytest.approx({k: v["seconds"] for k, v in figures["stages"].items()})
    assert charts["wait"] == pytest.approx(
        {k: v["waiting_seconds"] for k, v in figures["gates"].items()}
    )
    loops: dict[str, int] = {}
    for loop in figures["loops"]:
        loops[loop["caused_by"]] = loops.get(loop["caused_by"], 0) + 1
    assert loops, "the demo cycle has a loop back to implement"
    assert charts["loops"] == loops
    reopened = [
        r
        for r in history_records(root)
        if r["type"] == "stage.reopen" and r["stage"] == "implement"
    ]
    assert sum(charts["loops"].values()) == len(reopened)
    assert charts["sess"] == {
        k: v["sessions"] for k, v in figures["stages"].items() if v["sessions"]
    }

    # Links from a file are relative and reach the project's files.
    links = hrefs(page)
    assert any(h.endswith("/docs/post-mortems/001-word-frequencies.md") for h in links)
    for href in links:
        assert href.startswith("file://"), href
        assert Path(urlsplit(href).path).is_file(), href
    watch.check()
    context.close()
    for scheme in ("light", "dark"):
        ctx = browser.new_context(viewport=VIEWPORT, color_scheme=scheme, bypass_csp=True)
        pg = ctx.new_page()
        pg.goto(url)
        pg.locator("#cycle-1 .pm").scroll_into_view_if_needed()
        screenshot(pg, f"dashboard-finished-demo-{scheme}")
        run_axe(pg, f"finished demo, {scheme}")
        ctx.close()

    # Every cycle is on the page: the latest shown first, the others a click away.
    result = run("new", "Export as CSV", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    sdd_json("dashboard", "--out", str(out), cwd=root)
    second = status(root)
    context, page, watch = open_page(browser, url, lambda u: u == url or u.startswith("data:"))
    assert page.locator("#cycle-2").is_visible() and page.locator("#cycle-1").is_hidden()
    check_diagram(page, second)
    page.locator('a[data-cycle-link="1"]').click()
    assert page.locator("#cycle-1").is_visible() and page.locator("#cycle-2").is_hidden()
    check_diagram(page, sdd_json("status", "--cycle", "1", cwd=root))
    assert page.locator("#cycle-1 .pm").is_visible()
    page.locator(".skip").focus()
    page.keyboard.press("Enter")  # an anchor that is not a cycle keeps the chosen cycle
    assert page.locator("#cycle-1").is_visible()
    watch.check()
    context.close()


def test_text_from_the_project_is_shown_as_text(work: Path, browser: Any) -> None:
    hostile = '<script>window.__pwned=1</script><img src="/x" onerror="window.__pwned=2">'
    result = run("init", "proj", "--title", f"Reset {hostile}", cwd=work)
    assert result.returncode == 0, result.stderr
    root = work / "proj"
    commit_all(root, "sdd init")
    session = start(root, "spec")
    page_path = root / session["page"]
    page_path.write_text(
        page_path.read_text(encoding="utf-8")
        + f"\n{hostile}\n\n[a link](javascript:window.__pwned=3)\n",
        encoding="utf-8",
    )
    result = run(
        "findings", "add", f"Title {hostile}", "--severity", "minor", "--stage", "spec", cwd=root
    )
    assert result.returncode == 0, result.stderr
    with serving(root) as (url, _):
        context, page, watch = open_page(browser, url, same_origin(url.rstrip("/")))
        assert hostile in page.locator("#c1-title").inner_text()
        assert hostile in page.locator('[data-finding="F-1"]').inner_text()
        page.goto(urljoin(url, session["page"]))
        assert hostile in page.locator("main").inner_text()
        assert page.locator("main a[href^='javascript']").count() == 0
        assert page.evaluate("window.__pwned") is None
        watch.check()
        assert not any(urlsplit(u).path == "/x" for u in watch.requests)
        context.close()


def test_sdd_status_does_not_load_the_dashboard(project: Path) -> None:
    probe = (
        "import sys\n"
        "from sdd.cli.main import main\n"
        "for argv in (['status'], ['status', '--json'], ['next']):\n"
        "    assert main(argv) == 0\n"
        "loaded = sorted(m for m in sys.modules if 'dashboard' in m)\n"
        "print('LOADED', loaded)\n"
    )
    for _ in range(2):  # cold (no cache yet), then warm
        result = subprocess.run(
            [sys.executable, "-c", probe], cwd=project, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        assert "LOADED []" in result.stdout, result.stdout


def test_dashboard_command_line(project: Path, work: Path) -> None:
    # A file by default, in sdd's own git-ignored cache: the tree stays clean.
    result = run("dashboard", cwd=project)
    assert result.returncode == 0, result.stderr
    default = project / ".sdd" / "cache" / "dashboard.html"
    assert default.is_file() and "dashboard.html" in result.stdout
    assert "sdd dashboard --serve" in result.stdout
    assert git("status", "--porcelain", cwd=project).stdout == ""
    html = default.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Password reset" in html
    # Self-contained: no external reference of any kind.
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "@import" not in html and "url(http" not in html

    printed = run("dashboard", "--out", "-", cwd=project)
    assert printed.returncode == 0 and printed.stdout.startswith("<!DOCTYPE html>")

    # --open hands the page to the person's browser ($BROWSER here: a script that notes it).
    seen = work / "browser-saw.txt"
    browser_script = work / "browser.sh"
    browser_script.write_text(f'#!/bin/sh\necho "$1" >> "{seen}"\n', encoding="utf-8")
    browser_script.chmod(0o755)
    result = run(
        "dashboard",
        "--out",
        "page.html",
        "--open",
        cwd=project,
        env={"BROWSER": str(browser_script)},
    )
    assert result.returncode == 0, result.stderr
    assert seen.read_text(encoding="utf-8").split() == [(project / "page.html").as_uri()]
    with serving(project, "--open", env={"BROWSER": str(browser_script)}) as (url, _):
        assert _request(urlsplit(url).port or 0, "GET", "/")[0] == 200
    assert seen.read_text(encoding="utf-8").split()[-1] == url

    # Usage mistakes: exit 2 with the reason; a busy port: exit 1 naming it.
    for args, words in (
        (["--port", "8000"], "--port goes with --serve"),
        (["--serve", "--port", "70000"], "0 to 65535"),
        (["--serve", "--out", "x.html"], "choose one"),
        (["--out", str(work)], "is a folder"),
    ):
        result = run("dashboard", *args, cwd=project)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert words in result.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("dashboard", "--serve", "--port", str(port), cwd=project)
        assert result.returncode == 1, result.stdout + result.stderr
        assert f"port {port}" in result.stderr and "--port 0" in result.stderr
    outside = run("dashboard", cwd=work)
    assert outside.returncode == 1 and "not inside an sdd project" in outside.stderr

    # A record altered after it was written is shown as a problem of the history.
    history = history_files(project)[0]
    history.write_text(
        history.read_text(encoding="utf-8").replace('"demo":false', '"demo":true', 1),
        encoding="utf-8",
    )
    printed = run("dashboard", "--out", "-", cwd=project)
    assert printed.returncode == 0, printed.stderr
    assert "The history has problems" in printed.stdout
    assert "hash mismatch" in printed.stdout
