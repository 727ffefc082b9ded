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

from dialogue.surveys import Answer, ItemKind, Recipient, SurveyItem, Tally

K = TypeVar("K", bound=Hashable)

TOO_FEW = "fewer than {k} answers"
PROTECTS = "withheld so a smaller group can't be worked out"
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
    def rate(self) -> float:
        """Response rate, 0..1."""
        return self.responded / self.invited if self.invited else 0.0


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


def answer_value(item: SurveyItem, answer: Answer) -> str | None:
    """The answer as an option value, or None when it was skipped or is free text."""
    if item.kind.numeric or item.kind is ItemKind.CHOICE:
        return None if answer.number is None else str(answer.number)
    if item.kind is ItemKind.YES_NO:
        return None if answer.number is None else ("yes" if answer.number else "no")
    return None


def figures(item: SurveyItem, label: str, answers: Sequence[Answer], withheld: str = "") -> Figures:
    """Compute one group's figures (nothing but ``n`` when withheld)."""
    if withheld:
        return Figures(label=label, n=len(answers), withheld=withheld)
    values = [v for a in answers if (v := answer_value(item, a)) is not None]
    tally = Counter(values)
    counts = tuple((lbl, tally.get(value, 0)) for value, lbl in option_labels(item))
    mean = enps = None
    if item.kind.numeric and values:
        numbers = [int(v) for v in values]
        mean = round(sum(numbers) / len(numbers), 2)
        if item.kind is ItemKind.ENPS:
            promoters = sum(1 for x in numbers if x >= 9)
            detractors = sum(1 for x in numbers if x <= 6)
            enps = round(100 * (promoters - detractors) / len(numbers))
    return Figures(label=label, n=len(answers), mean=mean, enps=enps, counts=counts)


def _given(item: SurveyItem, answer: Answer) -> bool:
    """True unless the answer was a skip."""
    if item.kind is ItemKind.TEXT:
        return bool(answer.text)
    return answer.number is not None


def summarise(
    *,
    items: Sequence[SurveyItem],
    recipients: Sequence[Recipient],
    answers: Sequence[Answer],
    team_names: Mapping[int | None, str],
    k: int,
) -> RunResult:
    """Results of a run, with every group under ``k`` (and any group that would expose one) withheld."""
    responded = len({a.respondent for a in answers})
    results: list[ItemResult] = []
    for item in items:
        given = [a for a in answers if a.item_id == item.id and _given(item, a)]
        by_team: dict[int | None, list[Answer]] = {}
        for answer in given:
            by_team.setdefault(answer.team_id, []).append(answer)
        overall_reason = TOO_FEW.format(k=k) if len(given) < k else ""
        hidden = suppressed({team: len(group) for team, group in by_team.items()}, k)
        teams = tuple(
            figures(item, team_names.get(team, OTHER_TEAMS), group, hidden.get(team, ""))
            for team, group in sorted(by_team.items(), key=lambda kv: team_names.get(kv[0], OTHER_TEAMS))
        )
        # Free text is shown only overall and only when enough people wrote some.
        texts = (
            tuple(a.text for a in given if a.text)
            if item.kind is ItemKind.TEXT and not overall_reason
            else ()
        )
        results.append(
            ItemResult(
                item=item,
                overall=figures(item, "Everyone", given, overall_reason),
                teams=teams if len(teams) > 1 else (),
                texts=tuple(sorted(texts)),
            )
        )
    return RunResult(invited=len(recipients), responded=responded, items=tuple(results))


def overall_from_tally(item: SurveyItem, tally: Tally | None, k: int) -> Figures:
    """A numeric item's overall figures from its :class:`Tally`: the same withholding, mean and eNPS as
    :func:`summarise` gives, without reading every answer (no option counts)."""
    n = tally.n if tally is not None else 0
    if tally is None or n < k or not n:
        return Figures(label="Everyone", n=n, withheld=TOO_FEW.format(k=k) if n < k else "")
    enps = None
    if item.kind is ItemKind.ENPS:
        enps = round(100 * (tally.promoters - tally.detractors) / n)
    return Figures(label="Everyone", n=n, mean=round(tally.total / n, 2), enps=enps)
