"""Keyed hashes that let the bot reply to, or de-duplicate, anonymous people without knowing them.

A route or respondent key is ``HMAC(secret, scope | person id)``. The scope (an idea,
a question, a pulse run) makes keys unlinkable across items. Nothing stored maps a key
back to a person; the bot finds the person only in memory, by hashing candidates.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime

from dialogue.directory import Person


class Pseudonymiser:
    """Makes and resolves pseudonymous keys with a secret kept outside the database."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the anonymity secret must be at least 16 bytes")
        self._secret = secret

    def _tag(self, scope: str, person_id: int) -> str:
        digest = hmac.new(self._secret, f"{scope}|{person_id}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def route(self, scope: str, person_id: int) -> str:
        """A reply-only route to ``person_id`` for ``scope`` (e.g. ``"idea:12"``)."""
        return f"{scope}#{self._tag(scope, person_id)}"

    def owns(self, route: str, person_id: int) -> bool:
        """True when ``route`` leads to ``person_id`` (used to recognise the author themself)."""
        scope, _, tag = route.rpartition("#")
        return hmac.compare_digest(tag, self._tag(scope, person_id))

    def receipt(self, what: str) -> str:
        """A keyed digest of ``what`` (who sent which form from which card, with what in it), kept to
        recognise it if it comes again: without the secret nobody can tell whose it was or what it said."""
        return hmac.new(self._secret, f"receipt|{what}".encode(), hashlib.sha256).hexdigest()[:40]

    def fingerprint(self) -> str:
        """Tells this secret from another without giving it away (kept in the database to check that every
        process uses the same one)."""
        return hmac.new(self._secret, b"fingerprint of the anonymity secret", hashlib.sha256).hexdigest()[:32]

    def resolve(self, route: str, people: Iterable[Person]) -> Person | None:
        """The person the route leads to, found by hashing each candidate; None if nobody."""
        for person in people:
            if self.owns(route, person.id):
                return person
        return None

    def respondent(self, occurrence_id: int, person_id: int) -> str:
        """The key an anonymous answer is stored under: one per person per run, unlinkable across runs."""
        return self._tag(f"answer:{occurrence_id}", person_id)


def coarse(at: datetime) -> datetime:
    """The hour ``at`` falls in: an anonymous item keeps no exact time to match against activity or logs."""
    return at.replace(minute=0, second=0, microsecond=0)
