"""`sdd dashboard`: the control panel as one self-contained HTML page, written to a file or
served live on 127.0.0.1. Imported only when the command runs (`sdd status` never pays)."""

from __future__ import annotations

import os
import sys
from typing import Any

from sdd import api
from sdd.core.errors import UsageError
from sdd.web import dashboard as page

DEFAULT_OUT = os.path.join(".sdd", "cache", "dashboard.html")


def _open(url: str) -> None:
    import webbrowser

    if not webbrowser.open(url):
        sys.stderr.write(f"sdd: could not open a browser; open {url} yourself\n")


def dashboard(args: Any) -> int:
    from sdd.cli.output import _dumps, _out, emit_json

    if args.port is not None and not args.serve:
        raise UsageError("--port goes with --serve")
    if args.serve and args.out:
        raise UsageError("--out writes a file and --serve serves the page: choose one")
    if args.port is not None and not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: a port is 0 to 65535 (0: any free port)")
    project = api.open_project()
    root = project.paths.root
    if args.serve:
        from sdd.web import server

        def ready(url: str) -> None:
            if args.json:
                emit_json("dashboard", _dumps({"url": url, "root": root, "serving": True}))
            else:
                _out(
                    f"Serving the dashboard of {root} at {url}\n"
                    "  read-only, on 127.0.0.1 only; it refreshes itself when the state changes.\n"
                    "  Ctrl-C stops it."
                )
            sys.stdout.flush()
            if args.open:
                _open(url)

        try:
            server.serve(project, args.port, on_ready=ready)
        except KeyboardInterrupt:
            if not args.json:
                sys.stderr.write("\nsdd: dashboard stopped\n")
        return 0

    out = args.out or os.path.join(root, DEFAULT_OUT)
    if out == "-":
        sys.stdout.write(page.page(project, prefix=""))
        return 0
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
    if args.json:
        emit_json(
            "dashboard", _dumps({"out": target, "bytes": len(html.encode()), "serving": False})
        )
    else:
        _out(
            f"Wrote {shown}: open it in a browser (sdd dashboard --open),\n"
            "  or serve it live, refreshing as the work moves: sdd dashboard --serve"
        )
    if args.open:
        from pathlib import Path

        _open(Path(target).as_uri())
    return 0
