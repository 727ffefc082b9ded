"""``/others``: the rest of the staff answer with made-up answers, through the core, so results show."""

from __future__ import annotations

from tests.e2e.harness import Bot, messages, recipients

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
    assert "-- 7 of the 7 staff with questions waiting answered “Quick pulse” with made-up answers" in out
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
