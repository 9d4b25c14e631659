"""The small pieces every part of the dashboard is built from: a state's colour and words,
badges, times, durations, prose with `code`, links to project files, a command to copy.

Every text that comes from the project goes through ``html.escape`` here or where it is
placed; nothing here reads a file or the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from urllib.parse import quote

Link = Callable[[str], str]

_TONE = {
    "done": "green",
    "approved": "green",
    "complete": "green",
    "fixed": "green",
    "finished": "green",
    "active": "blue",
    "ready": "blue",
    "in-progress": "blue",
    "open": "blue",
    "waiting": "amber",
    "interrupted": "amber",
    "gate-conditions": "amber",
    "stale": "orange",
    "major": "orange",
    "blocked": "red",
    "rejected": "red",
    "blocking": "red",
    "failed": "red",
    "not-yet": "grey",
    "pending": "grey",
    "abandoned": "grey",
    "waived": "grey",
    "minor": "grey",
}

_LABEL = {"not-yet": "not yet", "in-progress": "in progress"}


def tone(state: str) -> str:
    return _TONE.get(state, "grey")


def state_label(state: str) -> str:
    """A state in words: ``not-yet`` reads "not yet"."""
    return _LABEL.get(state, state)


def badge(state: str, text: str | None = None) -> str:
    shown = text if text is not None else state_label(state)
    return f'<span class="badge t-{tone(state)}">{escape(shown)}</span>'


def timestamp(stamp: str | None) -> str:
    if not stamp:
        return ""
    shown = stamp.replace("T", " ").removesuffix("Z")[:16]
    return f'<time datetime="{escape(stamp)}">{escape(shown)}</time>'


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.1f} s".replace(".0 s", " s")
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(s // 3600, 24)
    return f"{d} d {h} h" if h else f"{d} d"


def prose(text: str) -> str:
    """Text with `code spans` (as sdd's messages write commands) shown as code."""
    parts = escape(text).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: leave the text as it is
        return escape(text)
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def linker(prefix: str) -> Link:
    """Links to project files: ``prefix`` is "/" when served, a relative path in a file."""

    def href(relative: str) -> str:
        return escape(prefix + quote(relative), quote=True)

    return href


def doc_link(link: Link, path: str | None, text: str, *, label: str | None = None) -> str:
    if not path:
        return escape(text)
    aria = f' aria-label="{escape(label, quote=True)}"' if label else ""
    return f'<a href="{link(path)}"{aria}>{escape(text)}</a>'


def command_box(command: str, alternative: str | None = None) -> str:
    """A command to run, with a button that copies it (and, under it, another way)."""
    text = escape(command)
    out = (
        f'<div class="cmd"><code>{text}</code>'
        f'<button type="button" class="copy" data-copy="{escape(command, quote=True)}" '
        f'aria-label="Copy the command {escape(command, quote=True)}">Copy</button></div>'
    )
    if alternative:
        out += f'<p class="alt">or <code>{escape(alternative)}</code></p>'
    return out
