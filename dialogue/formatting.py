"""Small wording helpers shared by the flows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialogue.directory import Person
from dialogue.surveys import Occurrence


def zone(name: str) -> ZoneInfo:
    """The named zone, or UTC when the name is unknown (a bad directory entry must not stop delivery)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def when(at: datetime, person: Person | None = None) -> str:
    """A moment in the person's own time zone, e.g. ``Thu 26 Nov 09:00``."""
    local = at.astimezone(zone(person.time_zone)) if person else at
    return local.strftime("%a %d %b %H:%M")


def day(at: datetime, person: Person | None = None) -> str:
    """A date in the person's own time zone, e.g. ``Mon 23 Nov``."""
    local = at.astimezone(zone(person.time_zone)) if person else at
    return local.strftime("%a %d %b")


def run_day(run: Occurrence, person: Person | None = None) -> str:
    """The day a run is for, e.g. ``Mon 07 Dec``: a local-time run's own day, the same wherever it went (it
    reached Auckland on Sunday evening by London's clock), else the day it opened, in the person's zone."""
    return run.wall_day.strftime("%a %d %b") if run.wall_day else day(run.opens_at, person)


def shorten(text: str, limit: int = 80) -> str:
    """The text on one line, cut at ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 vote``, ``2 votes``."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def rounded(value: float, places: int = 0) -> Decimal:
    """``value`` rounded as people round, halves away from zero (eNPS +12.5 is +13, a mean of 3.25 is 3.3,
    62.5% is 63%), not to the even neighbour as Python's ``round`` does, nor by binary floating point."""
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def percents(parts: Sequence[int]) -> list[str]:
    """Each of ``parts`` as a whole percentage of their sum, adding up to 100% (the largest remainders are
    rounded up: "34%, 33%, 34%" read as a mistake)."""
    whole = sum(parts)
    if not whole:
        return ["0%"] * len(parts)
    exact = [100 * part / whole for part in parts]
    shares = [int(share) for share in exact]
    by_remainder = sorted(range(len(parts)), key=lambda n: exact[n] - shares[n], reverse=True)
    for n in by_remainder[: 100 - sum(shares)]:
        shares[n] += 1
    return [f"{share}%" for share in shares]


def percent(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a whole percentage, e.g. ``63%``."""
    return f"{rounded(100 * part / whole) if whole else 0}%"
