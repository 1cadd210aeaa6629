"""Staff sign-in rules without I/O: password hashing, roles (admin may do everything), the
lock-out rule, where sign-in may send someone afterwards, and the session's identity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.auth.guards import safe_next
from shared.auth.lockout import LockoutPolicy
from shared.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    WeakPassword,
    check_new_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from shared.auth.roles import Role, may, parse_roles
from shared.auth.sessions import StaffIdentity
from shared.auth.settings import StaffAuthSettings
from shared.errors import InvalidInput

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_password_hash_is_argon2id_salted_and_verifies_only_its_password() -> None:
    first = hash_password("correct horse battery")
    second = hash_password("correct horse battery")
    assert first.startswith("$argon2id$")
    assert first != second  # salted
    assert verify_password(first, "correct horse battery")
    assert not verify_password(first, "correct horse battery ")
    assert not verify_password(first, "")
    assert not needs_rehash(first)


def test_a_broken_or_foreign_hash_never_verifies() -> None:
    assert not verify_password("not a hash", "anything")
    assert not verify_password("$2b$12$abcdefghijklmnopqrstuv", "anything")


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short", "too short"),
        ("x" * 2000, "too long"),
        ("SamSmith99", "must not be the username"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, why: str) -> None:
    with pytest.raises(WeakPassword, match=why):
        check_new_password(password, username="samsmith99")


def test_a_long_enough_password_is_accepted() -> None:
    check_new_password("a" * MIN_PASSWORD_LENGTH, username="sam")


def test_admin_may_do_everything_and_others_only_their_roles() -> None:
    assert may({Role.ADMIN}, {Role.STOCK})
    assert may({Role.ADMIN}, {Role.EDITOR, Role.PHONE_ORDERS})
    assert may({Role.STOCK}, {Role.STOCK})
    assert may({Role.EDITOR}, {Role.STOCK, Role.EDITOR})
    assert not may({Role.EDITOR}, {Role.STOCK})
    assert not may({Role.STOCK, Role.PHONE_ORDERS}, {Role.EDITOR})


def test_no_needed_role_means_any_staff_member_but_not_someone_without_roles() -> None:
    assert may({Role.EDITOR}, set())
    assert not may(set(), set())
    assert not may(set(), {Role.STOCK})


def test_role_names_are_checked_and_at_least_one_is_needed() -> None:
    assert parse_roles(["Stock", " editor "]) == {Role.STOCK, Role.EDITOR}
    with pytest.raises(InvalidInput, match="'manager' is not a staff role"):
        parse_roles(["manager"])
    with pytest.raises(InvalidInput, match="at least one role"):
        parse_roles([])


def test_five_failures_in_a_row_lock_for_fifteen_minutes() -> None:
    policy = LockoutPolicy(max_failures=5, lock_for=timedelta(minutes=15))
    for failures in range(1, 5):
        assert policy.after_failure(failures, NOW) == (failures, None)
    kept, locked_until = policy.after_failure(5, NOW)
    assert (kept, locked_until) == (0, NOW + timedelta(minutes=15))
    assert policy.is_locked(locked_until, NOW + timedelta(minutes=14, seconds=59))
    assert not policy.is_locked(locked_until, NOW + timedelta(minutes=15))
    assert not policy.is_locked(None, NOW)


def test_lockout_settings_are_configurable() -> None:
    policy = StaffAuthSettings(lockout_failures=3, lockout_minutes=2).lockout
    assert policy.after_failure(3, NOW) == (0, NOW + timedelta(minutes=2))
    with pytest.raises(ValueError):
        LockoutPolicy(max_failures=0)


@pytest.mark.parametrize(
    ("asked", "goes_to"),
    [
        ("/staff/stock?q=x", "/staff/stock?q=x"),
        ("", "/staff"),
        (None, "/staff"),
        ("https://evil.example/", "/staff"),
        ("//evil.example/", "/staff"),
        ("/\\evil.example", "/staff"),
        ("/staff\r\nSet-Cookie: x=1", "/staff"),
        ("staff", "/staff"),
    ],
)
def test_after_sign_in_only_a_path_on_this_site(asked: str | None, goes_to: str) -> None:
    assert safe_next(asked) == goes_to


def test_the_session_holds_the_identity_and_nothing_forged_passes() -> None:
    sam = StaffIdentity(
        staff_id="5b2c", username="sam", name="Sam Smith", roles=frozenset({Role.STOCK})
    )
    assert StaffIdentity.from_session(sam.to_session()) == sam
    assert StaffIdentity.from_session({}) is None
    assert StaffIdentity.from_session({"staff_id": "1", "roles": ["root"]}) is None
    assert StaffIdentity.from_session({"staff_id": "1", "roles": []}) is None


def test_a_short_configured_secret_key_is_refused() -> None:
    with pytest.raises(ValueError, match="too short"):
        StaffAuthSettings(secret_key="secret").resolved_secret_key()
