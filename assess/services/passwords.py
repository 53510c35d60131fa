"""Password policy and password-reset links.

The policy follows NIST SP 800-63B and OWASP ASVS 5.0 V6.2: at least 12 characters,
any characters, no composition rules, no expiry; refused are common passwords (a
list of 10,000, `assess/data/common-passwords.txt`), their obvious variants (a
common password with digits or symbols around it, a repeated word), runs such as
"123456789012" and passwords made of the email address or the name of the service.

A reset link is a random token of 256 bits, mailed once; only its SHA-256 is stored
(`PasswordReset.token_hash`). It works once, for one hour, and every other link of
the user dies with it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import PasswordReset, User

MIN_LENGTH = 12
MAX_LENGTH = 1024
RESET_LIFETIME = timedelta(hours=1)
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt"
#: Words anyone would try first against this service.
CONTEXT_WORDS = ("assess", "survey", "kysely", "enkät", "enkat", "network", "verkosto",
                 "nätverk", "natverk", "maturity", "kypsyys", "mognad")
_SEQUENCES = ("0123456789" * 3, "abcdefghijklmnopqrstuvwxyz" * 2, "qwertyuiopasdfghjklzxcvbnm",
              "azertyuiopqsdfghjklmwxcvbn", "qwertzuiopasdfghjklyxcvbnm")
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_NOT_LETTERS = re.compile(r"[\W\d_]+")

#: The English text of each problem (the CLI's); the web forms translate the codes.
PROBLEMS = {
    "too_short": f"The password must be at least {MIN_LENGTH} characters long.",
    "too_long": f"The password is too long (at most {MAX_LENGTH} characters).",
    "common": "The password is too common: it is, or is made from, a password that many "
              "people use. Choose another one, e.g. several unrelated words.",
    "sequence": "The password is too easy to guess: a repeated or consecutive run of "
                "characters. Choose another one.",
    "context": "The password is too easy to guess: it is made from your email address or the "
               "name of this service. Choose another one.",
}


class PasswordProblem(ValueError):
    """A password the policy refuses; `code` is a key of PROBLEMS."""

    def __init__(self, code: str):
        self.code = code
        super().__init__(PROBLEMS[code])


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The list file's passwords: every line after the header (which ends at an empty line)."""
    text = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8")
    _header, _, body = text.partition("\n\n")
    return frozenset(line for line in body.split("\n") if line)


def _is_repeated(text: str) -> bool:
    """'aaaaaaaaaaaa', 'abcabcabcabc', 'passwordpassword': a shorter unit over and over."""
    size = len(text)
    return any(size % unit == 0 and text == text[:unit] * (size // unit)
               for unit in range(1, size // 2 + 1))


def _is_run(text: str) -> bool:
    """Consecutive characters of a digit, alphabet or keyboard row, either way round."""
    return any(text in seq or text in seq[::-1] for seq in _SEQUENCES)


def password_problem(password: str, email: str | None = None) -> str | None:
    """The code of the first rule `password` breaks, or None when it may be used."""
    if len(password) < MIN_LENGTH:
        return "too_short"
    if len(password) > MAX_LENGTH:
        return "too_long"
    lowered = password.lower().strip()
    common = common_passwords()
    core = _EDGES.sub("", lowered)
    if lowered in common or (len(core) >= 4 and core in common):
        return "common"
    squeezed = lowered.replace(" ", "")
    candidates = [squeezed] + ([core] if len(core) >= MIN_LENGTH // 2 else [])
    if any(_is_repeated(text) or _is_run(text) for text in candidates):
        return "sequence"
    words = list(CONTEXT_WORDS)
    if email:
        local, _, domain = email.lower().partition("@")
        words += [local, email.lower()] + [part for part in re.split(r"[.\-_]", local + "."
                                                                      + domain) if len(part) >= 4]
    rest = lowered
    for word in sorted({w for w in words if len(w) >= 4}, key=len, reverse=True):
        rest = rest.replace(word, "")
    if rest != lowered and len(_NOT_LETTERS.sub("", rest)) < 4:
        return "context"
    return None


def check_password(password: str, email: str | None = None) -> None:
    """Raise PasswordProblem when the policy refuses `password`."""
    code = password_problem(password, email)
    if code is not None:
        raise PasswordProblem(code)


# -- reset links -------------------------------------------------------------------------------


def hash_reset_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_reset(session: Session, user: User) -> str:
    """A new reset link's token for `user` (flushed, not committed); only its hash is kept."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(PasswordReset(user_id=user.id, token_hash=hash_reset_token(token),
                              created_at=now, expires_at=now + RESET_LIFETIME))
    session.flush()
    return token


def find_reset(session: Session, token: str | None) -> PasswordReset | None:
    """The unused, unexpired reset of `token` whose user may log in; None for any other case."""
    if not token or len(token) > 100:
        token = ""
    reset = session.scalar(
        select(PasswordReset).where(PasswordReset.token_hash == hash_reset_token(token))
    )
    return find_reset_row(session, reset)


def find_reset_row(session: Session, reset: PasswordReset | None) -> PasswordReset | None:
    """`reset` if it is unused, unexpired and its user may log in; else None."""
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        return None
    user = session.get(User, reset.user_id)
    if user is None or not user.is_enabled:
        return None
    return reset


def use_reset(session: Session, reset: PasswordReset) -> bool:
    """Mark the link used, with every other open link of the user; False if it was used already.

    A conditional UPDATE, so two tabs submitting one link at the same moment cannot both
    set a password.
    """
    now = utcnow()
    claimed = session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    if not claimed:
        return False
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == reset.user_id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    return True
