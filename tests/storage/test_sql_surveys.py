"""The survey repository on both engines: definitions, runs, recipients and answers."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy import text as text_sql

from dialogue.directory import Audience
from dialogue.ports import Repositories
from dialogue.results import OTHER_TEAMS, overall_from_tally, summarise, summarise_counts
from dialogue.surveys import Answer, ItemKind, Occurrence, OccurrenceKind, Recipient, SurveyKind
from storage import SqlStore
from tests.storage.helpers import T0, at, person

PULSE = OccurrenceKind.PULSE
ITEMS = [
    (ItemKind.SCALE, "How was your week?", ()),
    (ItemKind.CHOICE, "Best day?", ("Mon", "Fri")),
    (ItemKind.TEXT, "Anything else?", ()),
]


def _survey_kwargs(**changes: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "name": "Weekly pulse",
        "kind": SurveyKind.PULSE,
        "items": ITEMS,
        "audience": Audience(),
        "anonymous": True,
        "owner_id": None,
        "open_hours": 72,
        "remind_after_hours": 24,
        "intro": "Hello",
    }
    kwargs.update(changes)
    return kwargs


async def _run(tx: Repositories, survey_id: int) -> Occurrence:
    """A run of the survey, open from T0 for ten minutes."""
    run = await tx.surveys.add_occurrence(
        key="run",
        kind=PULSE,
        target_id=survey_id,
        opens_at=T0,
        closes_at=at(10),
        remind_at=None,
        schedule_id=None,
    )
    assert run is not None
    return run


async def test_survey_definition_is_replaced_by_name_keeping_item_ids_by_position(store: SqlStore) -> None:
    async with store.transaction() as tx:
        boss = await person(tx, "boss")
        team = await tx.directory.upsert_team(name="Red", parent_id=None)
        survey = await tx.surveys.add_survey(**_survey_kwargs())
        assert [(i.position, i.kind, i.text, i.options) for i in survey.items] == [
            (1, ItemKind.SCALE, "How was your week?", ()),
            (2, ItemKind.CHOICE, "Best day?", ("Mon", "Fri")),
            (3, ItemKind.TEXT, "Anything else?", ()),
        ]
        checkin = await tx.surveys.add_survey(
            **_survey_kwargs(name="Check-in", kind=SurveyKind.CHECKIN, owner_id=boss.id)
        )
    async with store.transaction() as tx:
        replaced = await tx.surveys.add_survey(
            **_survey_kwargs(
                name="WEEKLY PULSE",
                items=[(ItemKind.ENPS, "Recommend us?", ()), ITEMS[1]],
                audience=Audience((team.id,)),
                anonymous=False,
                open_hours=24,
                remind_after_hours=None,
                intro="Hi again",
            )
        )
        assert replaced.id == survey.id
        assert replaced.name == "Weekly pulse"
        assert [i.id for i in replaced.items] == [i.id for i in survey.items[:2]]
        assert [(i.kind, i.text) for i in replaced.items] == [
            (ItemKind.ENPS, "Recommend us?"),
            (ItemKind.CHOICE, "Best day?"),
        ]
        assert (replaced.audience, replaced.anonymous, replaced.open_hours) == (
            Audience((team.id,)),
            False,
            24,
        )
        assert (replaced.remind_after_hours, replaced.intro) == (None, "Hi again")
        assert await tx.surveys.get_survey(survey.id) == replaced
        assert await tx.surveys.survey_by_name("weekly PULSE") == replaced
        assert await tx.surveys.survey_by_name("other") is None
        assert await tx.surveys.surveys() == [replaced, checkin]
        assert await tx.surveys.surveys(SurveyKind.CHECKIN) == [checkin]
        assert checkin.owner_id == boss.id
        assert await tx.surveys.get_survey(survey.id + 100) is None


async def test_occurrences_are_created_once_per_key(store: SqlStore) -> None:
    async with store.transaction() as tx:
        schedule = await tx.schedules.set_schedule(kind=PULSE, target_id=1, cron="0 9 * * *", time_zone="UTC")
        first = await tx.surveys.add_occurrence(
            key="schedule:1:a",
            kind=PULSE,
            target_id=1,
            opens_at=at(0),
            closes_at=at(60),
            remind_at=at(30),
            schedule_id=schedule.id,
        )
        assert first is not None
        assert (first.key, first.kind, first.target_id, first.schedule_id) == (
            "schedule:1:a",
            PULSE,
            1,
            schedule.id,
        )
        assert (first.opens_at, first.closes_at, first.remind_at) == (at(0), at(60), at(30))
        assert (first.closed, first.reminded, first.reply_text) == (False, False, "")
        repeat = await tx.surveys.add_occurrence(
            key="schedule:1:a",
            kind=PULSE,
            target_id=1,
            opens_at=at(1),
            closes_at=at(61),
            remind_at=None,
            schedule_id=None,
        )
        assert repeat is None
        assert await tx.surveys.get_occurrence(first.id) == first
        assert await tx.surveys.get_occurrence(first.id + 100) is None


async def test_occurrence_queries_close_remind_and_next_event(store: SqlStore) -> None:
    async with store.transaction() as tx:
        old = await tx.surveys.add_occurrence(
            key="a",
            kind=PULSE,
            target_id=1,
            opens_at=at(0),
            closes_at=at(60),
            remind_at=at(30),
            schedule_id=None,
        )
        new = await tx.surveys.add_occurrence(
            key="b",
            kind=PULSE,
            target_id=1,
            opens_at=at(10),
            closes_at=at(40),
            remind_at=None,
            schedule_id=None,
        )
        other = await tx.surveys.add_occurrence(
            key="c",
            kind=OccurrenceKind.CAMPAIGN,
            target_id=1,
            opens_at=at(5),
            closes_at=at(90),
            remind_at=at(20),
            schedule_id=None,
        )
        assert old and new and other
    async with store.transaction() as tx:
        assert [o.id for o in await tx.surveys.occurrences(kind=PULSE, target_id=1)] == [new.id, old.id]
        assert [o.id for o in await tx.surveys.occurrences(kind=PULSE, target_id=1, limit=1)] == [new.id]
        assert await tx.surveys.occurrences(kind=PULSE, target_id=2) == []
        assert [o.id for o in await tx.surveys.open_occurrences()] == [old.id, other.id, new.id]
        assert [o.id for o in await tx.surveys.due_to_close(at(40))] == [new.id]
        assert [o.id for o in await tx.surveys.due_to_close(at(39))] == []
        assert [o.id for o in await tx.surveys.due_reminders(at(30))] == [other.id, old.id]
        assert await tx.surveys.next_event(at(0)) == at(20)
        assert await tx.surveys.next_event(at(20)) == at(30)
        assert await tx.surveys.mark_reminded(other.id)
        assert not await tx.surveys.mark_reminded(other.id)
        assert await tx.surveys.next_event(at(0)) == at(30)
        assert [o.id for o in await tx.surveys.due_reminders(at(30))] == [old.id]
        assert await tx.surveys.close(new.id, at=at(25))  # closed early, by hand
        assert not await tx.surveys.close(new.id, at=at(26))
        assert await tx.surveys.due_to_close(at(100)) == [
            o for o in await tx.surveys.open_occurrences() if o.id in (old.id, other.id)
        ]
        await tx.surveys.set_reply(new.id, "You said, we did")
    async with store.transaction() as tx:
        closed = await tx.surveys.get_occurrence(new.id)
        assert closed is not None
        assert (closed.closed, closed.closes_at, closed.reply_text) == (True, at(25), "You said, we did")
        assert [o.id for o in await tx.surveys.open_occurrences()] == [old.id, other.id]
        assert await tx.surveys.next_event(at(90)) is None


async def test_recipients_and_answers(store: SqlStore) -> None:
    async with store.transaction() as tx:
        team = await tx.directory.upsert_team(name="Red", parent_id=None)
        amira = await person(tx, "amira")
        ben = await person(tx, "ben")
        survey = await tx.surveys.add_survey(**_survey_kwargs())
        run = await tx.surveys.add_occurrence(
            key="run",
            kind=PULSE,
            target_id=survey.id,
            opens_at=T0,
            closes_at=T0 + timedelta(days=3),
            remind_at=None,
            schedule_id=None,
        )
        assert run is not None
        await tx.surveys.add_recipients(run.id, [Recipient(ben.id, team.id), Recipient(amira.id, None)])
        await tx.surveys.add_recipients(run.id, [Recipient(ben.id, team.id)])  # duplicates are ignored
        await tx.surveys.add_recipients(run.id, [])
    async with store.transaction() as tx:
        assert await tx.surveys.recipients(run.id) == [Recipient(amira.id, None), Recipient(ben.id, team.id)]
        assert await tx.surveys.invited(run.id) == 2
        assert await tx.surveys.is_recipient(run.id, ben.id) == Recipient(ben.id, team.id)
        assert await tx.surveys.is_recipient(run.id, ben.id + 100) is None
        # What a tap reads, in one query: the run, its survey with every item, and the recipient record.
        as_sent = await tx.surveys.run_as_sent(run.id, ben.id)
        assert as_sent == (await tx.surveys.get_occurrence(run.id), survey, Recipient(ben.id, team.id))
        assert await tx.surveys.run_as_sent(run.id, amira.id) == (run, survey, Recipient(amira.id, None))
        assert await tx.surveys.run_as_sent(run.id, ben.id + 100) == (run, survey, None)
        assert await tx.surveys.run_as_sent(run.id + 100, ben.id) is None
        campaign = await tx.surveys.add_occurrence(
            key="campaign",
            kind=OccurrenceKind.CAMPAIGN,
            target_id=survey.id,
            opens_at=T0,
            closes_at=T0 + timedelta(days=3),
            remind_at=None,
            schedule_id=None,
        )  # a campaign whose id happens to be the survey's
        assert campaign is not None
        assert await tx.surveys.run_as_sent(campaign.id, ben.id) == (campaign, None, None)
        scale, choice, text = survey.items
        first = Answer(run.id, scale.id, "key-b", team.id, number=4)
        await tx.surveys.save_answer(first)
        changed = Answer(run.id, scale.id, "key-b", team.id, number=2)
        await tx.surveys.save_answer(changed)  # replaces the first
        words = Answer(run.id, text.id, "key-b", team.id, text="more coffee")
        await tx.surveys.save_answer(words)
        other = Answer(run.id, scale.id, "key-a", None, number=5)
        await tx.surveys.save_answer(other)
    async with store.transaction() as tx:
        assert await tx.surveys.answers(run.id) == [other, changed, words]
        assert await tx.surveys.answers(run.id, [text.id, choice.id]) == [words]
        assert await tx.surveys.answers(run.id, []) == []
        items = [scale.id, text.id, choice.id]
        assert await tx.surveys.answers_of(run.id, "key-b", items) == [changed, words]
        assert await tx.surveys.answers_of(run.id, "key-b", [text.id]) == [words]
        assert await tx.surveys.answers_of(run.id, "nobody", items) == []
        assert set(await tx.surveys.answer_counts(run.id)) == {"key-a", "key-b"}
        assert choice.id not in {a.item_id for a in await tx.surveys.answers(run.id)}


async def test_answers_of_a_named_survey_keep_only_the_respondent_key(store: SqlStore) -> None:
    async with store.transaction() as tx:
        amira = await person(tx, "amira")
        survey = await tx.surveys.add_survey(**_survey_kwargs(anonymous=False))
        run = await _run(tx, survey.id)
        key = f"person:{amira.id}"
        await tx.surveys.save_answer(
            Answer(run.id, survey.items[0].id, key, None, number=3, person_id=amira.id)
        )
        [stored] = await tx.surveys.answers(run.id)
        assert (stored.respondent, stored.number, stored.person_id) == (key, 3, None)
        # Settled at close, a named answer keeps its person (only keyed hashes become random tokens).
        await tx.surveys.settle_answers(run.id)
        assert [a.respondent for a in await tx.surveys.answers(run.id)] == [key]


async def test_a_respondents_answers_are_found_without_reading_the_whole_run(store: SqlStore) -> None:
    # Every pulse tap asks for the tapper's answers: in a run of 100,000 answers a scan would make each
    # tap cost more the bigger the organisation. SQLite shows its plan for the very statement sent.
    if store.dialect != "sqlite":
        pytest.skip("checked on SQLite's query plan")
    async with store.transaction() as tx:
        survey = await tx.surveys.add_survey(**_survey_kwargs())
        run = await _run(tx, survey.id)
        for n in range(50):
            await tx.surveys.save_answer(Answer(run.id, survey.items[0].id, f"key-{n}", None, number=3))
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with store.transaction() as tx:
            found = await tx.surveys.answers_of(run.id, "key-7", [i.id for i in survey.items])
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", record)
    assert [a.respondent for a in found] == ["key-7"]
    [(statement, parameters)] = [(s, p) for s, p in sent if "FROM answers" in s]
    async with store.engine.connect() as db:
        plan = await db.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        details = " ".join(str(row[-1]) for row in plan)
    assert "item_id=? AND respondent=?" in details, details


async def test_removing_items_removes_their_answers(store: SqlStore) -> None:
    async with store.transaction() as tx:
        survey = await tx.surveys.add_survey(**_survey_kwargs())
        run = await _run(tx, survey.id)
        for item in survey.items:
            await tx.surveys.save_answer(Answer(run.id, item.id, "k", None, number=1))
        shorter = await tx.surveys.add_survey(**_survey_kwargs(items=ITEMS[:1]))
        assert [i.id for i in shorter.items] == [survey.items[0].id]
        assert [a.item_id for a in await tx.surveys.answers(run.id)] == [survey.items[0].id]


@pytest.mark.parametrize("answered", [0, 4, 5, 23])
async def test_tallies_give_the_same_overall_scores_as_reading_every_answer(
    store: SqlStore, answered: int
) -> None:
    # A trend reads runs as tallies; what it shows must be exactly what the run's own results show.
    items = [(ItemKind.SCALE, "How was your week?", ()), (ItemKind.ENPS, "Recommend us?", ())]
    rng = random.Random(answered)
    async with store.transaction() as tx:
        survey = await tx.surveys.add_survey(**_survey_kwargs(items=items))
        run = await _run(tx, survey.id)
        scale, enps = survey.items
        for n in range(answered):
            await tx.surveys.save_answer(Answer(run.id, scale.id, f"r{n}", None, number=rng.randint(1, 5)))
            skipped = n % 7 == 3  # a skip counts for neither
            await tx.surveys.save_answer(
                Answer(run.id, enps.id, f"r{n}", None, number=None if skipped else rng.randint(0, 10))
            )
        tallies = await tx.surveys.tallies(run.id)
        full = summarise(
            items=survey.items, recipients=[], answers=await tx.surveys.answers(run.id), team_names={}, k=5
        )

    for item, result in zip(survey.items, full.items, strict=True):
        quick = overall_from_tally(item, tallies.get(item.id), 5)
        assert (quick.n, quick.withheld, quick.mean, quick.enps) == (
            result.overall.n,
            result.overall.withheld,
            result.overall.mean,
            result.overall.enps,
        )
    assert (full.items[0].overall.withheld == "") is (answered >= 5)


@pytest.mark.parametrize("respondents", [0, 4, 12, 40])
async def test_counts_give_the_same_results_as_reading_every_answer(
    store: SqlStore, respondents: int
) -> None:
    # A run's results come from counts: they must be exactly what reading every answer gives, with skips,
    # numbers out of range, stray texts and teams that share a label (whose order the counts must keep).
    items = [
        (ItemKind.SCALE, "How was your week?", ()),
        (ItemKind.ENPS, "Recommend us?", ()),
        (ItemKind.YES_NO, "Lunch?", ()),
        (ItemKind.CHOICE, "Best day?", ("Mon", "Fri")),
        (ItemKind.TEXT, "Anything else?", ()),
    ]
    rng = random.Random(respondents)
    async with store.transaction() as tx:
        teams = [
            await tx.directory.upsert_team(name=name, parent_id=None)
            for name in ("Red", "Blue", OTHER_TEAMS, "Green")
        ]
        survey = await tx.surveys.add_survey(**_survey_kwargs(items=items))
        run = await _run(tx, survey.id)
        for n in range(respondents):
            # Keys of mixed case and punctuation, which collations order differently.
            respondent = f"{rng.choice(['r', 'R', 'p:', 'a-'])}{n}"
            team = rng.choice([None, *(t.id for t in teams)])
            for item in survey.items:
                if rng.random() < 0.2:
                    continue
                number = rng.choice([None, -1, 0, 1, 2, 3, 5, 6, 7, 9, 10, 12])
                text = rng.choice([None, "", "more coffee", "fewer meetings"])
                await tx.surveys.save_answer(
                    Answer(run.id, item.id, respondent, team, number=number, text=text)
                )
        # Green is unknown here, so it is labelled as the team called "Other teams" and no team are.
        names: dict[int | None, str] = {t.id: t.name for t in teams[:3]}
        written = [item.id for item in survey.items if item.kind is ItemKind.TEXT]
        counted = summarise_counts(
            items=survey.items,
            invited=0,
            counts=await tx.surveys.counts(run.id),
            texts=await tx.surveys.answers(run.id, written),
            team_names=names,
            k=5,
        )
        full = summarise(
            items=survey.items, recipients=[], answers=await tx.surveys.answers(run.id), team_names=names, k=5
        )

    assert counted == full
    if respondents == 40:  # what the order is kept for: teams shown under the same label
        assert any(
            sum(1 for f in result.teams if f.label == OTHER_TEAMS and not f.withheld) > 1
            for result in full.items
        )


async def test_settled_answers_keep_no_trace_of_the_order_or_transaction_they_came_in(
    store: SqlStore,
) -> None:
    async with store.transaction() as tx:
        survey = await tx.surveys.add_survey(**_survey_kwargs())
        run = await _run(tx, survey.id)
        other = await tx.surveys.add_occurrence(
            key="other",
            kind=PULSE,
            target_id=survey.id,
            opens_at=T0,
            closes_at=at(10),
            remind_at=None,
            schedule_id=None,
        )
        assert other is not None
    scale, _choice, text = survey.items
    came = [f"key-{letter}" for letter in "qzamxc"]  # the order people answered in: not the keys' order
    for n, key in enumerate(came):
        async with store.transaction() as tx:  # one tap, one transaction
            await tx.surveys.save_answer(Answer(run.id, scale.id, key, None, number=n % 5 + 1))
            await tx.surveys.save_answer(Answer(run.id, text.id, key, None, text=f"words {n}"))
    async with store.transaction() as tx:
        await tx.surveys.save_answer(Answer(other.id, scale.id, "key-b", None, number=3))
    async with store.transaction() as tx:
        before = await tx.surveys.answers(run.id)

    async with store.transaction() as tx:
        assert await tx.surveys.settle_answers(run.id) == 12
        assert await tx.surveys.settle_answers(run.id + 100) == 0

    async with store.transaction() as tx:
        after = await tx.surveys.answers(run.id)

        # Every answer kept as it was, each respondent's together; but under a random token, not the keyed
        # hash anyone with the secret key could compute again for every person.
        def by_respondent(answers: list[Answer]) -> set[frozenset[tuple[int, int | None, str | None]]]:
            grouped: dict[str, set[tuple[int, int | None, str | None]]] = {}
            for a in answers:
                grouped.setdefault(a.respondent, set()).add((a.item_id, a.number, a.text))
            return {frozenset(group) for group in grouped.values()}

        assert by_respondent(after) == by_respondent(before)
        assert not {a.respondent for a in after} & set(came)
        assert [a.respondent for a in await tx.surveys.answers(other.id)] == ["key-b"]
        # How many answered is kept with the run (a trend reads it, not every answer); the other run,
        # not settled, is counted.
        assert (await tx.surveys.respondent_count(run.id), await tx.surveys.respondent_count(other.id)) == (
            6,
            1,
        )
    async with store.engine.connect() as db:
        kept = (await db.execute(text_sql("SELECT id, respondents FROM occurrences ORDER BY id"))).all()
    assert [tuple(row) for row in kept] == [(run.id, 6), (other.id, None)]
    if store.dialect == "postgresql":
        async with store.engine.connect() as db:
            rows = await db.execute(
                text_sql(
                    "SELECT xmin::text AS x, respondent FROM answers WHERE occurrence_id = :o ORDER BY ctid"
                ),
                {"o": run.id},
            )
            stored = [(row.x, row.respondent) for row in rows]
        assert len({x for x, _ in stored}) == 1  # one transaction wrote them all
        assert [r for _, r in stored] == sorted(r for _, r in stored)  # in the tokens' order, not arrival's


async def test_closed_runs_to_forget_come_a_few_at_a_time_oldest_first_and_once(store: SqlStore) -> None:
    async with store.transaction() as tx:
        survey = await tx.surveys.add_survey(**_survey_kwargs())
        runs = []
        for n, kind in enumerate([PULSE, PULSE, OccurrenceKind.CAMPAIGN, PULSE, PULSE]):
            run = await tx.surveys.add_occurrence(
                key=f"r{n}", kind=kind, target_id=survey.id, opens_at=T0, closes_at=at(n), remind_at=None,
                schedule_id=None,
            )  # fmt: skip
            assert run is not None and await tx.surveys.close(run.id, at=at(10))
            runs.append(run.id)
        open_run = await tx.surveys.add_occurrence(
            key="open", kind=PULSE, target_id=survey.id, opens_at=T0, closes_at=at(1), remind_at=None,
            schedule_id=None,
        )  # fmt: skip
        assert open_run is not None

    async with store.transaction() as tx:
        due = [r.id for r in await tx.surveys.to_forget(at(3))]
        assert due == [runs[0], runs[1], runs[3]]  # no campaign, none closed later, none still open
        assert await tx.surveys.mark_forgotten(runs[0]) and not await tx.surveys.mark_forgotten(runs[0])
        assert [r.id for r in await tx.surveys.to_forget(at(10), limit=2)] == [runs[1], runs[3]]
