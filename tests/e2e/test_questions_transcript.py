"""Questions to senior managers end to end: the open thread, upvotes, answers, moderation, escalation."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from tests.e2e.harness import Bot, messages, recipients, start_bot


async def test_a_question_is_posted_upvoted_answered_in_its_thread_and_followed_up(bot: Bot) -> None:
    out = await bot.play(
        """
        chloe: ask Can we have parking permits for care visits?
        dev: upvote 1
        dev: upvote 1
        chloe: upvote 1
        amira: answer 1 No idea
        jo: answer 1 We are talking to Highways this month.
        chloe: followup 1 Will you tell us the outcome?
        ben: followup 1 Reablement would use twelve
        jo: questions answered
        """
    )

    qa = messages(out, "#qa")
    assert qa[0].startswith("Question #1 from Chloe Price:\nCan we have parking permits for care visits?")
    assert "▲ Upvote (1)" in qa[1]  # the post updated in place
    assert messages(out, "dev") == [
        "Upvoted. #1 now has 1 upvote.",
        "You've already upvoted #1. One upvote each.",
    ]
    assert messages(out, "chloe")[1] == "#1 is your own question, so you can't upvote it."
    assert messages(out, "amira") == [
        "Sorry, only managers and senior leaders can use `answer`. Type `help` to see what you can do."
    ]
    assert "(thread question:1) Answer from Jo Adeyemi: We are talking to Highways this month." in qa
    assert messages(out, "chloe")[2].startswith("Your question #1 has an answer from Jo Adeyemi:")
    assert "(thread question:1) The asker followed up: Will you tell us the outcome?" not in qa  # named asker
    assert "(thread question:1) Chloe Price followed up: Will you tell us the outcome?" in qa
    assert "(thread question:1) Ben Carter followed up: Reablement would use twelve" in qa
    assert (
        messages(out, "chloe")[-1]
        == "New follow-up on question #1 from Ben Carter:\nReablement would use twelve"
    )
    assert "#1 ▲1" in messages(out, "jo")[-1]


async def test_an_anonymous_question_reaches_its_asker_and_nobody_learns_who_asked(bot: Bot) -> None:
    out = await bot.play(
        """
        /clock +23m
        amira: ask anon to @jo Why are mileage rates so low?
        jo: questions
        ben: questions
        jo: answer 1 We are reviewing them in January.
        amira: followup 1 Will staff be consulted?
        kate: moderate log
        """
    )

    assert messages(out, "jo")[0].startswith("You've been asked a question (#1):")
    others = "\n".join(m for who in ("jo", "ben", "kate", "#qa") for m in messages(out, who))
    assert "Amira" not in others and "amira" not in others
    assert "Question #1 from an anonymous colleague to Jo Adeyemi:" in others
    assert "(thread question:1) The asker followed up: Will staff be consulted?" in others
    assert messages(out, "amira")[1].startswith("Your question #1 has an answer from Jo Adeyemi:")
    async with bot.app.store.engine.connect() as db:
        row = (await db.execute(text("SELECT asker_id, route FROM questions WHERE id = 1"))).one()
        posts = (await db.execute(text("SELECT author_id FROM qa_posts WHERE kind = 'followup'"))).all()
    assert row.asker_id is None and row.route.startswith("question:1#")
    assert posts == [(None,)]
    async with bot.app.store.transaction() as tx:
        question = await tx.questions.get_question(1)
    assert question is not None and question.created_at.minute == 0


async def test_unanswered_questions_are_flagged_to_the_addressed_leader_once(bot: Bot) -> None:
    await bot.play(
        """
        chloe: ask to @jo Can we have parking permits?
        dev: ask Can we get new laptops?
        jo: answer 2 Yes, in the spring.
        """
    )

    early = await bot.play("/clock +4d23h")
    due = await bot.play("/clock +1h")
    later = await bot.play("/clock +3d")

    assert messages(early) == []
    flagged = messages(due, "jo")
    assert flagged == [
        "Question #1 has waited 5 days for an answer (▲0):\n"
        "Can we have parking permits?\n"
        "Answer in the open with `answer 1 <your answer>`."
    ]
    assert messages(due, "helen") == []  # addressed to Jo, so only Jo hears
    assert messages(later) == []


async def test_a_question_answered_by_another_leader_is_not_answered_again_unknowingly(bot: Bot) -> None:
    await bot.play("chloe: ask to @helen Can we have parking permits?")

    first = await bot.play("jo: answer 1 Yes, from January.")
    second = await bot.play("helen: answer 1 And they will cover the hospital site too.")

    # Helen, whom it was asked of, hears that Jo answered it.
    assert messages(first, "helen") == [
        "Jo Adeyemi answered question #1, which was asked of you:\nYes, from January.\n"
        "Add to it in the open with `answer 1 <your answer>`."
    ]
    assert messages(second, "helen")[0].startswith(
        "Added your answer to #1, which Jo Adeyemi had answered on Mon 30 Nov."
    )
    assert messages(first, "chloe")[0].startswith("Your question #1 has an answer from Jo Adeyemi:")
    assert messages(second, "chloe")[0].startswith("Your question #1 has another answer from Helen Marsh:")


async def test_premoderation_holds_anonymous_questions_and_logs_every_decision(
    database_url: str, tmp_path: Path
) -> None:
    bot = await start_bot(database_url, tmp_path, premoderate_anonymous=True)
    try:
        out = await bot.play(
            """
            amira: ask anon Why are mileage rates so low?
            chloe: ask anon Is our manager useless?
            ben: moderate
            kate: moderate approve 1
            kate: moderate reject 2 Personal remarks about a colleague
            kate: moderate reject 1 Too late
            kate: moderate approve 9
            kate: moderate log
            """
        )
    finally:
        await bot.app.close()

    assert messages(out, "amira")[0].startswith(
        "Thanks. Your anonymous question #1 will be posted once a moderator"
    )
    assert messages(out, "ben") == [
        "Sorry, only admins can use `moderate`. Type `help` to see what you can do."
    ]
    qa = messages(out, "#qa")
    assert len(qa) == 1 and qa[0].startswith("Question #1 from an anonymous colleague:")
    assert messages(out, "amira")[-1] == "Your anonymous question #1 was approved and is now posted."
    assert (
        messages(out, "chloe")[-1]
        == "Your anonymous question #2 wasn't posted. The moderator said:\nPersonal remarks about a colleague"
    )
    assert (
        messages(out, "kate")[-2]
        == "There is no question #9. Type `moderate list` (the ones waiting) to see them."
    )
    log = messages(out, "kate")[-1]
    assert log.splitlines()[1:] == [
        "Mon 30 Nov #2 rejected by Kate Morgan: Personal remarks about a colleague",
        "Mon 30 Nov #1 approved by Kate Morgan:",
    ]


async def test_a_sentence_that_starts_with_ask_is_shown_back_before_anything_is_posted(bot: Bot) -> None:
    typed = await bot.play("amira: Ask the families to tell us when nobody turns up")
    shared = await bot.play("amira: 3")
    asked = await bot.play("chloe: ask can we have parking permits for care visits\nchloe: 1")
    direct = await bot.play("dev: ask Will the rota be out by Friday?")

    assert messages(typed, "#qa") == [] and recipients(typed) == ["amira"]  # nothing in the open yet
    assert messages(typed, "amira")[0].startswith(
        "Ask this in the open, in the Q&A channel, or share it as an idea?\n"
        "Ask the families to tell us when nobody turns up\n"
        "[1] Ask it with my name  [2] Ask anonymously  [3] Share as an idea  [4] Share as an idea anonymously"
        "  [5] Neither"
    )
    # As an idea, the words are kept whole; still nothing was asked.
    assert (
        messages(shared, "amira")[0] == "Shared as an idea:\nAsk the families to tell us when nobody turns up"
    )
    assert messages(shared, "#qa") == []
    assert (
        "Ask the families to tell us when nobody turns up"
        in messages(await bot.play("amira: ideas mine"), "amira")[0]
    )
    # A question without a question mark is asked once its asker says so; one with it, at once.
    assert any("can we have parking permits for care visits" in m for m in messages(asked, "#qa"))
    assert any("Will the rota be out by Friday?" in m for m in messages(direct, "#qa"))


async def test_anonymity_asked_for_in_any_usual_form_is_given(bot: Bot) -> None:
    out = await bot.play(
        """
        amira: ask anon: are we getting new phones?
        chloe: ask (anonymous) will the car park reopen?
        dev: idea anon: fuel cards for carers
        ellie: idea (anon) a rota app
        farah: idea Anon - shared vans
        helen: ask anon. Why are rotas late?
        sam: idea *annon* better rotas
        priya: ask privately: can I talk to someone about nights?
        """
    )

    posted = "\n".join(messages(out, "#qa"))
    assert "are we getting new phones?" in posted and "will the car park reopen?" in posted
    assert (
        "Amira" not in posted
        and "Chloe" not in posted
        and "anon" not in posted.lower().replace("anonymous", "")
    )
    mine = "\n".join(m for who in ("dev", "ellie", "farah") for m in messages(out, who))
    assert mine.count("anonymous") >= 3, mine
    shown = messages(await bot.play("kate: ideas 1\nkate: ideas 2\nkate: ideas 3\nkate: ideas 4"), "kate")
    assert [m.splitlines()[1:3] for m in shown] == [
        ["fuel cards for carers", "From: anonymous"],
        ["a rota app", "From: anonymous"],
        ["shared vans", "From: anonymous"],
        ["better rotas", "From: anonymous"],
    ]
    assert "Why are rotas late?" in posted and "Helen" not in posted
    # A form not understood is not guessed at: nothing is posted, with a name or without.
    assert messages(out, "priya") == [
        "That mentions being anonymous, so nothing was posted with your name. "
        "Send `ask anon <your question>` to stay anonymous, or `ask <your question>` to put your name to it."
    ]
    assert "talk to someone about nights" not in posted
