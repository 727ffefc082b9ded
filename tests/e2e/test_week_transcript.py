"""The week of tests/slack/test_week.py and tests/teams/test_week.py, on the console: the same people, the
same pulse, the same steps and the same outcomes, so the core is shown to behave the same whatever the
adapter; the platforms' tests differ only in how people click, type and are told."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.e2e.harness import Bot, messages, recipients, start_bot

PEOPLE = """\
handle,name,time_zone,roles,team
amira,Amira Hassan,Europe/London,staff,Reablement
chloe,Chloe Price,Europe/London,staff,Reablement
dev,Dev Patel,Europe/London,staff,Reablement
ellie,Ellie Watson,Europe/London,staff,Reablement
farah,Farah Begum,Europe/London,staff,Reablement
gus,Gus Moyo,Europe/London,staff,Reablement
ben,Ben Carter,Europe/London,manager,Reablement
helen,Helen Marsh,Europe/London,senior_leader,Executive Team
"""
PULSE = """
[[pulse]]
name = "Quick pulse"
open_hours = 48
remind_after_hours = 24

[[pulse.question]]
kind = "scale"
text = "I can suggest improvements."
"""


@pytest.fixture
async def week(database_url: str, tmp_path: Path) -> AsyncIterator[Bot]:
    running = await start_bot(database_url, tmp_path, people=PEOPLE)
    await running.programme(PULSE)
    yield running
    await running.app.close()


async def test_a_week_on_the_console(week: Bot) -> None:
    bot = week
    # Monday: the pulse goes to all eight; five answer, and Farah changes her answer.
    out = await bot.play("ben: pulse send Quick pulse")
    assert messages(out, "ben")[0].startswith("Sent “Quick pulse” to 8 people")
    assert sorted(set(recipients(out)) - {"ben"}) == [
        "amira",
        "chloe",
        "dev",
        "ellie",
        "farah",
        "gus",
        "helen",
    ]
    out = await bot.play("amira: 4\nchloe: 5\ndev: 3\nellie: 4\nfarah: 2\nfarah: 5")
    assert any("[5] (chosen)" in shown for shown in messages(out, "farah"))

    # Tuesday: the reminder reaches only those who have not answered.
    out = await bot.play("/clock +1d")
    assert sorted(set(recipients(out))) == ["ben", "gus", "helen"]

    # Wednesday: closed; the results count Farah's changed answer.
    await bot.play("/clock +1d1h")
    results = messages(await bot.play("ben: pulse results Quick pulse"), "ben")[-1]
    assert "Responses: 5 of 8" in results and "mean 4.2" in results

    # An idea, its status change with a reason, told to Amira.
    await bot.play("amira: idea Text people when a visit is running late")
    out = await bot.play("ben: status 1 under_review Trying it in the north patch")
    told = messages(out, "amira")[-1]
    assert "under review" in told.lower() and "Trying it in the north patch" in told

    # A question in the Q&A channel, two upvotes, an answer in its thread, a follow-up there.
    out = await bot.play("amira: ask How will rotas change over winter?")
    assert "How will rotas change over winter?" in messages(out, "#qa")[0]
    out = await bot.play("chloe: upvote 1\ndev: upvote 1")
    assert "▲ Upvote (2)" in messages(out, "#qa")[-1]  # the post is updated in place
    out = await bot.play("helen: answer 1 We are adding a winter rota review with staff in December.")
    assert (
        "winter rota review" in messages(out, "#qa")[-1]
        and "winter rota review" in messages(out, "amira")[-1]
    )
    out = await bot.play("/as chloe\n/reply question:1 Will part-time staff be included?")
    assert "part-time staff" in messages(out, "amira")[-1]
    async with bot.app.store.engine.connect() as db:
        followups = (await db.execute(text("SELECT count(*) FROM qa_posts WHERE kind = 'followup'"))).scalar()
    assert followups == 1
