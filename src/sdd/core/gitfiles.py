"""What git's own files say, read without running git: on the start-up path (the panel
cache is keyed on HEAD), so builtins only."""

from __future__ import annotations

import os


def head_key(root: str) -> str | None:
    """Which commit HEAD is, read from .git's own files without running git (None when it
    cannot be told that way: no repository, a linked worktree, packed refs…). For caches
    and memos only: nothing is decided by it."""
    try:
        with open(os.path.join(root, ".git", "HEAD"), encoding="utf-8") as handle:
            head = handle.read().strip()
        if not head.startswith("ref: "):
            return head
        with open(os.path.join(root, ".git", head[5:]), encoding="utf-8") as handle:
            return handle.read().strip()
    except (OSError, ValueError):
        return None
