"""Staff logins and their groups, from a users file of `name:password:group,group` lines.

A password is stored either as written or hashed with scrypt (`rag users add` writes hashed ones:
`scrypt$<salt>$<hash>`, hex). The older login formats map onto this one: `--auth-file` and
$RAG_AUTH hold `user:password` lines (the password may contain colons), users without groups, so
they read the documents everyone may read and nothing else.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import RagError

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()
    secret: str = field(default="", repr=False)  # the password, or its scrypt hash


ANONYMOUS = User("")  # the asker when the server has no logins: reads what everyone may read


class Users:
    """The logins a server accepts."""

    def __init__(self, users: Iterable[User]):
        self.by_name = {u.name: u for u in users}
        if not self.by_name:
            raise RagError("no users: a login needs at least one")

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> Users:
        """Users without groups from (user, password) pairs (the --auth-file and $RAG_AUTH format)."""
        return cls(User(name, (), password) for name, password in pairs)

    def authenticate(self, name: str, password: str) -> User | None:
        """The user, when `password` is theirs; None otherwise. An unknown name costs the same time as
        a wrong password, so timing does not tell which names exist."""
        user = self.by_name.get(name)
        ok = check_secret(user.secret if user else _DECOY, password)
        return user if ok and user is not None else None

    def get(self, name: str | None) -> User | None:
        return self.by_name.get(name or "")


_DECOY = "scrypt$00$00"


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_secret(secret: str, password: str) -> bool:
    """Whether `password` matches a stored secret (plain, or scrypt$salt$hash), in constant time."""
    kind, _, rest = secret.partition("$")
    if kind == "scrypt" and rest.count("$") == 1:
        salt, _, expected = rest.partition("$")
        try:
            digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), **_SCRYPT)
            return secrets.compare_digest(digest, bytes.fromhex(expected))
        except ValueError:
            return False
    return secrets.compare_digest(secret.encode(), password.encode())


def entries(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of a logins file's lines, stripped, skipping blank ones and # comments."""
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            yield number, line


def parse_users(text: str, origin: str) -> Users:
    """Users from `name:password:group,group` lines (groups may be empty: `name:password:`); a bad
    line is a RagError naming `origin` and the line number."""
    from rag.indexing import check_groups

    users = []
    for number, line in entries(text):
        name, _, rest = line.partition(":")
        password, colon, groups = rest.rpartition(":")
        if not name.strip() or not colon or not password:
            raise RagError(f"{origin}, line {number}: expected name:password:group,group (groups may be empty)")
        try:
            names = check_groups(groups.split(",")) if groups.strip() else ()
        except RagError as exc:
            raise RagError(f"{origin}, line {number}: {exc}") from None
        users.append(User(name.strip(), names, password))
    if not users:
        raise RagError(f"{origin} holds no name:password:groups line")
    return Users(users)


def load_users(path: str | Path) -> Users:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RagError(f"{path}: cannot read the users file ({exc.strerror or exc})") from None
    return parse_users(text, str(path))


def add_user(path: str | Path, name: str, password: str, groups: Sequence[str]) -> None:
    """Write (or replace) `name` in the users file with a hashed password; the file is rewritten
    atomically, other lines kept as they were."""
    from rag.indexing import check_groups

    if not name or ":" in name or name != name.strip():
        raise RagError(f"a user name must be non-empty, without colons or surrounding spaces: {name!r}")
    if not password:
        raise RagError("the password is empty")
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    kept = [line for line in lines if line.strip().partition(":")[0].strip() != name]
    kept.append(f"{name}:{hash_password(password)}:{','.join(check_groups(groups))}")
    handle, staged = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write("\n".join(kept) + "\n")
        os.chmod(staged, 0o600)
        os.replace(staged, path)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise
