"""The one exception hierarchy. ``sdd.cli.handler`` maps it to messages and exit codes."""

from __future__ import annotations

# Exit codes, as DESIGN.md fixes them for every command.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_CRASH = 4
EXIT_INTERRUPTED = 130


class SddError(Exception):
    """An expected failure: shown to the user as a message, never as a traceback."""

    exit_code = EXIT_FAILED
    kind = "error"

    def __init__(self, message: str, *, hint: str | None = None, details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = list(details or [])


class UsageError(SddError):
    exit_code = EXIT_USAGE
    kind = "usage"


class NotAProjectError(SddError):
    kind = "not-a-project"


class StateError(SddError):
    """The history or another state file cannot be read as it is."""

    kind = "state"


class ConfigError(SddError):
    kind = "config"


class CheckFailed(SddError):
    """A completion rule or check did not hold; ``details`` lists what is missing."""

    kind = "check-failed"


class Refused(SddError):
    """The process forbids this now: a gate not passed, a person's act without a person."""

    exit_code = EXIT_REFUSED
    kind = "refused"


class ProcessError(SddError):
    """A child process could not be started or did not finish in time."""

    kind = "process"


class NothingToVerify(CheckFailed):
    """No checks are configured and none were detected: never green."""

    kind = "nothing-to-verify"


class MergeConflict(CheckFailed):
    """A parallel session's work conflicts with the cycle's branch: ``details`` names the
    files; its branch is kept."""

    kind = "merge-conflict"
