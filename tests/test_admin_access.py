"""Who may change the Space: owner and ADMIN_USERS, nobody else."""

from __future__ import annotations

from admin.access import Role, authorize
from settings import load_settings


def settings(**env: str):
    return load_settings({"ADMIN_SPACE_ID": "alice/demo", **env})


def test_anonymous_is_refused_and_asked_to_sign_in() -> None:
    decision = authorize(None, settings(SPACE_AUTHOR_NAME="alice"))
    assert not decision.allowed and decision.role == Role.ANONYMOUS == "anonymous"
    assert "Sign in" in decision.reason
    assert not authorize("", settings(SPACE_AUTHOR_NAME="alice")).allowed


def test_signed_in_stranger_is_refused_and_told_who_may() -> None:
    decision = authorize("mallory", settings(SPACE_AUTHOR_NAME="alice", ADMIN_USERS="bob"))
    assert not decision.allowed and decision.role == Role.VISITOR
    assert "alice, bob" in decision.reason


def test_owner_may_act() -> None:
    decision = authorize("alice", settings(SPACE_AUTHOR_NAME="alice"))
    assert decision.allowed and decision.role == Role.OWNER


def test_admin_users_member_may_act() -> None:
    decision = authorize("bob", settings(SPACE_AUTHOR_NAME="alice", ADMIN_USERS="carol, bob"))
    assert decision.allowed and decision.role == Role.ADMIN


def test_names_match_exactly() -> None:
    s = settings(SPACE_AUTHOR_NAME="alice", ADMIN_USERS="bob")
    for near in ("Alice", "alice ", "alic", "BOB", "alice,bob"):
        assert not authorize(near, s).allowed, near


def test_organisation_space_needs_admin_users() -> None:
    """Nobody signs in as an organisation, so only ADMIN_USERS can act on an org's Space."""
    org = settings(SPACE_AUTHOR_NAME="acme-org")
    assert not authorize("alice", org).allowed
    assert authorize("alice", settings(SPACE_AUTHOR_NAME="acme-org", ADMIN_USERS="alice")).allowed


def test_nobody_configured_means_nobody_may_act() -> None:
    decision = authorize("alice", settings())
    assert not decision.allowed
    assert "ADMIN_USERS" in decision.reason and "SPACE_AUTHOR_NAME" in decision.reason
