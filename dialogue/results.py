"""Survey results under the minimum-group-size rule (k-anonymity), as pure functions.

A group with fewer than ``k`` answers is withheld. So is any further group whose figures,
together with the overall figure, would let someone subtract their way to a withheld
group: withheld groups are topped up with the next smallest ones until the withheld
answers together number at least ``k`` (or every group is withheld).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from dialogue.formatting import percent, rounded
from dialogue.surveys import Answer, ItemKind, NumberCount, Recipient, RunCounts, SurveyItem, Tally

K = TypeVar("K", bound=Hashable)

TOO_FEW = "fewer than {k} answers"
PROTECTS = "so a smaller group can't be worked out"
# People without a team, and teams too small to show apart, are counted together.
OTHER_TEAMS = "Other teams"


def suppressed(sizes: Mapping[K, int], k: int) -> dict[K, str]:
    """Which groups to withhold and why: primary (``n < k``) then complementary suppression."""
    withheld = {group: TOO_FEW.format(k=k) for group, n in sizes.items() if n < k}
    if not withheld:
        return withheld
    hidden_total = sum(sizes[g] for g in withheld)
    # The overall figure minus the shown groups reveals the withheld ones together, so that
    # sum must itself reach k; a single withheld group is always exposed otherwise.
    for group, n in sorted(sizes.items(), key=lambda kv: (kv[1], str(kv[0]))):
        if hidden_total >= k:
            break
        if group not in withheld:
            withheld[group] = PROTECTS
            hidden_total += n
    return withheld


@dataclass(frozen=True)
class Figures:
    """The figures of one group for one item, or why they are withheld."""

    label: str
    n: int
    withheld: str = ""  # the reason, empty when shown
    mean: float | None = None
    enps: int | None = None
    counts: tuple[tuple[str, int], ...] = ()  # (option label, count) in option order


@dataclass(frozen=True)
class ItemResult:
    """Results of one item: overall, per team, and free text when the group is big enough."""

    item: SurveyItem
    overall: Figures
    teams: tuple[Figures, ...]
    texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunResult:
    """Results of one run of a survey."""

    invited: int
    responded: int
    items: tuple[ItemResult, ...]

    @property
    def share(self) -> str:
        """Response rate as a whole percentage, e.g. ``45%``."""
        return percent(self.responded, self.invited)


def option_labels(item: SurveyItem) -> list[tuple[str, str]]:
    """``(value, label)`` pairs of an item's possible answers, in order."""
    if item.kind is ItemKind.SCALE:
        return [(str(v), str(v)) for v in range(1, 6)]
    if item.kind is ItemKind.ENPS:
        return [(str(v), str(v)) for v in range(11)]
    if item.kind is ItemKind.YES_NO:
        return [("yes", "Yes"), ("no", "No")]
    if item.kind is ItemKind.CHOICE:
        return [(str(i), label) for i, label in enumerate(item.options)]
    return []


def _value(item: SurveyItem, number: int) -> str:
    """A numeric, choice or yes/no answer as an option value."""
    if item.kind is ItemKind.YES_NO:
        return "yes" if number else "no"
    return str(number)


def figures(item: SurveyItem, label: str, n: int, numbers: Mapping[int, int], withheld: str = "") -> Figures:
    """One group's figures from its ``n`` answers, ``numbers`` counting how many gave each number
    (nothing but ``n`` when withheld)."""
    if withheld:
        return Figures(label=label, n=n, withheld=withheld)
    tally: Counter[str] = Counter()
    for number, count in numbers.items():
        tally[_value(item, number)] += count
    counts = tuple((lbl, tally[value]) for value, lbl in option_labels(item))
    mean = enps = None
    given = sum(numbers.values())
    if item.kind.numeric and given:
        mean = sum(number * count for number, count in numbers.items()) / given
        if item.kind is ItemKind.ENPS:
            promoters = sum(count for number, count in numbers.items() if number >= 9)
            detractors = sum(count for number, count in numbers.items() if number <= 6)
            enps = int(rounded(100 * (promoters - detractors) / given))
    return Figures(label=label, n=n, mean=mean, enps=enps, counts=counts)


def count_answers(answers: Sequence[Answer]) -> RunCounts:
    """Count answers as :meth:`dialogue.ports.SurveyRepo.counts` does in the database, groups in the
    order of their first answer."""
    numbers = Counter((a.item_id, a.team_id, a.number) for a in answers if a.number is not None)
    return RunCounts(
        respondents=len({a.respondent for a in answers}),
        numbers=tuple(
            NumberCount(item_id, team_id, number, count)
            for (item_id, team_id, number), count in numbers.items()
        ),
    )


def summarise_counts(
    *,
    items: Sequence[SurveyItem],
    invited: int,
    counts: RunCounts,
    texts: Sequence[Answer],
    team_names: Mapping[int | None, str],
    k: int,
) -> RunResult:
    """Results of a run from its counted answers, with every group under ``k`` (and any group that would
    expose one) withheld. ``texts``: the answers to its free-text items (others are ignored)."""
    numbers: dict[int, dict[int | None, Counter[int]]] = {}
    for group in counts.numbers:
        tally = numbers.setdefault(group.item_id, {}).setdefault(group.team_id, Counter())
        tally[group.number] += group.count
    written: dict[int, list[tuple[int | None, str]]] = {}
    for answer in texts:
        if answer.text:
            written.setdefault(answer.item_id, []).append((answer.team_id, answer.text))
    results: list[ItemResult] = []
    for item in items:
        # Teams in the order of their first answer, which sorting by label keeps among equal labels.
        if item.kind is ItemKind.TEXT:
            words = written.get(item.id, [])
            by_team: dict[int | None, Counter[int]] = {}
            sizes = dict(Counter(team for team, _ in words))
        else:
            words = []
            by_team = numbers.get(item.id, {})
            sizes = {team: sum(tally.values()) for team, tally in by_team.items()}
        total = sum(sizes.values())
        overall_reason = TOO_FEW.format(k=k) if total < k else ""
        hidden = suppressed(sizes, k)
        teams = tuple(
            figures(item, team_names.get(team, OTHER_TEAMS), n, by_team.get(team, {}), hidden.get(team, ""))
            for team, n in sorted(sizes.items(), key=lambda kv: team_names.get(kv[0], OTHER_TEAMS))
        )
        everyone: Counter[int] = Counter()
        for tally in by_team.values():
            everyone.update(tally)
        results.append(
            ItemResult(
                item=item,
                overall=figures(item, "Everyone", total, everyone, overall_reason),
                # One team alone repeats Everyone, but says whose figures they are (a pulse to everyone
                # that one team answered).
                teams=teams if len(teams) > 1 or not overall_reason else (),
                # Free text is shown only overall and only when enough people wrote some.
                texts=tuple(sorted(text for _, text in words)) if not overall_reason else (),
            )
        )
    return RunResult(invited=invited, responded=counts.respondents, items=tuple(results))


def summarise(
    *,
    items: Sequence[SurveyItem],
    recipients: Sequence[Recipient],
    answers: Sequence[Answer],
    team_names: Mapping[int | None, str],
    k: int,
) -> RunResult:
    """Results of a run from every one of its answers: :func:`summarise_counts` over :func:`count_answers`."""
    return summarise_counts(
        items=items,
        invited=len(recipients),
        counts=count_answers(answers),
        texts=answers,
        team_names=team_names,
        k=k,
    )


def overall_from_tally(item: SurveyItem, tally: Tally | None, k: int) -> Figures:
    """A numeric item's overall figures from its :class:`Tally`: the same withholding, mean and eNPS as
    :func:`summarise` gives, without reading every answer (no option counts)."""
    n = tally.n if tally is not None else 0
    if tally is None or n < k or not n:
        return Figures(label="Everyone", n=n, withheld=TOO_FEW.format(k=k) if n < k else "")
    enps = None
    if item.kind is ItemKind.ENPS:
        enps = int(rounded(100 * (tally.promoters - tally.detractors) / n))
    return Figures(label="Everyone", n=n, mean=tally.total / n, enps=enps)
