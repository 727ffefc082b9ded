"""The minimum-group-size rule, including groups that could be worked out by subtraction."""

from __future__ import annotations

from itertools import combinations

import pytest

from dialogue.results import PROTECTS, summarise, suppressed
from dialogue.surveys import Answer, ItemKind, Recipient, SurveyItem

K = 5


def test_groups_at_or_above_k_are_shown() -> None:
    assert suppressed({"a": 5, "b": 9}, K) == {}


def test_a_single_small_group_takes_the_next_smallest_with_it() -> None:
    # Overall minus the shown groups would reveal a lone withheld group exactly.
    hidden = suppressed({"big": 20, "mid": 6, "small": 2}, K)
    assert set(hidden) == {"small", "mid"}
    assert hidden["mid"] == PROTECTS


def test_two_small_groups_that_together_reach_k_need_no_more() -> None:
    assert set(suppressed({"a": 3, "b": 2, "c": 10}, K)) == {"a", "b"}


def test_small_groups_below_k_together_are_topped_up() -> None:
    assert set(suppressed({"a": 1, "b": 2, "c": 6, "d": 8}, K)) == {"a", "b", "c"}


@pytest.mark.parametrize(
    "sizes",
    [
        {"a": 1, "b": 7, "c": 9},
        {"a": 4, "b": 4, "c": 30},
        {"a": 2, "b": 2, "c": 5, "d": 5},
        {"a": 0, "b": 6},
        {"a": 3, "b": 3},
    ],
)
def test_no_withheld_group_can_be_derived_by_subtraction(sizes: dict[str, int]) -> None:
    hidden = suppressed(sizes, K)
    # What anyone can derive: the overall figure minus every shown group = all hidden ones together.
    assert all(g in hidden for g in sizes if sizes[g] < K)
    if hidden:
        assert sum(sizes[g] for g in hidden) >= K or set(hidden) == set(sizes)
    # and no shown group is itself under k
    assert all(sizes[g] >= K for g in sizes if g not in hidden)


def _answers(item: SurveyItem, values: dict[int | None, list[int]]) -> list[Answer]:
    out = []
    for team, numbers in values.items():
        for i, number in enumerate(numbers):
            out.append(Answer(1, item.id, f"r{team}-{i}", team, number=number))
    return out


def test_summary_shows_mean_and_withholds_small_team() -> None:
    item = SurveyItem(id=1, position=1, kind=ItemKind.SCALE, text="I can suggest improvements")
    answers = _answers(item, {1: [4, 4, 5, 3, 4, 5], 2: [2, 3, 3, 4, 5], 3: [1, 1]})
    recipients = [Recipient(i, 1) for i in range(20)]
    result = summarise(
        items=[item],
        recipients=recipients,
        answers=answers,
        team_names={1: "Housing", 2: "Repairs", 3: "Tiny"},
        k=K,
    )
    overall = result.items[0].overall
    assert overall.n == 13 and not overall.withheld
    assert overall.mean == pytest.approx(sum(a.number or 0 for a in answers) / 13, abs=0.01)
    teams = {f.label: f for f in result.items[0].teams}
    assert teams["Tiny"].withheld and teams["Tiny"].mean is None
    # Repairs (5) is the next smallest: it is withheld too, or Tiny = overall - Housing - Repairs.
    assert teams["Repairs"].withheld == PROTECTS
    assert not teams["Housing"].withheld and teams["Housing"].mean == pytest.approx(25 / 6, abs=0.01)
    assert result.responded == 13 and result.invited == 20


def test_enps_score_and_small_overall_withheld() -> None:
    item = SurveyItem(id=2, position=1, kind=ItemKind.ENPS, text="Recommend?")
    answers = _answers(item, {1: [10, 9, 9, 7, 3, 0]})
    result = summarise(items=[item], recipients=[], answers=answers, team_names={1: "A"}, k=K)
    # 3 promoters, 2 detractors of 6 -> +17
    assert result.items[0].overall.enps == 17
    few = summarise(items=[item], recipients=[], answers=answers[:4], team_names={1: "A"}, k=K)
    assert few.items[0].overall.withheld and few.items[0].overall.enps is None


def test_free_text_is_shown_only_when_enough_people_wrote() -> None:
    item = SurveyItem(id=3, position=1, kind=ItemKind.TEXT, text="One thing?")
    texts = [Answer(1, 3, f"r{i}", 1, text=f"idea {i}") for i in range(4)]
    assert summarise(items=[item], recipients=[], answers=texts, team_names={}, k=K).items[0].texts == ()
    texts.append(Answer(1, 3, "r9", 1, text="idea 9"))
    shown = summarise(items=[item], recipients=[], answers=texts, team_names={}, k=K).items[0].texts
    assert sorted(shown) == sorted(a.text or "" for a in texts)


def test_every_combination_of_team_sizes_is_safe() -> None:
    sizes = [0, 1, 2, 4, 5, 6, 11]
    for combo in combinations(sizes, 3):
        groups = {f"t{i}": n for i, n in enumerate(combo)}
        hidden = suppressed(groups, K)
        hidden_total = sum(groups[g] for g in hidden)
        assert not hidden or hidden_total >= K or len(hidden) == len(groups), groups
