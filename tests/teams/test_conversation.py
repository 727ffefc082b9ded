"""Teams activities, shaped as Teams sends them, posted to /api/messages on a running server (botbuilder's
real CloudAdapter, here without an app id: local mode); replies and proactive messages arrive at the
local Bot Framework connector, and the effects show in the database."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from bot.clock import MovableClock
from dialogue.events import Identity
from dialogue.outbox import contact_key
from tests.teams.activities import TENANT_ID, make_member
from tests.teams.harness import TeamsBot, people_csv, teams_bot

AMIRA = make_member("Amira Hassan")
BEN = make_member("Ben Carter")
PULSE = (
    '[[pulse]]\nname = "Quick"\n[[pulse.question]]\nkind = "scale"\ntext = "I can suggest improvements."\n'
)


@pytest.fixture
async def bot(database_url: str, tmp_path: Path) -> AsyncIterator[TeamsBot]:
    people = people_csv(
        [
            ("amira", "Amira Hassan", "staff", "Reablement", AMIRA),
            ("ben", "Ben Carter", "manager", "Reablement", BEN),
        ]
    )
    async with teams_bot(database_url, tmp_path, people=people, programme=PULSE) as running:
        yield running


def shown(delivered: Any) -> str:
    return str(delivered.activity)


async def test_a_personal_message_is_answered_with_a_card_and_the_reference_is_kept(bot: TeamsBot) -> None:
    status, _ = await bot.post(
        bot.teams.personal_message("idea Share spare PPE between patches", sender=AMIRA)
    )

    assert status in (200, 201)
    (reply,) = await bot.fake.wait_for(1)
    assert "Your idea #1 is in" in shown(reply)
    assert reply.activity["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert await bot.count("ideas") == 1
    assert await bot.count("contacts", "reachable") == 1
    assert bot.fake.violations == []


async def test_the_kept_reference_is_the_conversation_and_is_not_rewritten_every_turn(bot: TeamsBot) -> None:
    key = contact_key(Identity("teams", TENANT_ID, AMIRA["aadObjectId"]))
    await bot.post(bot.teams.personal_message("hello", sender=AMIRA))
    async with bot.app.store.transaction(read_only=True) as tx:
        first = await tx.contacts.contact("teams", key)
    assert first is not None
    bot.clock.set(bot.clock.now() + timedelta(minutes=5))

    await bot.post(bot.teams.personal_message("help", sender=AMIRA))

    async with bot.app.store.transaction(read_only=True) as tx:
        again = await tx.contacts.contact("teams", key)
    assert again == first  # the same reference, not written again
    assert "activityId" not in again.data  # messages go to the chat, not as replies to an old activity


async def _pulse_card_tap(bot: TeamsBot, member: dict[str, Any], title: str = "4") -> dict[str, Any]:
    """The invoke Teams sends when ``member`` taps ``title`` on the pulse card the bot sent them."""
    question = next(
        d
        for d in reversed(bot.fake.activities)
        if d.conversation_id == bot.chat(member) and "I can suggest improvements" in shown(d)
    )
    card = question.activity["attachments"][0]["content"]
    button = next(
        action
        for element in card["body"]
        if element.get("type") == "ActionSet"
        for action in element["actions"]
        if action["title"] == title
    )
    return bot.teams.card_action(
        button["verb"], button["data"], sender=member, message_id=question.activity_id
    )


async def test_a_pulse_reaches_people_proactively_and_a_tap_refreshes_the_card(
    bot: TeamsBot, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.post(bot.teams.personal_message("hello", sender=AMIRA))  # Teams gave us her reference
    await bot.post(bot.teams.personal_message("pulse send Quick", sender=BEN))
    before = len(bot.fake.activities)
    await bot.app.worker.drain()
    assert len(bot.fake.activities) > before  # the pulse reached her proactively

    invoke = await _pulse_card_tap(bot, AMIRA)
    assert invoke["value"]["trigger"] == "manual"  # as Teams sends it; botbuilder's model has no such key
    caplog.clear()
    caplog.set_level(logging.WARNING)

    status, body = await bot.post(invoke)

    assert status == 200
    assert body["statusCode"] == 200 and body["type"] == "application/vnd.microsoft.card.adaptive"
    assert "✓ 4" in str(body["value"])
    assert await bot.count("answers") == 1
    assert bot.fake.violations == []
    assert [r.getMessage() for r in caplog.records] == []  # a tap is routine: no warning in the log


async def test_a_tap_is_one_write_transaction_and_a_repeated_tap_is_answered_but_not_redone(
    bot: TeamsBot,
) -> None:
    await bot.post(bot.teams.personal_message("hello", sender=AMIRA))
    await bot.post(bot.teams.personal_message("pulse send Quick", sender=BEN))
    await bot.app.worker.drain()
    invoke = await _pulse_card_tap(bot, AMIRA)
    begun: list[object] = []

    def began(connection: object) -> None:
        begun.append(connection)

    event.listen(bot.app.store.engine.sync_engine, "begin", began)
    try:
        status, body = await bot.post(invoke)
    finally:
        event.remove(bot.app.store.engine.sync_engine, "begin", began)
    assert status == 200 and "✓ 4" in str(body["value"])
    # The tap's id, Amira's conversation reference and her answer: all in one transaction.
    assert len(begun) == 1

    again = dict(invoke, value={**invoke["value"], "action": {**invoke["value"]["action"]}})
    status, body = await bot.post(again)  # Teams sends the same tap again (same activity id)
    assert (status, body["statusCode"], body["value"]) == (200, 200, "Done.")
    assert await bot.count("answers") == 1
    assert await bot.count("inbox") == 3  # two messages and one tap


async def test_a_refused_tap_still_keeps_the_reference_and_is_not_refused_twice(bot: TeamsBot) -> None:
    await bot.post(bot.teams.personal_message("hello", sender=AMIRA))
    await bot.post(bot.teams.personal_message("pulse send Quick", sender=BEN))
    await bot.app.worker.drain()
    await bot.post(bot.teams.personal_message("pulse close Quick", sender=BEN))
    tap = await _pulse_card_tap(bot, AMIRA)
    async with bot.app.store.engine.begin() as db:  # as if Amira had never written to the bot
        await db.execute(text("DELETE FROM contacts"))

    status, body = await bot.post(tap)

    assert status == 200 and "closed" in str(body["value"])  # refused: the pulse has closed
    assert await bot.count("answers") == 0
    assert await bot.count("contacts", "reachable") == 1  # her reference is kept all the same
    status, body = await bot.post(tap)  # and Teams' retry of it is known
    assert body["value"] == "Done."


async def test_someone_who_removed_the_app_is_not_retried(bot: TeamsBot) -> None:
    await bot.post(bot.teams.personal_message("hello", sender=AMIRA))
    await bot.post(bot.teams.installation_update("remove", by=AMIRA))
    assert await bot.count("contacts", "NOT reachable") == 1

    await bot.post(bot.teams.personal_message("pulse send Quick", sender=BEN))
    await bot.app.worker.drain()

    assert await bot.count("deliveries", "status = 'failed' AND last_error LIKE '%removed the app%'") == 1


async def test_a_429_is_waited_out_for_its_retry_after_and_then_delivered(bot: TeamsBot) -> None:
    await bot.post(bot.teams.personal_message("hello", sender=AMIRA))
    chat = bot.teams.personal_conversation(AMIRA)["id"]
    bot.fake.rate_limit_next(1, retry_after=1, conversation_id=chat)

    await bot.post(bot.teams.personal_message("pulse send Quick", sender=BEN))
    await bot.app.worker.drain()
    assert (
        await bot.count("deliveries", "status = 'pending' AND last_error LIKE '%rate limited by Teams%'") == 1
    )

    clock = bot.app.clock
    assert isinstance(clock, MovableClock)
    clock.set(clock.now() + timedelta(seconds=2))
    await bot.app.worker.drain()

    to_her = [call for call in bot.fake.calls if chat in call.path and call.method == "POST"]
    refused, accepted = to_her[-2], to_her[-1]
    assert (refused.status, accepted.status) == (429, 201)
    assert accepted.at - refused.at >= 1.0  # nothing was sent to Teams before its Retry-After had passed
    assert await bot.count("deliveries", "status = 'pending'") == 0
    assert bot.fake.violations == []


async def test_someone_mentioned_in_a_message_is_stored_as_a_name_not_as_teams_markup(bot: TeamsBot) -> None:
    await bot.post(bot.teams.personal_message("idea Ask <at>Ben Carter</at> to share the rota", sender=AMIRA))

    async with bot.app.store.engine.connect() as db:
        (idea,) = (await db.execute(text("SELECT text FROM ideas"))).scalars().all()
    assert idea == "Ask @Ben Carter to share the rota"
