"""A person's rights over what is kept about them: a copy of everything that names them, and erasure."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from dialogue.errors import Refusal
from dialogue.privacy import FORMER, forget_person, person_data
from tests.e2e.harness import Bot, messages

SCRIPT = """
amira: idea Shared rota board for weekend cover
amira: idea anon Buddy scheme for new carers
amira: ask Can we get parking permits?
dev: idea Pool cars for the north patch
amira: vote 3
chloe: comment 1 Yes please
ben: status 1 under_review Looking at it
ben: answer 1 We are asking the council, Amira Hassan will hear first.
"""


PULSE = """
[[pulse]]
name = "Quick pulse"
intro = "Amira Hassan collates the answers."
[[pulse.question]]
kind = "scale"
text = "I had what I needed."
[[pulse.question]]
kind = "yes_no"
text = "Did the rota come on time?"
"""


async def test_an_export_holds_everything_named_and_nothing_anonymous(bot: Bot) -> None:
    await bot.play(SCRIPT)
    await bot.programme(PULSE)
    await bot.play("ben: pulse send Quick pulse\namira: 4\namira: away until 14 Dec\namira: quiet 22-7")

    held = await person_data(bot.app.store, "amira")

    assert held["person"] == {
        "handle": "amira",
        "name": "Amira Hassan",
        "time_zone": "Europe/London",
        "active": True,
        "away_until": "2026-12-14",
        "quiet_hours": "22:00-07:00",
        "teams": ["Reablement"],
    }
    assert [idea["text"] for idea in held["ideas shared with their name"]] == [  # type: ignore[attr-defined]
        "Shared rota board for weekend cover"
    ]
    assert [q["text"] for q in held["questions asked with their name"]] == [  # type: ignore[attr-defined]
        "Can we get parking permits?"
    ]
    assert held["votes for ideas"] == [{"idea_id": 3, "person_id": 5}]
    told = json.dumps(held["messages the bot sent or will send them"])
    assert "Chloe Price commented on your idea #1" in told and "has an answer from Ben Carter" in told
    # Her anonymous idea is linked to nobody: no export can hold it, or it would not be anonymous; nor
    # which questions of an anonymous pulse reached her and when (how far she got, and how fast).
    assert "Buddy scheme" not in json.dumps(held)
    assert "Did the rota come on time?" not in json.dumps(held) and ":item:" not in json.dumps(held)
    json.dumps(held)  # all of it as JSON takes it
    with pytest.raises(Refusal, match="nobody with the handle 'zoe'"):
        await person_data(bot.app.store, "zoe")


async def test_forgetting_someone_keeps_their_words_under_former_colleague_and_nothing_that_names_them(
    bot: Bot,
) -> None:
    await bot.play(SCRIPT)

    await bot.programme(PULSE)
    await bot.play("amira: away until 14 Dec\namira: quiet 22-7")  # when she was on leave, or sleeps, too
    done = await forget_person(bot.app.store, "amira")
    shown = messages(await bot.play("ben: ideas 1\nben: questions 1"), "ben")

    assert done["platform accounts"] == 1 and done["messages to them emptied"] >= 2
    assert done["programme texts that still name them (edit the programme file)"] == 1  # the pulse's intro
    assert shown[0].startswith("Idea #1 [under review] ▲0\nShared rota board for weekend cover\n")
    assert f"From: {FORMER} (Reablement)" in shown[0]
    assert shown[1].startswith(f"Question #1 from {FORMER}, Mon 30 Nov")
    async with bot.app.store.engine.connect() as db:
        person = (
            await db.execute(
                text("SELECT handle, display_name, active, away_until, quiet_hours FROM people WHERE id = 5")
            )
        ).one()
        left = {
            table: (await db.execute(text(f"SELECT count(*) FROM {table} WHERE person_id = 5"))).scalar()
            for table in ("identities", "person_roles", "memberships", "conversations")
        }
        outbox = (await db.execute(text("SELECT message FROM deliveries"))).scalars().all()
    assert tuple(person) == ("former-5", FORMER, False, None, None)
    assert left == dict.fromkeys(left, 0)
    # The channel post of her question and the notices to others named her: no message kept does now.
    assert not any("Amira Hassan" in json.dumps(message, ensure_ascii=False) for message in outbox)
    assert any(f"Question #1 from {FORMER}" in json.dumps(message) for message in outbox)
    # Her vote still counts, pointing at nobody who can be named.
    assert "#3 [new] ▲1 Pool cars" in messages(await bot.play("ben: ideas all"), "ben")[0]
