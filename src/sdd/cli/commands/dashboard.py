"""`sdd dashboard`: the control panel as one self-contained HTML page, written to a file or
served live on 127.0.0.1. Imported only when the command runs (`sdd status` never pays)."""

from __future__ import annotations

import os
import sys

from sdd import api
from sdd.cli.output import Console, Reply
from sdd.core.errors import UsageError
from sdd.web import dashboard as page

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_OUT = os.path.join(".sdd", "cache", "dashboard.html")


def _open(url: str) -> None:
    import webbrowser

    if not webbrowser.open(url):
        sys.stderr.write(f"sdd: could not open a browser; open {url} yourself\n")


def dashboard(args: Any, console: Console) -> Reply:
    if args.port is not None and not args.serve:
        raise UsageError("--port goes with --serve")
    if args.serve and args.out:
        raise UsageError("--out writes a file and --serve serves the page: choose one")
    if args.port is not None and not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: a port is 0 to 65535 (0: any free port)")
    project = api.open_project()
    root = project.paths.root
    if args.serve:
        return _serve(project, args, console)
    out = args.out or _default_out(root)
    if not args.out and out != os.path.join(root, DEFAULT_OUT):
        console.note("sdd: the project cannot be written; the page goes to your state folder")
    if out == "-":
        sys.stdout.write(page.page(project, prefix=""))  # the page is the output, in any mode
        return Reply(shown=True)
    target = os.path.abspath(out)
    if os.path.isdir(target):
        raise UsageError(
            f"--out {out}: is a folder; name a file, e.g. {out.rstrip('/')}/dashboard.html"
        )
    prefix = os.path.relpath(root, os.path.dirname(target)).replace(os.sep, "/")
    prefix = "" if prefix == "." else prefix + "/"
    html = page.page(project, prefix=prefix)
    from sdd.core import files

    files.write_atomic(target, html, display=out)
    shown = os.path.relpath(target) if target.startswith(os.getcwd() + os.sep) else target
    if args.open:
        from pathlib import Path

        _open(Path(target).as_uri())
    return Reply(
        {"out": target, "bytes": len(html.encode()), "serving": False},
        f"Wrote {shown}: open it in a browser (sdd dashboard --open),\n"
        "  or serve it live, refreshing as the work moves: sdd dashboard --serve",
    )


def _default_out(root: str) -> str:
    """.sdd/cache/dashboard.html; in a project that cannot be written (a read-only checkout),
    a page of its own in the user's state folder, so reading the project still works."""
    from sdd.core import files
    from sdd.core.paths import user_state_dir

    inside = os.path.join(root, DEFAULT_OUT)
    if files.can_write(inside):
        return inside
    import hashlib

    tag = hashlib.sha256(root.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return os.path.join(user_state_dir(), "dashboards", f"{tag}.html")


def _serve(project: Any, args: Any, console: Console) -> Reply:
    from sdd.web import server

    root = project.paths.root

    def ready(url: str) -> None:
        console.emit(
            Reply(
                {"url": url, "root": root, "serving": True},
                f"Serving the dashboard of {root} at {url}\n"
                "  read-only, on 127.0.0.1 only; it refreshes itself when the state changes.\n"
                "  Ctrl-C stops it.",
            )
        )
        if args.open:
            _open(url)

    try:
        server.serve(project, args.port, on_ready=ready)
    except KeyboardInterrupt:
        console.note("\nsdd: dashboard stopped")
    return Reply(shown=True)
