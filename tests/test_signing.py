"""Signing a person's act (sdd.system.signing) with the real ssh-keygen: key files with and
without a passphrase (given by an SSH_ASKPASS program, or typed at a real pseudo-terminal),
a key only a real ssh-agent holds (git's ``key::`` form), the key chosen from git's own
configuration as git chooses it, a new dedicated key, and what doctor learns of a key:
passphrase or not, security key or not, held by an agent or not. Every key lives under the
test's folder; the person's own agent is never reached (conftest drops SSH_AUTH_SOCK).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from helpers import pty_detached
from sdd.core import sshsig
from sdd.core.allowed_signers import parse_allowed_signers
from sdd.core.errors import ProcessError, SddError
from sdd.core.sshkeys import SshDataError, parse_public_key
from sdd.system import signing
from sdd.system.process import child_env, run_subprocess
from ssh_helpers import (
    PASSPHRASE,
    SK_ECDSA,
    SK_ED25519,
    askpass_env,
    keygen,
    public_line,
    sk_key_file,
    ssh_add,
    ssh_agent,
    ssh_verify,
)
from system_tools import need_tool

ACT = b'{"kind": "gate.approve", "gate": "spec-approval", "by": "ada@example.com"}\n'


def holds(signature: str, key: Path, folder: Path) -> bool:
    """Our verdict and ssh-keygen's, which must agree."""
    allowed = f"ada@example.com {public_line(key)}\n"
    ours = sshsig.verify(signature, ACT, parse_allowed_signers(allowed)).valid
    assert ours == ssh_verify(folder, signature, ACT, allowed)
    return ours


def leftovers() -> list[str]:
    return [n for n in os.listdir(tempfile.gettempdir()) if n.startswith("sdd-sign-")]


def test_a_key_file_without_a_passphrase_signs_and_leaves_nothing_behind(
    work: Path, tmp_path: Path
) -> None:
    key = keygen(tmp_path / "id_ed25519")
    before = leftovers()
    signature = signing.sign(ACT, signing.signing_key(str(key), cwd=str(work)))
    assert signature.startswith(sshsig.BEGIN)
    assert holds(signature, key, tmp_path)
    assert sshsig.parse_signature(signature).namespace == sshsig.NAMESPACE
    assert os.listdir(work) == [] and leftovers() == before


@pytest.mark.parametrize("kind", ["ecdsa-384", "rsa-3072"])
def test_a_passphrase_comes_from_the_askpass_program_and_a_wrong_one_signs_nothing(
    work: Path, tmp_path: Path, kind: str
) -> None:
    key = keygen(tmp_path / "key", kind, passphrase=PASSPHRASE)
    chosen = signing.signing_key(str(key), cwd=str(work))
    env = child_env(askpass_env(tmp_path))
    assert holds(signing.sign(ACT, chosen, env=env), key, tmp_path)
    (tmp_path / "wrong").mkdir()
    with pytest.raises(SddError, match="could not sign with the key from given"):
        signing.sign(ACT, chosen, env=child_env(askpass_env(tmp_path / "wrong", "not it")))


SIGN_AT_TERMINAL = """
import sys
from sdd.system.signing import sign, signing_key
signature = sign(sys.argv[3].encode(), signing_key(sys.argv[1], cwd="."))
open(sys.argv[2], "w").write(signature)
"""


def test_ssh_keygen_asks_the_person_for_the_passphrase_at_their_terminal(
    work: Path, tmp_path: Path
) -> None:
    key = keygen(tmp_path / "key", passphrase=PASSPHRASE)
    out = tmp_path / "signature"
    typed = []

    def type_passphrase(shown: bytearray, type_: object) -> None:
        if b"passphrase" in shown.lower() and not typed:
            typed.append(True)
            type_((PASSPHRASE + "\n").encode())  # type: ignore[operator]

    argv = [sys.executable, "-c", SIGN_AT_TERMINAL, str(key), str(out), ACT.decode()]
    code, shown = pty_detached(argv, work, None, type_passphrase)
    assert code == 0, shown
    assert typed and PASSPHRASE not in shown  # asked, and not echoed
    assert holds(out.read_text(encoding="utf-8"), key, tmp_path)


def test_a_literal_key_signs_through_the_ssh_agent_that_holds_it(
    work: Path, tmp_path: Path
) -> None:
    key = keygen(tmp_path / "key", passphrase=PASSPHRASE)
    with ssh_agent(tmp_path) as agent:
        ssh_add(key, {**agent, **askpass_env(tmp_path)})
        env = child_env(agent)
        for spec in (f"key::{public_line(key)}", public_line(key)):  # git reads both
            chosen = signing.signing_key(spec, cwd=str(work))
            assert chosen.path is None
            assert holds(signing.sign(ACT, chosen, env=env), key, tmp_path)
        check = signing.check_key(chosen, env=env)
        assert (check.in_agent, check.passphrase, check.agent_can_sign) == (True, None, True)
        assert any("an ssh-agent holds it" in w for w in check.warnings)
    with pytest.raises(SddError, match="could not sign"):
        signing.sign(ACT, chosen, env=child_env({"SSH_AUTH_SOCK": str(tmp_path / "gone")}))


def git_config(root: Path, *pairs: str) -> None:
    for name, value in zip(pairs[::2], pairs[1::2], strict=True):
        subprocess.run(["git", "config", name, value], cwd=root, check=True)


def test_the_key_is_the_one_git_signs_commits_with(
    work: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    (Path.home() / "keys").mkdir()
    key = keygen(Path.home() / "keys" / "signing")
    git_config(work, "user.signingkey", "~/keys/signing")
    assert signing.git_signing_key(str(work)) is None  # gpg.format is openpgp, git's default
    git_config(work, "gpg.format", "ssh")
    chosen = signing.git_signing_key(str(work))
    assert chosen is not None and chosen.path == str(key)
    assert chosen.source == "git config user.signingkey"
    assert chosen.public_key == parse_public_key(public_line(key))
    assert holds(signing.sign(ACT, chosen), key, tmp_path)
    local = keygen(work / "local-key")
    git_config(work, "user.signingkey", "local-key.pub")  # relative, and a .pub: as git allows
    chosen = signing.git_signing_key(str(work))
    assert chosen is not None and chosen.public_key == parse_public_key(public_line(local))
    assert holds(signing.sign(ACT, chosen), local, tmp_path)


def test_without_user_signingkey_git_asks_its_default_key_command(
    work: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    git_config(work, "gpg.format", "ssh")
    assert signing.git_signing_key(str(work)) is None
    # A key command in the repository's own .git/config is never run: whatever works in the
    # repository can write that file. Only the person's own (global) configuration counts.
    marker = tmp_path / "ran"
    git_config(work, "gpg.ssh.defaultKeyCommand", f"touch {marker}")
    assert signing.git_signing_key(str(work)) is None and not marker.exists()
    subprocess.run(
        ["git", "config", "--global", "gpg.ssh.defaultKeyCommand", "ssh-add -L"], check=True
    )
    key = keygen(tmp_path / "key")
    with ssh_agent(tmp_path) as agent:
        monkeypatch.setenv("SSH_AUTH_SOCK", agent["SSH_AUTH_SOCK"])
        with pytest.raises(SddError, match=r"defaultKeyCommand \(ssh-add -L\) printed no key"):
            signing.git_signing_key(str(work))  # the agent holds nothing yet
        ssh_add(key, agent)
        chosen = signing.git_signing_key(str(work))
        assert chosen is not None and chosen.path is None
        assert chosen.source == "git config gpg.ssh.defaultKeyCommand"
        assert holds(signing.sign(ACT, chosen), key, tmp_path)


def test_a_new_dedicated_key_gets_the_passphrase_the_person_gives_ssh_keygen(
    work: Path, tmp_path: Path
) -> None:
    path = tmp_path / "sdd" / "approver"
    env = child_env(askpass_env(tmp_path))
    made = signing.new_key(str(path), comment="ada@example.com (sdd)", env=env)
    assert made.public_key is not None and made.public_key.algorithm == "ssh-ed25519"
    assert made.public_key.comment == "ada@example.com (sdd)"
    assert oct((tmp_path / "sdd").stat().st_mode & 0o777) == "0o700"
    check = signing.check_key(made)
    assert (check.passphrase, check.security_key, check.in_agent) == (True, False, None)
    assert not check.agent_can_sign and check.warnings == ()
    assert holds(signing.sign(ACT, made, env=env), path, tmp_path)
    with pytest.raises(SddError, match="exists already"):
        signing.new_key(str(path), comment="again", env=env)
    (tmp_path / "empty").mkdir()
    bare = signing.new_key(
        str(tmp_path / "bare"), comment="x", env=child_env(askpass_env(tmp_path / "empty", ""))
    )
    assert signing.check_key(bare).passphrase is False


@pytest.mark.parametrize(
    ("passphrase", "extra", "form", "encrypted"),
    [
        ("", (), "openssh", False),
        (PASSPHRASE, (), "openssh", True),
        ("", ("-m", "PEM"), "pem", False),
        (PASSPHRASE, ("-m", "PEM"), "pem", True),
        (PASSPHRASE, ("-m", "PKCS8"), "pem", True),
    ],
)
def test_doctor_learns_whether_a_key_file_has_a_passphrase(
    tmp_path: Path, passphrase: str, extra: tuple[str, ...], form: str, encrypted: bool
) -> None:
    key = keygen(tmp_path / "key", "ecdsa-256", passphrase, extra)
    found = signing.inspect_key_file(str(key))
    assert (found.format, found.encrypted, found.touch_required) == (form, encrypted, None)
    assert found.public_key == parse_public_key(public_line(key))
    assert signing.inspect_key_file(f"{key}.pub") == found  # the private key beside it
    check = signing.check_key(signing.signing_key(str(key), cwd=str(tmp_path)))
    assert check.agent_can_sign is not encrypted
    assert bool(check.warnings) is not encrypted
    if not encrypted:
        assert "its file has no passphrase" in check.warnings[0]


def test_a_passphrase_does_not_help_once_an_agent_holds_the_key(tmp_path: Path) -> None:
    key = keygen(tmp_path / "key", passphrase=PASSPHRASE)
    chosen = signing.signing_key(str(key), cwd=str(tmp_path))
    with ssh_agent(tmp_path) as agent:
        env = child_env(agent)
        assert signing.agent_keys(env) == ()
        assert not signing.check_key(chosen, env=env).agent_can_sign
        ssh_add(key, {**agent, **askpass_env(tmp_path)})
        assert signing.agent_keys(env) == (chosen.public_key,)
        check = signing.check_key(chosen, env=env)
        assert (check.passphrase, check.in_agent, check.agent_can_sign) == (True, True, True)
        assert check.warnings == (
            "an agent running as you can sign with this key: an ssh-agent holds it "
            "(`ssh-add -d` removes it)",
        )
    assert signing.agent_keys(child_env({"SSH_AUTH_SOCK": str(tmp_path / "gone")})) is None


@pytest.mark.parametrize("kind", [SK_ED25519, SK_ECDSA])
def test_a_security_key_needs_a_touch_unless_it_was_made_without_one(
    tmp_path: Path, kind: str
) -> None:
    """No authenticator here: the key files are built as ssh-keygen -t ed25519-sk writes
    them (ssh-keygen itself reads them back, below)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    private = (
        ed25519.Ed25519PrivateKey.generate()
        if kind == SK_ED25519
        else (ec.generate_private_key(ec.SECP256R1()))
    )
    for flags, touch in ((0x01, True), (0x00, False)):
        path = sk_key_file(tmp_path / f"sk-{flags}", kind, private, flags)
        shown = subprocess.run(
            [need_tool("ssh-keygen"), "-y", "-f", str(path)], capture_output=True, text=True
        )
        found = signing.inspect_key_file(str(path))
        assert found.public_key == parse_public_key(shown.stdout)
        assert (found.format, found.encrypted, found.touch_required) == ("openssh", False, touch)
        check = signing.check_key(signing.signing_key(str(path), cwd=str(tmp_path)))
        assert check.security_key and check.key_type == kind
        assert check.agent_can_sign is not touch
        assert ("does not ask for a touch" in " ".join(check.warnings)) is not touch


def test_a_signature_that_does_not_hold_is_never_returned(work: Path, tmp_path: Path) -> None:
    """An attacker's ssh-keygen earlier on PATH signs with its own key: refused."""
    key, theirs = keygen(tmp_path / "key"), keygen(tmp_path / "theirs")
    fake = tmp_path / "bin"
    fake.mkdir()
    script = fake / "ssh-keygen"
    script.write_text(
        "#!/bin/sh\nfor last; do :; done\n"
        f'exec {need_tool("ssh-keygen")} -q -Y sign -n {sshsig.NAMESPACE} -f {theirs} "$last"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    env = child_env({"PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"})
    chosen = signing.signing_key(str(key), cwd=str(work))
    with pytest.raises(SddError, match="a signature that does not hold") as caught:
        signing.sign(ACT, chosen, env=env)
    assert caught.value.hint == "check which ssh-keygen is first on PATH"
    script.write_text('#!/bin/sh\nfor last; do :; done\necho junk > "$last.sig"\n')
    with pytest.raises(SddError, match=r"malformed|does not hold"):
        signing.sign(ACT, chosen, env=env)


def test_a_key_that_cannot_be_read_is_named() -> None:
    with pytest.raises(SshDataError, match="cannot read the key"):
        signing.signing_key("/nonexistent/key", cwd="/")
    with pytest.raises(SshDataError):
        signing.signing_key("key::ssh-ed25519 not-a-key", cwd="/")


AT_TERMINAL = """
import sys, termios
from sdd.core.errors import ProcessError
from sdd.system.process import run_subprocess
shared = run_subprocess(["sh", "-c", "test -t 0 && echo tty; echo to-stderr >&2"], terminal=True)
apart = run_subprocess(["sh", "-c", "test -t 0 && echo tty || echo no-tty"])
print("shared:", shared.stdout.strip(), repr(shared.stderr), "apart:", apart.stdout.strip())
try:
    run_subprocess(["sh", "-c", "stty -echo; sleep 5"], terminal=True, timeout=0.5)
except ProcessError as exc:
    print("ended:", exc.message)
print("echo restored:", bool(termios.tcgetattr(0)[3] & termios.ECHO))
"""


def test_a_child_at_the_terminal_shares_it_and_the_terminal_is_restored(work: Path) -> None:
    code, shown = pty_detached([sys.executable, "-c", AT_TERMINAL], work, None, lambda *_: None)
    assert code == 0, shown
    assert "shared: tty '' apart: no-tty" in shown
    assert "to-stderr" in shown  # the child's messages reach the person
    assert "ended: sh -c stty -echo; sleep 5: no answer within 0.5 s" in shown
    assert "echo restored: True" in shown


def test_without_a_terminal_a_child_never_reads_our_input() -> None:
    script = (
        "from sdd.system.process import run_subprocess\n"
        "print(repr(run_subprocess(['cat'], terminal=True, timeout=10).stdout))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], input="a passphrase\n", capture_output=True, text=True
    )
    assert result.stdout.strip() == "''", result.stderr
    with pytest.raises(ValueError):
        run_subprocess(["cat"], terminal=True, input_text="x")
    assert run_subprocess(["cat"], input_text="given").stdout == "given"
    with pytest.raises(ProcessError, match="command not found"):
        run_subprocess(["no-such-command-here"], terminal=True)
