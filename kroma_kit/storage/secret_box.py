"""Encryption of provider secrets at rest: Fernet under a workspace master key.

The master key comes from ``$KROMA_MASTER_KEY`` (a studio puts it in its secret manager) or from
``<KROMA_HOME>/secrets.key``, created with mode 0600 on first use. Rotation keeps the old keys
readable (``MultiFernet``): the key file lists the current key first and the previous ones after
it, ``$KROMA_MASTER_KEY_PREVIOUS`` does the same for the environment (comma separated). Every
ciphertext is tagged with a ``key_ref`` (a short hash of the key, never the key) so status and
rotation can count rows per key without decrypting anything.

Nothing here knows the catalog: it turns text into tokens and back.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kroma_kit.errors import ConfigError, StorageError

MASTER_KEY_ENV = "KROMA_MASTER_KEY"
PREVIOUS_KEYS_ENV = "KROMA_MASTER_KEY_PREVIOUS"
KEY_FILE_NAME = "secrets.key"
PLAINTEXT_REF = "plaintext"


def key_ref(key: bytes) -> str:
    """A stable, non-reversible name for a master key (``k-`` + 12 hex of a salted sha256)."""
    return "k-" + hashlib.sha256(b"kroma-master-key-ref:" + key).hexdigest()[:12]


def _fernet_module():
    """``cryptography.fernet``, imported on first use: the pipeline imports this module on every
    start, most runs never touch a secret, and cryptography costs ~25 ms to import."""
    from cryptography import fernet

    return fernet


def _check_key(raw: str | bytes, where: str) -> bytes:
    key = raw.strip().encode("ascii", "replace") if isinstance(raw, str) else raw.strip()
    try:
        _fernet_module().Fernet(key)
    except (ValueError, TypeError):
        # Never echo the value: a mistyped key is still mostly a key.
        raise ConfigError(f"The master key in {where} is not a Fernet key (32 url-safe base64 bytes). "
                          "Generate one with `python -c 'from cryptography.fernet import Fernet; "
                          "print(Fernet.generate_key().decode())'`.") from None
    return key


@dataclass(frozen=True)
class MasterKeys:
    """The current master key and the previous ones still accepted for reading."""

    current: bytes = field(repr=False)
    previous: tuple[bytes, ...] = field(default=(), repr=False)
    source: str = "file"  # "env" or "file"
    path: Path | None = None

    @property
    def current_ref(self) -> str:
        return key_ref(self.current)

    @property
    def refs(self) -> list[str]:
        return [key_ref(k) for k in (self.current, *self.previous)]

    def _fernet(self) -> Any:
        fernet = _fernet_module()
        return fernet.MultiFernet([fernet.Fernet(k) for k in (self.current, *self.previous)])

    def encrypt(self, plaintext: str) -> str:
        """A Fernet token (text) for ``plaintext`` under the current key."""
        return _fernet_module().Fernet(self.current).encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str, *, what: str = "secret") -> str:
        """The plaintext of ``token`` under any known key; a clear error when no key opens it."""
        try:
            return self._fernet().decrypt(token.encode("ascii")).decode("utf-8")
        except (_fernet_module().InvalidToken, UnicodeError, ValueError):
            raise StorageError(
                f"Cannot decrypt {what}: it was encrypted with a master key that is not configured. "
                f"Set {MASTER_KEY_ENV} (and {PREVIOUS_KEYS_ENV} for rotated keys) or restore "
                f"{KEY_FILE_NAME}, then retry.") from None


def key_file_path(home: Path) -> Path:
    return Path(home) / KEY_FILE_NAME


def load_master_keys(home: Path, *, create: bool = True) -> MasterKeys | None:
    """The workspace's master keys: the environment wins over the key file.

    With ``create`` a missing key file is created (0600, atomically, first writer wins);
    without it, a workspace with no key answers ``None`` (nothing was ever encrypted).
    """
    env_key = os.environ.get(MASTER_KEY_ENV, "").strip()
    path = key_file_path(home)
    if env_key:
        previous = [_check_key(k, PREVIOUS_KEYS_ENV) for k in
                    os.environ.get(PREVIOUS_KEYS_ENV, "").split(",") if k.strip()]
        # A rotated key file still opens old rows when the environment took over.
        if path.exists():
            previous += [k for k in _read_key_file(path) if k not in previous]
        current = _check_key(env_key, MASTER_KEY_ENV)
        return MasterKeys(current, tuple(k for k in previous if k != current), "env", None)
    if not path.exists():
        if not create:
            return None
        _create_key_file(path)
    keys = _read_key_file(path)
    return MasterKeys(keys[0], tuple(keys[1:]), "file", path)


def _read_key_file(path: Path) -> list[bytes]:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise StorageError(f"Master key file {path} is readable by others (mode {mode:o}). "
                           f"Run `chmod 600 {path}` and retry.")
    lines = [line for line in path.read_text(encoding="ascii").splitlines() if line.strip()]
    if not lines:
        raise StorageError(f"Master key file {path} is empty. Restore it from a backup, or move it away "
                           "to start a new key (secrets encrypted with the old key become unreadable).")
    return [_check_key(line, str(path)) for line in lines]


def _write_private(path: Path, keys: list[bytes], *, exclusive: bool) -> bool:
    """Write ``keys`` to ``path`` with mode 0600 via a temp file; ``exclusive`` links instead of
    replacing, so two processes creating the first key agree on one. Returns False if it lost."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(b"\n".join(keys) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
        else:
            os.replace(tmp, path)
            tmp = ""
        return True
    finally:
        if tmp:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass


def _create_key_file(path: Path) -> None:
    _write_private(path, [_fernet_module().Fernet.generate_key()], exclusive=True)


def rotate_key_file(home: Path) -> MasterKeys:
    """Make a new current key in the key file; the old ones stay, after it, for reading.

    Refused when the key comes from the environment: the caller owns that key, so rotating
    means setting a new ``KROMA_MASTER_KEY`` and listing the old one in ``KROMA_MASTER_KEY_PREVIOUS``.
    """
    if os.environ.get(MASTER_KEY_ENV, "").strip():
        raise ConfigError(f"The master key comes from {MASTER_KEY_ENV}: set a new key there and put the "
                          f"old one in {PREVIOUS_KEYS_ENV}, then run `kroma secrets rotate` to re-encrypt "
                          "under it.")
    current = load_master_keys(home, create=True)
    assert current is not None
    _write_private(key_file_path(home), [_fernet_module().Fernet.generate_key(), current.current, *current.previous],
                   exclusive=False)
    rotated = load_master_keys(home, create=False)
    assert rotated is not None
    return rotated


def looks_encrypted(token: str) -> bool:
    """True for a Fernet token (version byte 0x80 -> text starts with ``gAAAAA``)."""
    return token.startswith("gAAAAA")
