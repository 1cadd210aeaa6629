"""Staff passwords: argon2id hashes (argon2-cffi's defaults), and what a new password must be."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from shared.errors import InvalidInput

MIN_PASSWORD_LENGTH = 10
# Hashing cost grows with the input; nobody types more than this.
MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHasher()


class WeakPassword(InvalidInput):
    pass


def check_new_password(password: str, *, username: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(
            f"The password is too short: use at least {MIN_PASSWORD_LENGTH} characters "
            "(a few unrelated words make a good one)."
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"The password is too long: at most {MAX_PASSWORD_LENGTH} characters.")
    if password.strip().lower() == username.strip().lower():
        raise WeakPassword("The password must not be the username.")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's: rehash at next sign-in."""
    return _hasher.check_needs_rehash(password_hash)


@cache
def _decoy_hash() -> str:
    return _hasher.hash("not anybody's password")


def spend_verify_time(password: str) -> None:
    """Verify against a decoy, so an unknown username costs as long as a wrong password."""
    verify_password(_decoy_hash(), password)
