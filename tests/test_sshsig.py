"""SSHSIG verification in-process (sdd.core.sshsig), held against the real ssh-keygen: keys
of every type a person signs with, signatures made by `ssh-keygen -Y sign`, and the same
verdict as `ssh-keygen -Y verify` for good signatures and for every way one goes wrong (a
git commit's signature, a changed message, another key, a truncated or bit-flipped blob,
the allowed-signers options). Security keys cannot be made here (no authenticator): their
signatures are built in the test from software keys, byte for byte as PROTOCOL.u2f lays
them out, and ssh-keygen (which verifies them without hardware) agrees with us on them.
Malformed input, random or mutated, never crashes and never verifies (hypothesis).
"""

from __future__ import annotations

import base64
import contextlib
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sdd.core import sshsig
from sdd.core.allowed_signers import parse_allowed_signers, read_allowed_signers
from sdd.core.sshkeys import SshDataError, parse_public_key
from ssh_helpers import (
    KEY_KINDS,
    OURS,
    SK_ECDSA,
    SK_ED25519,
    armored,
    blob_of,
    keygen,
    public_line,
    sk_public_line,
    sk_signature,
    ssh_sign,
    ssh_verify,
)
from system_tools import need_tool

MESSAGE = b'{"kind": "gate.approve", "gate": "spec-approval", "heads": ["9f2c"]}\n'
ADA = "ada@example.com"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("keys")
    made = {kind: keygen(folder / kind, kind) for kind in KEY_KINDS}
    made["other"] = keygen(folder / "other")
    return made


@pytest.fixture(scope="module")
def signatures(keys: dict[str, Path]) -> dict[str, str]:
    return {kind: ssh_sign(keys[kind], MESSAGE) for kind in KEY_KINDS}


def allowed(key: Path, options: str = "", principals: str = ADA) -> str:
    return f"{principals} {options + ' ' if options else ''}{public_line(key)}\n"


def ours(
    signature: str | bytes, message: bytes, signers: str, principal: str | None = None
) -> sshsig.Verdict:
    return sshsig.verify(signature, message, parse_allowed_signers(signers), principal=principal)


def fingerprint(key: Path) -> str:
    args = [need_tool("ssh-keygen"), "-l", "-f", f"{key}.pub"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()[1]


@pytest.mark.parametrize("hashalg", ["sha512", "sha256"])
@pytest.mark.parametrize("kind", KEY_KINDS)
def test_a_signature_by_ssh_keygen_verifies(
    keys: dict[str, Path], tmp_path: Path, kind: str, hashalg: str
) -> None:
    signature = ssh_sign(keys[kind], MESSAGE, options=(f"hashalg={hashalg}",))
    signers = allowed(keys[kind])
    verdict = ours(signature, MESSAGE, signers)
    assert (verdict.valid, verdict.code, verdict.principal) == (True, "good", ADA), verdict
    assert verdict.fingerprint == fingerprint(keys[kind])
    assert verdict.namespace == OURS and verdict.user_present is None
    assert parse_signature_hash(signature) == hashalg
    assert ssh_verify(tmp_path, signature, MESSAGE, signers)


def parse_signature_hash(signature: str) -> str:
    return sshsig.parse_signature(signature).hash_algorithm


def test_a_git_commit_signature_made_with_the_same_key_never_counts_as_ours(
    keys: dict[str, Path], work: Path
) -> None:
    key = keys["ed25519"]
    git = ["git", "-c", "gpg.format=ssh", "-c", f"user.signingkey={key}"]
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    subprocess.run([*git, "commit", "-q", "-S", "--allow-empty", "-m", "x"], cwd=work, check=True)
    raw = subprocess.run(
        ["git", "cat-file", "commit", "HEAD"], cwd=work, capture_output=True, check=True
    ).stdout.decode()
    header, body = raw.split("\n\n", 1)
    lines = header.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("gpgsig "))
    end = next(
        (i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")), len(lines)
    )
    signature = "\n".join([lines[start][7:], *(line[1:] for line in lines[start + 1 : end])])
    payload = ("\n".join(lines[:start] + lines[end:]) + "\n\n" + body).encode()
    signers = allowed(key)
    assert sshsig.check_signature(signature, payload, namespace="git").valid  # a real signature
    verdict = ours(signature, payload, signers)
    assert (verdict.valid, verdict.code) == (False, "wrong-namespace"), verdict
    assert "'git'" in verdict.reason
    assert not ssh_verify(work, signature, payload, signers)


def flipped(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


def sample(length: int, extra: tuple[int, ...] = (), count: int = 36) -> list[int]:
    every = range(0, length, max(1, length // count))
    return sorted(p for p in {*every, *extra, length - 1} if 0 <= p < length)


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_a_bit_flipped_anywhere_gets_the_verdict_ssh_keygen_gives(
    keys: dict[str, Path], signatures: dict[str, str], tmp_path: Path, kind: str
) -> None:
    """Flipped in the blob (re-armored) and in the armored text itself. What still holds
    after a flip is only what the format ignores, for ssh-keygen as for us: the version
    field 1 → 0, and a newline turned into another kind of whitespace, or after the footer."""
    good, signers = signatures[kind], allowed(keys[kind])
    blob, text = blob_of(good), good.encode()
    version_low_byte, footer = 9, text.rindex(b"\n-----END")
    cases = [
        (armored(flipped(blob, p)), p == version_low_byte) for p in sample(len(blob), (6, 7, 8, 9))
    ]
    last_data = (text.find(b"=") if b"=" in text else footer) - 1  # its low bits may be padding
    for p in sample(len(text), (last_data, footer, footer + 1)):
        harmless = (text[p : p + 1] == b"\n" and p != footer) or p > footer + len(sshsig.END)
        cases.append((flipped(text, p), harmless))
    for case, harmless in cases:
        verdict = ours(case, MESSAGE, signers)
        assert verdict.valid == ssh_verify(tmp_path, case, MESSAGE, signers), (case, verdict)
        assert harmless or not verdict.valid, (case, verdict)


def test_the_armor_is_read_as_ssh_keygen_reads_it(
    keys: dict[str, Path], signatures: dict[str, str], tmp_path: Path
) -> None:
    good, signers = signatures["ed25519"], allowed(keys["ed25519"])
    body = good.strip().split("\n")[1:-1]
    variants = {
        # name: (the text, whether it holds); CRLF line ends are read since OpenSSH 9.5
        "CRLF": (good.replace("\n", "\r\n"), True),
        "one long line": ("\n".join([good.split("\n")[0], "".join(body), sshsig.END]), True),
        "after the footer": (good + "anything at all\n", True),
        "before the header": (" " + good, False),
        "no newline after the header": (good.replace("-----\n", "----- ", 1), False),
        "padding dropped": (good.replace("=", ""), "=" not in good),
        "a line of the body dropped": (
            "\n".join(good.split("\n")[:1] + good.split("\n")[2:]),
            False,
        ),
    }
    for name, (text, expected) in variants.items():
        assert ours(text, MESSAGE, signers).valid is expected, name
        if name != "CRLF" or keygen_version() >= (9, 5):
            assert ssh_verify(tmp_path, text, MESSAGE, signers) is expected, name


def keygen_version() -> tuple[int, int]:
    """OpenSSH's version, from what `ssh -V` prints (OpenSSH_9.2p1 …)."""
    import re
    import shutil

    ssh = shutil.which("ssh") or need_tool("ssh-keygen")[: -len("-keygen")]
    shown = subprocess.run([ssh, "-V"], capture_output=True, text=True).stderr
    found = re.search(r"OpenSSH_(\d+)\.(\d+)", shown)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def test_public_keys_and_fingerprints_are_as_ssh_keygen_prints_them(keys: dict[str, Path]) -> None:
    for kind in KEY_KINDS:
        line = public_line(keys[kind])
        key = parse_public_key(line)
        assert key.fingerprint == fingerprint(keys[kind])
        assert key.openssh == " ".join(line.split()[:2])
        assert key.comment == f"{kind} key of the test"
        assert not key.is_security_key
    ed25519 = public_line(keys["ed25519"]).split()[1]
    assert parse_public_key("ssh-ed25519 " + ed25519).comment == ""
    for bad in (
        "",
        "ssh-ed25519",
        "ssh-ed25519 !!!",
        "ssh-rsa " + ed25519,
    ):
        with pytest.raises(SshDataError):
            parse_public_key(bad)


OPTION_CASES = {
    # allowed-signers options → whether the signature (namespace OURS, principal ADA) holds
    'namespaces="git"': False,
    'namespaces="sdd-*,!sdd-evil*"': True,
    'namespaces="file,sdd-act@session-driven-development"': True,
    'namespaces="sdd-*,!sdd-act@*"': False,
    'valid-before="20000101"': False,
    'valid-after="29990101Z"': False,
    'valid-after="20000101",valid-before="299901011200Z"': True,
    'VALID-AFTER="20000101000000UTC"': True,
    "cert-authority": False,
    'namespaces="git" unknown-option': None,  # not read: the line is ignored
}


@pytest.mark.parametrize("options", OPTION_CASES)
def test_allowed_signer_options_decide_as_ssh_keygen_decides(
    keys: dict[str, Path], signatures: dict[str, str], tmp_path: Path, options: str
) -> None:
    expected = OPTION_CASES[options]
    signers = allowed(keys["ed25519"], options)
    verdict = ours(signatures["ed25519"], MESSAGE, signers)
    assert verdict.valid is bool(expected), verdict
    assert ssh_verify(tmp_path, signatures["ed25519"], MESSAGE, signers) is bool(expected)
    if options == "cert-authority":
        (ignored,) = parse_allowed_signers(signers).ignored
        assert "cert-authority" in ignored.reason and ignored.line == 1
    elif expected is False:
        code = verdict.code
        assert code in {"namespace-not-allowed", "expired", "not-yet-valid"}, verdict
        assert "line 1" in verdict.reason


@pytest.mark.parametrize(
    ("principals", "principal", "expected"),
    [
        ("*@example.com", ADA, True),
        ("bob@example.com,ada@exam?le.com", ADA, True),
        ("!ada@example.com,*@example.com", ADA, False),
        ('"ada@example.com"', ADA, True),
        ("ada@example.org", ADA, False),
    ],
)
def test_principal_patterns_match_as_ssh_keygen_matches(
    keys: dict[str, Path],
    signatures: dict[str, str],
    tmp_path: Path,
    principals: str,
    principal: str,
    expected: bool,
) -> None:
    signers = allowed(keys["ecdsa-256"], principals=principals)
    verdict = ours(signatures["ecdsa-256"], MESSAGE, signers, principal=principal)
    assert verdict.valid is expected, verdict
    assert ssh_verify(tmp_path, signatures["ecdsa-256"], MESSAGE, signers, principal) is expected


def test_the_first_line_that_allows_the_key_wins_and_unreadable_lines_are_named(
    keys: dict[str, Path], signatures: dict[str, str], tmp_path: Path
) -> None:
    key = keys["ed25519"]
    text = (
        "# approvers of the project\n\n"
        + allowed(key, 'namespaces="git"', "ada@example.com,ada@work")
        + "bob@example.com ssh-ed25519 not-base64\n"
        + "carol@example.com ssh-dss AAAAB3NzaC1kc3M=\n"
        + "dave@example.com\n"
        + allowed(key, "", "ada@example.com,ada@work")
    )
    path = tmp_path / "allowed_signers"
    path.write_text(text, encoding="utf-8")
    signers = read_allowed_signers(str(path))
    assert [s.line for s in signers.signers] == [3, 7]
    assert signers.signers[0].namespaces == ("git",)
    assert signers.signers[1].principals == ("ada@example.com", "ada@work")
    assert [(i.line, i.reason.split(":")[0]) for i in signers.ignored] == [
        (4, "ssh-ed25519 key"),
        (5, "ssh-dss keys are not accepted"),
        (6, "a line is PRINCIPALS [OPTIONS] KEY"),
    ]
    verdict = sshsig.verify(signatures["ed25519"], MESSAGE, signers)
    assert verdict.valid and verdict.principal == "ada@example.com,ada@work"
    named = sshsig.verify(signatures["ed25519"], MESSAGE, signers, principal="ada@work")
    assert named.valid and named.principal == "ada@work"
    assert ssh_verify(tmp_path, signatures["ed25519"], MESSAGE, text)
    with pytest.raises(SshDataError, match="cannot read"):
        read_allowed_signers(str(tmp_path / "missing"))


@pytest.fixture(scope="module")
def sk_keys() -> dict[str, object]:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    return {
        SK_ED25519: ed25519.Ed25519PrivateKey.generate(),
        SK_ECDSA: ec.generate_private_key(ec.SECP256R1()),
    }


def sk_allowed(kind: str, private: object) -> str:
    return f"{ADA} {sk_public_line(kind, private)}\n"


@pytest.mark.parametrize("kind", [SK_ED25519, SK_ECDSA])
def test_security_key_signatures_verify_and_say_whether_the_person_touched_the_key(
    sk_keys: dict[str, object], tmp_path: Path, kind: str
) -> None:
    private, signers = sk_keys[kind], sk_allowed(kind, sk_keys[kind])
    cases = {
        # (flags sent, counter) → user present, user verified
        (0x01, 7): (True, False),
        (0x05, 8): (True, True),
        (0x00, 9): (False, False),  # a key made with no-touch-required: ssh-keygen accepts it
    }
    for (flags, counter), (present, verified) in cases.items():
        signature = sk_signature(kind, private, MESSAGE, flags=flags, counter=counter)
        verdict = ours(signature, MESSAGE, signers)
        assert verdict.valid, verdict
        assert (verdict.user_present, verdict.user_verified, verdict.counter) == (
            present,
            verified,
            counter,
        )
        assert verdict.key_type == kind
        assert ssh_verify(tmp_path, signature, MESSAGE, signers)
    assert parse_public_key(signers.split(" ", 1)[1]).is_security_key


@pytest.mark.parametrize("kind", [SK_ED25519, SK_ECDSA])
def test_a_security_key_signature_that_does_not_hold_is_refused_as_ssh_keygen_refuses_it(
    sk_keys: dict[str, object], tmp_path: Path, kind: str
) -> None:
    private, signers = sk_keys[kind], sk_allowed(kind, sk_keys[kind])
    wrong = {
        "touch claimed, not signed": (
            sk_signature(kind, private, MESSAGE, flags=1, signed_flags=0),
            MESSAGE,
            "bad-signature",
        ),
        "signed for another application": (
            sk_signature(kind, private, MESSAGE, signed_application="ssh:x"),
            MESSAGE,
            "bad-signature",
        ),
        "a key of another application": (
            sk_signature(kind, private, MESSAGE, application="ssh:x"),
            MESSAGE,
            "unknown-signer",
        ),
        "message changed": (sk_signature(kind, private, MESSAGE), MESSAGE + b" ", "bad-signature"),
        "namespace git": (
            sk_signature(kind, private, MESSAGE, namespace="git"),
            MESSAGE,
            "wrong-namespace",
        ),
    }
    for name, (signature, message, code) in wrong.items():
        verdict = ours(signature, message, signers)
        assert (verdict.valid, verdict.code) == (False, code), (name, verdict)
        assert not ssh_verify(tmp_path, signature, message, signers), name
    # the counter is signed too: sent apart from what was signed, it does not hold
    blob = blob_of(sk_signature(kind, private, MESSAGE, counter=7))
    assert blob[-4:] == b"\0\0\0\7"
    assert ours(armored(blob[:-1] + b"\x08"), MESSAGE, signers).code == "bad-signature"


# Property tests: nothing in a signature can crash the verifier or make it say yes.
PROPERTIES = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture]}


def check_never_raises(data: str | bytes) -> None:
    with contextlib.suppress(SshDataError):
        sshsig.parse_signature(data)
    verdict = sshsig.check_signature(data, MESSAGE)
    assert isinstance(verdict, sshsig.Verdict)
    assert not verdict.valid


@settings(max_examples=300, **PROPERTIES)
@given(st.binary(max_size=2048))
def test_random_bytes_never_verify(data: bytes) -> None:
    check_never_raises(data)
    check_never_raises(armored(data))
    check_never_raises(armored(b"SSHSIG\0\0\0\1" + data))


@settings(max_examples=200, **PROPERTIES)
@given(st.text(max_size=600))
def test_random_text_never_verifies(text: str) -> None:
    check_never_raises(text)
    check_never_raises(f"{sshsig.BEGIN}\n{text}\n{sshsig.END}\n")


@pytest.fixture(scope="module")
def real_blobs(signatures: dict[str, str], sk_keys: dict[str, object]) -> list[bytes]:
    found = [blob_of(signatures[kind]) for kind in ("ed25519", "ecdsa-384", "rsa-3072")]
    return found + [blob_of(sk_signature(kind, sk_keys[kind], MESSAGE)) for kind in sk_keys]


VERSION_FIELD = range(6, 10)  # not signed, and any version up to 1 is read (as OpenSSH does)


@settings(max_examples=400, **PROPERTIES)
@given(data=st.data())
def test_a_mutated_signature_never_verifies(real_blobs: list[bytes], data: st.DataObject) -> None:
    blob = data.draw(st.sampled_from(real_blobs))
    edit = data.draw(st.sampled_from(["replace", "insert", "delete", "truncate", "splice"]))
    at = data.draw(st.integers(0, len(blob) - 1))
    if edit == "replace":
        value = data.draw(st.integers(0, 255))
        assume(at not in VERSION_FIELD and blob[at] != value)
        mutated = blob[:at] + bytes([value]) + blob[at + 1 :]
    elif edit == "insert":
        mutated = blob[:at] + data.draw(st.binary(min_size=1, max_size=8)) + blob[at:]
    elif edit == "delete":
        mutated = blob[:at] + blob[at + data.draw(st.integers(1, 8)) :]
    elif edit == "truncate":
        mutated = blob[:at]
    else:
        other = data.draw(st.sampled_from(real_blobs))
        mutated = blob[:at] + other[at:]
        assume(mutated not in real_blobs)
    armored_text = armored(mutated)
    check_never_raises(armored_text)
    assert not sshsig.check_signature(armored_text, MESSAGE).valid


@settings(max_examples=200, **PROPERTIES)
@given(st.text(max_size=400))
def test_any_allowed_signers_text_is_read_without_crashing(text: str) -> None:
    signers = parse_allowed_signers(text)
    assert all(line.reason for line in signers.ignored)
    with contextlib.suppress(SshDataError):
        parse_public_key(text)


def test_signatures_are_cheap_to_check_and_the_blob_is_what_the_format_says(
    signatures: dict[str, str],
) -> None:
    signature = sshsig.parse_signature(signatures["ed25519"])
    assert signature.namespace == OURS and signature.version == 1
    assert signature.public_key.algorithm == "ssh-ed25519"
    blob = blob_of(signatures["ed25519"])
    assert blob.startswith(b"SSHSIG\0\0\0\1")
    assert base64.b64encode(blob).decode() in signatures["ed25519"].replace("\n", "")
    assert sshsig.armor(blob) == signatures["ed25519"]


def test_reading_signatures_does_not_load_the_cryptography_library(
    signatures: dict[str, str],
) -> None:
    """Only verifying imports it: a module that parses records stays cheap to import."""
    import json
    import sys

    script = (
        "import sys, json\n"
        "from sdd.core import sshsig\n"
        "signature = sshsig.parse_signature(sys.stdin.read())\n"
        "loaded = any(m.startswith('cryptography') for m in sys.modules)\n"
        "print(json.dumps([loaded, signature.public_key.fingerprint]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=signatures["ed25519"],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded, fingerprint_seen = json.loads(result.stdout)
    assert loaded is False
    assert fingerprint_seen.startswith("SHA256:")
