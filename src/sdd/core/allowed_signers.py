"""OpenSSH's allowed-signers file (ssh-keygen(1), ALLOWED SIGNERS), read into data.

A line is ``PRINCIPALS [OPTIONS] KEY``: principals and namespaces are OpenSSH pattern lists
(``*``, ``?``, ``!`` to exclude); the options are ``namespaces="…"``, ``valid-after="…"``,
``valid-before="…"`` and ``cert-authority``. sdd accepts keys listed one by one, never a
certificate authority: such a line, and any line it cannot read, is kept as an
``IgnoredLine`` with its reason (the file is the person's; doctor can show it), and grants
nothing.
"""

from __future__ import annotations

import re

from sdd.core.sshkeys import KEY_TYPES, PublicKey, SshDataError, parse_public_key
from sdd.core.structs import dataclass

# Key types OpenSSH reads that sdd refuses, so that a line with one is named, not misread.
REFUSED_TYPES = ("ssh-dss",)
CERTIFICATE_SUFFIX = "-cert-v01@openssh.com"


@dataclass(frozen=True)
class AllowedSigner:
    """One line of an allowed-signers file."""

    line: int
    principals: tuple[str, ...]  # patterns
    key: PublicKey
    namespaces: tuple[str, ...] | None = None  # patterns; None: every namespace
    valid_after: int | None = None  # seconds since the epoch
    valid_before: int | None = None


@dataclass(frozen=True)
class IgnoredLine:
    """A line of an allowed-signers file that is not read, and why."""

    line: int
    reason: str


@dataclass(frozen=True)
class Match:
    """What the allowed signers say of a key: ``principal`` is set when they allow it."""

    code: str  # good, unknown-signer, namespace-not-allowed, not-yet-valid, expired
    reason: str
    principal: str | None = None


@dataclass(frozen=True)
class AllowedSigners:
    """An allowed-signers file as ssh-keygen reads it."""

    signers: tuple[AllowedSigner, ...]
    ignored: tuple[IgnoredLine, ...] = ()

    def match(self, key: PublicKey, namespace: str, principal: str | None, at: float) -> Match:
        """The first line for ``key`` (and ``principal``) that allows ``namespace`` at
        ``at``, as ``ssh-keygen -Y verify`` looks; else why none does."""
        refusal = Match("unknown-signer", f"key {key.fingerprint} is not an allowed signer")
        for signer in self.signers:
            if signer.key.blob != key.blob:
                continue
            if principal is not None and not matches_pattern_list(principal, signer.principals):
                why = f"key {key.fingerprint} is not allowed for {principal!r} (line {signer.line})"
                refusal = Match("unknown-signer", why)
            elif signer.namespaces is not None and not matches_pattern_list(
                namespace, signer.namespaces
            ):
                why = f"key {key.fingerprint} is not allowed for namespace {namespace!r} (line {signer.line})"
                refusal = Match("namespace-not-allowed", why)
            elif signer.valid_after is not None and at < signer.valid_after:
                why = f"key {key.fingerprint} is valid only from {_when(signer.valid_after)} (line {signer.line})"
                refusal = Match("not-yet-valid", why)
            elif signer.valid_before is not None and at > signer.valid_before:
                why = f"key {key.fingerprint} expired at {_when(signer.valid_before)} (line {signer.line})"
                refusal = Match("expired", why)
            else:
                who = principal if principal is not None else ",".join(signer.principals)
                return Match("good", f"allowed by line {signer.line}", who)
        return refusal


def matches_pattern_list(name: str, patterns: tuple[str, ...]) -> bool:
    """OpenSSH's pattern lists: some pattern matches and no ``!pattern`` does."""
    found = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if _pattern(pattern[1:] if negated else pattern).fullmatch(name):
            if negated:
                return False
            found = True
    return found


def _pattern(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def _when(epoch: int) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def parse_allowed_signers(text: str) -> AllowedSigners:
    signers: list[AllowedSigner] = []
    ignored: list[IgnoredLine] = []
    for number, line in enumerate(text.split("\n"), start=1):
        try:
            signer = _parse_line(line, number)
        except SshDataError as exc:
            ignored.append(IgnoredLine(number, exc.message))
            continue
        if signer is not None:
            signers.append(signer)
    return AllowedSigners(tuple(signers), tuple(ignored))


def read_allowed_signers(path: str) -> AllowedSigners:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return parse_allowed_signers(handle.read())
    except OSError as exc:
        raise SshDataError(f"{path}: cannot read the allowed signers: {exc.strerror}") from None


def _parse_line(line: str, number: int) -> AllowedSigner | None:
    text = line.lstrip(" \t\r\n")
    if not text or text.startswith("#"):
        return None
    principals, rest = _first_field(text)
    first = rest.split(None, 1)[0] if rest.split() else ""
    if first in KEY_TYPES or first in REFUSED_TYPES or first.endswith(CERTIFICATE_SUFFIX):
        options, key_text = "", rest
    else:
        options, key_text = _split_options(rest)
    found = _options(options)
    if "cert-authority" in found:
        raise SshDataError("cert-authority: sdd accepts keys listed one by one, not a CA")
    kind = key_text.split(None, 1)[0] if key_text.split() else ""
    if kind in REFUSED_TYPES or kind.endswith(CERTIFICATE_SUFFIX):
        raise SshDataError(f"{kind[:60]} keys are not accepted")
    namespaces = found.get("namespaces")
    after, before = _time(found.get("valid-after")), _time(found.get("valid-before"))
    if after is not None and before is not None and before <= after:
        raise SshDataError("valid-before is not after valid-after")
    return AllowedSigner(
        number,
        tuple(principals.split(",")),
        parse_public_key(key_text),
        tuple(namespaces.split(",")) if isinstance(namespaces, str) else None,
        after,
        before,
    )


def _first_field(text: str) -> tuple[str, str]:
    """The principals and the rest: up to whitespace, or a quoted string (OpenSSH's strdelim)."""
    stop = re.search(r'[ \t\r\n"]', text)
    if stop is None:
        raise SshDataError("a line is PRINCIPALS [OPTIONS] KEY: no key")
    if stop.group() == '"':
        close = text.find('"', stop.end())
        if close < 0:
            raise SshDataError("the principals have no closing quote")
        field, rest = text[: stop.start()] + text[stop.end() : close], text[close + 1 :]
    else:
        field, rest = text[: stop.start()], text[stop.end() :]
    rest = rest.lstrip(" \t\r\n")
    if not rest:
        raise SshDataError("a line is PRINCIPALS [OPTIONS] KEY: no key")
    return field, rest


def _split_options(text: str) -> tuple[str, str]:
    """Options end at the first space or tab outside quotes."""
    quoted = False
    index = 0
    while index < len(text) and (quoted or text[index] not in " \t"):
        if text[index] == "\\" and text[index + 1 : index + 2] == '"':
            index += 1
        elif text[index] == '"':
            quoted = not quoted
        index += 1
    if quoted:
        raise SshDataError("the options have no closing quote")
    key_text = text[index:].lstrip(" \t")
    if not key_text:
        raise SshDataError("a line is PRINCIPALS [OPTIONS] KEY: no key")
    return text[:index], key_text


VALUED = ("namespaces", "valid-after", "valid-before")


def _options(text: str) -> dict[str, str | bool]:
    """The options, as OpenSSH's sshsigopt_parse reads them (names in any case)."""
    found: dict[str, str | bool] = {}
    pos = 0
    while pos < len(text):
        lower = text[pos:].lower()
        name = next((n for n in VALUED if lower.startswith(n + "=")), None)
        if name is not None:
            if name in found:
                raise SshDataError(f"more than one {name} option")
            found[name], pos = _dequote(text, pos + len(name) + 1)
        elif lower.startswith("cert-authority"):
            found["cert-authority"] = True
            pos += len("cert-authority")
        if pos == len(text):
            break
        if text[pos] != ",":
            raise SshDataError(f"unknown option at {text[pos : pos + 30]!r}")
        pos += 1
        if pos == len(text):
            raise SshDataError("the options end with a comma")
    return found


def _dequote(text: str, pos: int) -> tuple[str, int]:
    if text[pos : pos + 1] != '"':
        raise SshDataError("an option's value is in double quotes")
    value: list[str] = []
    pos += 1
    while pos < len(text) and text[pos] != '"':
        if text[pos] == "\\" and text[pos + 1 : pos + 2] == '"':
            pos += 1
        value.append(text[pos])
        pos += 1
    if pos == len(text):
        raise SshDataError("an option's value has no closing quote")
    return "".join(value), pos + 1


TIME_FORMATS = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}


def _time(value: str | bool | None) -> int | None:
    """YYYYMMDD[HHMM[SS]], local time unless it ends in Z or UTC (as OpenSSH reads it)."""
    if not isinstance(value, str):
        return None
    import calendar
    import datetime

    upper = value.upper()
    digits = upper[:-1] if upper.endswith("Z") else upper[:-3] if upper.endswith("UTC") else upper
    fmt = TIME_FORMATS.get(len(digits))
    try:
        if fmt is None or not (digits.isascii() and digits.isdigit()):
            raise ValueError(value)
        moment = datetime.datetime.strptime(digits, fmt)
    except ValueError:
        raise SshDataError(f"{value[:30]!r} is not a time (YYYYMMDD[HHMM[SS]][Z])") from None
    utc = digits != upper
    seconds = calendar.timegm(moment.timetuple()) if utc else int(moment.timestamp())
    if seconds <= 0:
        raise SshDataError(f"{value[:30]!r} is not a time after 1970")
    return seconds


def render(signers: list[tuple[str, str]], namespace: str) -> str:
    """An allowed-signers file of (principal, public key line) pairs, each allowed to sign
    under ``namespace`` only; principals are reduced to the characters the format keeps."""
    lines = [
        "# The approvers of this project, written by sdd from its history: edit nothing here;",
        "# `sdd approvers add|revoke` changes them (a signed act of an approver).",
    ]
    for principal, key in signers:
        name = "".join(c if c.isalnum() or c in "@._+-" else "_" for c in principal)
        lines.append(f'{name or "approver"} namespaces="{namespace}" {key}')
    return "\n".join(lines) + "\n"
