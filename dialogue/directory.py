"""People, teams and roles."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
PLACEHOLDER_GUID = "00000000-0000-0000-0000-000000000000"  # the docs' example, never anyone's


def is_entra_id(text: str) -> bool:
    """Whether ``text`` can be a Microsoft Entra id (an object, tenant or app id): a GUID, not all zeros."""
    return bool(GUID.match(text)) and text != PLACEHOLDER_GUID


class Role(StrEnum):
    """What a person may do. Everyone is staff; the others add rights."""

    STAFF = "staff"
    MANAGER = "manager"
    SENIOR_LEADER = "senior_leader"
    ADMIN = "admin"


@dataclass(frozen=True)
class Person:
    """One human, whatever platforms they use."""

    id: int
    handle: str
    display_name: str
    time_zone: str
    roles: frozenset[Role]
    team_ids: tuple[int, ...] = ()
    active: bool = True
    away_until: date | None = None  # back on this day: pulses, check-ins and campaigns before it skip them
    quiet_hours: str | None = None  # their own, e.g. "09:00-16:00"; "" none; None: the organisation's

    @property
    def is_manager(self) -> bool:
        """Managers and senior leaders run the pipeline, answer questions and send pulses."""
        return bool(self.roles & {Role.MANAGER, Role.SENIOR_LEADER})

    @property
    def is_senior_leader(self) -> bool:
        """Senior leaders own check-ins and receive escalated questions."""
        return Role.SENIOR_LEADER in self.roles

    @property
    def is_admin(self) -> bool:
        """Admins moderate and read the moderation log."""
        return Role.ADMIN in self.roles


@dataclass(frozen=True)
class Team:
    """A team, optionally inside a parent team."""

    id: int
    name: str
    parent_id: int | None = None


@dataclass(frozen=True)
class Audience:
    """Who a campaign, pulse or check-in reaches: some teams (with their sub-teams) or everyone."""

    team_ids: tuple[int, ...] = ()

    @property
    def everyone(self) -> bool:
        """An empty team list means the whole organisation."""
        return not self.team_ids


def descendants(teams: Iterable[Team], roots: Iterable[int]) -> set[int]:
    """The given team ids and every team below them."""
    children: dict[int, list[int]] = {}
    for team in teams:
        if team.parent_id is not None:
            children.setdefault(team.parent_id, []).append(team.id)
    found: set[int] = set()
    stack = list(roots)
    while stack:
        team_id = stack.pop()
        if team_id in found:
            continue
        found.add(team_id)
        stack.extend(children.get(team_id, []))
    return found


def parse_roles(text: str) -> frozenset[Role]:
    """Parse ``"manager;admin"`` (also ``,`` or ``|`` or spaces); staff is always included."""
    roles = {Role.STAFF}
    for word in text.replace(",", " ").replace(";", " ").replace("|", " ").split():
        try:
            roles.add(Role(word.strip().lower().replace("-", "_")))
        except ValueError as exc:
            known = ", ".join(r.value for r in Role)
            raise ValueError(f"unknown role {word!r} (known: {known})") from exc
    return frozenset(roles)
