"""``away``: someone on leave (or off shift for weeks) is left out of the pulses, check-ins and idea
campaigns that start before they are back, so nothing pesters them and they do not count among those who
did not answer. News of what they asked or shared still comes: it waits in their chat for their return."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from dialogue.args import Args
from dialogue.directory import Person
from dialogue.errors import Refusal
from dialogue.flows.env import Env
from dialogue.formatting import zone
from dialogue.messages import Message, Reply
from dialogue.text import t

AWAY_MAX = timedelta(days=366)  # a year's leave at most: a date further off is most likely a slip
BACK_WORDS = {"off", "back", "cancel", "no", "none", "stop", "end"}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_NUMERIC = re.compile(r"(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2}|\d{4}))?")  # day first, as in the UK
_WORDS = re.compile(r"(?:\w+day\s+)?(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]{3,9})\.?(?:\s+(\d{4}))?")
_WORDS_US = re.compile(r"(?:\w+day\s+)?([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SPAN = re.compile(r"(?:for\s+)?(a|\d{1,3})\s+(day|week)s?")
EXAMPLE = "`away until 4 Jan` (or 4/1, Monday, next week, for 2 weeks)"
JUST_GONE = timedelta(days=62)  # a day without a year this long ago or less is a slip, not next year's


def is_away(person: Person, now: datetime) -> bool:
    """Whether ``person`` is away at ``now``: before the day they said they are back, where they are."""
    return person.away_until is not None and today(person, now) < person.away_until


def today(person: Person, now: datetime) -> date:
    """The date where the person is."""
    return now.astimezone(zone(person.time_zone)).date()


def parse_day(text: str, after: date) -> date:
    """The day ``text`` names: ``2027-01-04``, ``4/1/2027`` or ``4/1`` (day first), ``4 Jan``, ``Monday 4th
    January 2027``, ``Jan 4``; without a year, the first such day after ``after``, unless that day is
    ``after`` or came in the last two months (most likely a slip: taken as next year's, it left someone out of
    everything for a year). Also the day one is back from ``tomorrow``, ``Monday`` (the next), ``next week``
    (the Monday after it), ``for 2 weeks``. Raises Refusal."""
    said = text.strip().lower().rstrip(".")
    if said == "tomorrow":
        return after + timedelta(days=1)
    if said == "next week":
        return after + timedelta(days=14 - after.weekday())
    weekday = next((n for n, name in enumerate(_WEEKDAYS) if said in _weekday_words(name)), None)
    if weekday is not None:  # Monday is 0
        return after + timedelta(days=(weekday - after.weekday() - 1) % 7 + 1)
    if span := _SPAN.fullmatch(said):
        count = 1 if span[1] == "a" else int(span[1])
        return after + timedelta(days=count * (7 if span[2] == "week" else 1))
    day = month = year = None
    if match := _ISO.fullmatch(said):
        year, month, day = (int(part) for part in match.groups())
    elif match := _NUMERIC.fullmatch(said):
        day, month = int(match[1]), int(match[2])
        year = _year(match[3])
    elif (match := _WORDS.fullmatch(said)) and match[2][:3] in _MONTHS:
        day, month, year = int(match[1]), _MONTHS.index(match[2][:3]) + 1, _year(match[3])
    elif (match := _WORDS_US.fullmatch(said)) and match[1][:3] in _MONTHS:
        day, month, year = int(match[2]), _MONTHS.index(match[1][:3]) + 1, _year(match[3])
    if day is None or month is None:
        raise Refusal(f"I can't read “{text.strip()}” as a day. Write the day you're back, e.g. {EXAMPLE}.")
    try:
        if year:
            return date(year, month, day)
        found = date(after.year, month, day)
        if found > after:
            return found
        later = date(after.year + 1, month, day)
    except ValueError:
        raise Refusal(f"“{text.strip()}” is not a day in the calendar. Try again, e.g. {EXAMPLE}.") from None
    if after - found <= JUST_GONE:
        gone = "is today" if found == after else "has gone"
        raise Refusal(
            f"{found:%-d %B} {gone}. Write the day you're back, e.g. {EXAMPLE}; if you mean next year's, "
            f"with its year: `away until {later:%-d %b %Y}`."
        )
    return later


def _weekday_words(name: str) -> set[str]:
    """How a weekday is written: ``mon``, ``tues``, ``thurs``, ``monday``..."""
    return {name[:3], name[:4], name[:5], name}


def _year(typed: str | None) -> int | None:
    """A year as typed: ``2027`` or ``27``."""
    return None if not typed else int(typed) + (2000 if len(typed) == 2 else 0)


async def cmd_away(env: Env, me: Person, args: Args) -> Reply:
    """``away until <day>``: away until that day; ``away off``: back; ``away``: which it is."""
    now = today(me, env.now)
    said = re.sub(r"^(?:until|till|til|to|from now until)\s+", "", args.rest().strip(), flags=re.IGNORECASE)
    if not said:
        if is_away(me, env.now) and me.away_until is not None:
            return Reply(messages=(_away_message(me.away_until, now),))
        return Reply(
            messages=(
                Message(
                    t(
                        "You're not away: pulses, check-ins and idea campaigns reach you as usual. Going on "
                        f"leave? Write the day you're back, e.g. {EXAMPLE}."
                    )
                ),
            )
        )
    if said.lower() in BACK_WORDS:
        await env.tx.directory.set_away(me.id, None)
        back_again = t("Welcome back: pulses, check-ins and idea campaigns reach you again.")
        return Reply(messages=(Message(back_again),))
    back = parse_day(said, now)
    if back <= now:
        raise Refusal(f"{back:%-d %B %Y} has come already. Write the day you're back, e.g. {EXAMPLE}.")
    if back > now + AWAY_MAX:
        raise Refusal("That is more than a year away. Write the day you're back, within a year.")
    await env.tx.directory.set_away(me.id, back)
    return Reply(messages=(_away_message(back, now),))


def _away_message(back: date, now: date) -> Message:
    """What being away until ``back`` means; the year is said when it is not this one (a slip is seen)."""
    year = f" {back.year}" if back.year != now.year else ""
    return Message(
        t(
            f"You're away until {back:%A %-d %B}{year}: pulses, check-ins and idea campaigns that start "
            "before then leave you out (and you are not counted among those asked), and reminders stop. News "
            "of your ideas and questions still comes here, to read when you're back."
        ),
        context="`away off` if you're back sooner.",
    )
