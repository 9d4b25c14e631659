"""`sdd dashboard --serve`: the dashboard on 127.0.0.1 only, read-only, refreshing itself.

It answers GET of its own pages and nothing else:
  /                 the dashboard (rendered again whenever the state changed)
  /state-version    a short token that changes when the history, the config or a document
                    changes; the page polls it and swaps in the new content
  /docs/<path>      a file under the project's docs/ the page links to: Markdown rendered
                    as HTML (raw HTML in it shown as text), anything else as plain text
Any other method is answered 405, any other path 404, and a request naming another host
403 (a web page elsewhere cannot reach the dashboard by rebinding a DNS name to 127.0.0.1).
Nothing here writes to the project's state.
"""

from __future__ import annotations

import errno
import os
import re
import threading
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from sdd import api
from sdd.core.errors import Refused, SddError
from sdd.web import dashboard, inline

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

HOST = "127.0.0.1"
DEFAULT_PORT = 8470
POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class Site:
    """What the server knows: the project, and the page last rendered (by state version)."""

    def __init__(self, project: api.Project, port: int) -> None:
        self.project = project
        self.port = port
        self._lock = threading.Lock()
        self._version = ""
        self._page = b""

    def hosts(self) -> set[str]:
        return {f"{HOST}:{self.port}", f"localhost:{self.port}"}

    def page(self) -> tuple[int, bytes]:
        with self._lock:
            version = api.state_version(self.project)
            if version != self._version:
                try:
                    html = dashboard.page(self.project, prefix="/", live=True, version=version)
                except SddError as exc:
                    return 500, _error_page(exc).encode()
                self._version, self._page = version, html.encode()
            return 200, self._page

    def document(self, path: str) -> tuple[str, bytes] | None:
        """A file under docs/ as (content type, body), or None when there is no such file."""
        relative = path.lstrip("/")
        parts = relative.split("/")
        if parts[0] != "docs" or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
            return None
        paths = self.project.paths
        try:
            full = paths.inside(relative)
        except Refused:
            return None
        real = os.path.realpath(full)
        docs = os.path.realpath(paths.docs)
        if not real.startswith(docs + os.sep) or not os.path.isfile(real):
            return None
        try:
            with open(real, "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        if relative.endswith(".md"):
            text = data.decode("utf-8", errors="replace")
            return "text/html; charset=utf-8", render_markdown(relative, text).encode()
        return "text/plain; charset=utf-8", data


def _error_page(exc: SddError) -> str:
    hint = f"<p>{escape(exc.hint)}</p>" if exc.hint else ""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>sdd dashboard: error'
        f'</title></head><body><main id="main"><h1>The state cannot be read</h1>'
        f"<p>{escape(exc.message)}</p>{hint}</main></body></html>"
    )


# ---------------------------------------------------------------------------- documents

_DETAILS = re.compile(r"^<details>\s*(?:<summary>([^<]*)</summary>)?$", re.I)
_COMMENTS = re.compile(r"<!--.*?-->", re.S)


def _html_block(renderer: Any, tokens: Any, index: int, options: Any, env: Any) -> str:
    """Raw HTML in a document: comments dropped, <details>/<summary> kept, all else text."""
    out: list[str] = []
    text: list[str] = []

    def flush() -> None:
        if text:
            out.append(f"<p>{escape(chr(10).join(text))}</p>")
            text.clear()

    for line in _COMMENTS.sub("", tokens[index].content).split("\n"):
        stripped = line.strip()
        match = _DETAILS.match(stripped)
        if match:
            flush()
            summary = match.group(1)
            out.append("<details>" + (f"<summary>{escape(summary)}</summary>" if summary else ""))
        elif stripped.lower() == "</details>":
            flush()
            out.append("</details>")
        elif stripped:
            text.append(line)
    flush()
    return "\n".join(out) + "\n" if out else ""


def _html_inline(renderer: Any, tokens: Any, index: int, options: Any, env: Any) -> str:
    return escape(tokens[index].content)


def render_markdown(relative: str, text: str) -> str:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    md.add_render_rule("html_block", _html_block)
    md.add_render_rule("html_inline", _html_inline)
    body = md.render(text)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        f"<title>{escape(relative)} · sdd</title>"
        f'<link rel="icon" href="{inline.ICON}">'
        f"<style>{inline.text('document.css')}</style></head><body>"
        '<header><nav aria-label="Back"><a href="/">← Dashboard</a></nav>'
        f'<p class="path">{escape(relative)}</p></header>'
        f'<main id="main">{body}</main></body></html>'
    )


# ---------------------------------------------------------------------------- the server


class Handler(BaseHTTPRequestHandler):
    server_version = "sdd-dashboard"
    sys_version = ""
    site: Site  # set on the subclass made by ``serve``

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the terminal shows the URL and nothing else

    def __getattr__(self, name: str) -> Any:
        # http.server looks up do_<METHOD>: every method but GET is answered 405.
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/plain; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        if not content_type.startswith("text/html"):
            self.send_header(
                "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"
            )
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _not_allowed(self) -> None:
        self._send(
            405,
            b"405: the dashboard is read-only; it answers GET only\n",
            headers={"Allow": "GET"},
        )

    def do_GET(self) -> None:
        try:
            self._get()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away mid-answer
        except Exception as exc:  # one bad request must not stop the server, nor print a traceback
            import sys

            sys.stderr.write(f"sdd: dashboard: {self.path}: {exc.__class__.__name__}: {exc}\n")
            try:  # noqa: SIM105 - the answer may already be half sent
                self._send(500, b"500: the dashboard could not answer this request\n")
            except OSError:
                pass

    def _get(self) -> None:
        host = (self.headers.get("Host") or "").lower()
        if host and host not in self.site.hosts():
            self._send(403, b"403: this server answers only for 127.0.0.1\n")
            return
        path = unquote(urlsplit(self.path).path)
        if path in ("/", "/index.html"):
            status, body = self.site.page()
            policy = POLICY.replace(
                "connect-src", f"script-src '{inline.script_hash()}'; connect-src"
            )
            self._send(
                status,
                body,
                "text/html; charset=utf-8",
                {"Content-Security-Policy": policy},
            )
        elif path == "/state-version":
            self._send(200, api.state_version(self.site.project).encode())
        else:
            found = self.site.document(path)
            if found is None:
                self._send(404, b"404: not a page of this dashboard\n")
                return
            content_type, body = found
            self._send(200, body, content_type, {"Content-Security-Policy": POLICY})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(project: api.Project, port: int | None, *, on_ready: Callable[[str], None]) -> None:
    """Serve until interrupted. ``on_ready`` gets the URL once the socket listens."""
    chosen = DEFAULT_PORT if port is None else port
    try:
        server = _Server((HOST, chosen), Handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise SddError(
                f"port {chosen} on {HOST} is already in use",
                hint="choose another with --port N, or --port 0 for any free port",
            ) from None
        raise SddError(f"cannot listen on {HOST}:{chosen} ({exc.strerror})") from None
    actual = server.server_address[1]
    site = Site(project, int(actual))
    server.RequestHandlerClass = type("BoundHandler", (Handler,), {"site": site})
    try:
        on_ready(f"http://{HOST}:{actual}/")
        server.serve_forever(poll_interval=0.25)
    finally:
        server.server_close()
