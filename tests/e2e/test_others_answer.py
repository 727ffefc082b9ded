"""``/others``: the rest of the staff answer with made-up answers, through the core, so results show."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from tests.e2e.harness import ORGANISATION, Bot, messages, recipients, start_bot

COLUMNS = "handle,name,time_zone,roles,team,parent_team,slack_user_id,slack_team_id"

PULSE = """
[[pulse]]
name = "Quick pulse"
open_hours = 48

[[pulse.question]]
kind = "scale"
text = "I can suggest improvements."

[[pulse.question]]
kind = "yes_no"
text = "Did you get the support you needed?"

[[pulse.question]]
kind = "choice"
text = "What got in the way?"
options = ["Staffing", "IT", "Travel"]

[[pulse.question]]
kind = "text"
text = "What would make next week better?"
"""


async def test_the_other_staff_answer_every_question_and_their_teams_results_show(bot: Bot) -> None:
    await bot.programme(PULSE)
    await bot.play("ben: pulse send Quick pulse")

    out = await bot.play("amira: /others")

    # Reablement's four others, Housing's two and Kate (an admin, not a manager): small teams answer in full.
    assert "-- 7 of the 7 staff with questions waiting gave made-up answers: 7 to “Quick pulse”" in out
    asked_on = {who for who in recipients(out) if not who.startswith("#")}
    assert asked_on == {"chloe", "dev", "ellie", "farah", "kate", "priya", "sam"}  # Q2 to Q4 came to them
    # The person at the keyboard, and the managers and leaders, still answer for themselves.
    assert "Q2/4" in messages(await bot.play("amira: 4"), "amira")[-1]
    await bot.play("amira: yes\namira: 1\namira: Fewer meetings")
    assert messages(await bot.play("amira: /others"), None) == []
    assert "-- nobody else on the staff has pulse or check-in questions waiting" in bot.out[-1]

    out = await bot.play("ben: pulse close Quick pulse\nben: pulse results Quick pulse")
    result = next(m for m in messages(out, "ben") if "Responses:" in m)
    assert "Responses: 8 of 12 (67%)" in result  # seven made up and Amira's; Helen, Jo and Lena left it
    # Each of the eight answered every question with buttons; the k rule applies to made-up answers too.
    assert result.count("Everyone: n=8,") == 3
    assert result.count("Withheld, fewer than 5 answers: Other teams") == 3
    assert result.endswith(
        "“Other teams” counts together the teams with fewer than 5 asked."
    )  # says what they are


async def test_where_real_people_are_on_slack_or_teams_nobody_is_made_to_answer(
    database_url: str, tmp_path: Path
) -> None:
    # Run on a copy of a live database, /others wrote made-up anonymous answers among real ones, which
    # could never be told apart again.
    on_slack = ORGANISATION.replace("handle,name,time_zone,roles,team,parent_team", COLUMNS).replace(
        "chloe,Chloe Price,Europe/London,staff,Reablement,Adult Social Care",
        "chloe,Chloe Price,Europe/London,staff,Reablement,Adult Social Care,U0CHLOE,T0COUNCIL",
    )
    bot = await start_bot(database_url, tmp_path, people=on_slack)
    try:
        await bot.programme(PULSE)
        out = await bot.play("ben: pulse send Quick pulse\namira: /others")
        async with bot.app.store.engine.connect() as db:
            answers = (await db.execute(text("SELECT count(*) FROM answers"))).scalar()
    finally:
        await bot.app.close()

    assert any(
        line.startswith("!! /others makes up answers, so it runs only where nobody is on Slack")
        for line in out
    )
    assert answers == 0
