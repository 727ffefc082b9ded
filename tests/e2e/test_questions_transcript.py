"""Questions to senior managers end to end: the open thread, upvotes, answers, moderation, escalation."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from dialogue.events import Chose, Identity
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
        # Whoever upvoted a question hears its answer, as its asker does.
        "Question #1, which you upvoted, has an answer from Jo Adeyemi:\n"
        "“Can we have parking permits for care visits?”\nWe are talking to Highways this month.\n"
        "`questions 1` shows the whole thread.",
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
    # Jo, who answered, hears both: the asker's follow-up and a colleague's.
    assert messages(out, "jo")[-3:-1] == [
        "New follow-up on question #1 from Chloe Price:\nWill you tell us the outcome?",
        "New follow-up on question #1 from Ben Carter:\nReablement would use twelve",
    ]
    assert "#1 ▲1" in messages(out, "jo")[-1]
    # Anyone reads the whole thread in their chat.
    thread = messages(await bot.play("amira: questions 1"), "amira")[0].splitlines()
    assert thread[:4] == [
        "Question #1 from Chloe Price, Mon 30 Nov (▲1), answered:",
        "Can we have parking permits for care visits?",
        "Jo Adeyemi answered (Mon 30 Nov): We are talking to Highways this month.",
        "Chloe Price followed up (Mon 30 Nov): Will you tell us the outcome?",
    ]


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

    assert messages(out, "jo")[0].startswith("You've been asked a question (#1):")  # not by whom
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
    asked = await bot.play(
        """
        chloe: ask to @jo Can we have parking permits?
        dev: ask Can we get new laptops?
        jo: answer 2 Yes, in the spring.
        """
    )

    early = await bot.play("/clock +4d23h")
    due = await bot.play("/clock +1h")  # Saturday 08:00: five days on, and the weekend
    monday = await bot.play("/clock +2d")  # Monday 08:00
    later = await bot.play("/clock +3d")

    assert messages(asked, "jo")[0].startswith("You've been asked a question (#1) by Chloe Price:")
    assert messages(early) == [] and messages(due) == []  # the notice waits for the working week
    flagged = messages(monday, "jo")
    assert flagged == [
        "Question #1 has waited 5 days for an answer (▲0):\n"
        "Can we have parking permits?\n"
        "Answer in the open with `answer 1 <your answer>`."
    ]
    assert messages(monday, "helen") == []  # addressed to Jo, so only Jo hears
    assert messages(later) == []


async def test_a_question_answered_by_another_leader_is_not_answered_again_unknowingly(bot: Bot) -> None:
    await bot.play("chloe: ask to @helen Can we have parking permits?")

    first = await bot.play("jo: answer 1 Yes, from January.")
    shown = await bot.play("helen: answer 1 And they will cover the hospital site too.")
    second = await bot.play("helen: 1")

    # Helen, whom it was asked of, hears that Jo answered it.
    assert messages(first, "helen") == [
        "Jo Adeyemi answered question #1, which was asked of you:\nYes, from January.\n"
        "Add to it in the open with `answer 1 <your answer>`."
    ]
    # Before a second answer goes to the asker and everyone who upvoted, the first is shown.
    assert messages(shown, "helen") == [
        "#1 already has Jo Adeyemi's answer (Mon 30 Nov):\nYes, from January.\n"
        "Add yours too? Its asker and everyone who upvoted it will hear of it.\n"
        "[1] Add my answer  [2] Don't post\nNothing is posted until you choose."
    ]
    assert messages(shown, "chloe") == []
    assert messages(second, "helen") == [
        "Answered #1:\nAnd they will cover the hospital site too.",  # the show-back, in place
        "Added your answer to #1, which Jo Adeyemi had answered on Mon 30 Nov. "
        "It's in the thread and the asker has been told.",
    ]
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
        "Mon 30 Nov #1 approved by Kate Morgan",  # no note, no dangling colon
    ]


async def test_a_sentence_that_starts_with_ask_is_shown_back_before_anything_is_posted(bot: Bot) -> None:
    typed = await bot.play("amira: Ask the families to tell us when nobody turns up")
    shared = await bot.play("amira: 3")
    asked = await bot.play("chloe: ask can we have parking permits for care visits\nchloe: 1")
    whole = await bot.play("dev: Ask the families what they think of visits\ndev: 1")
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
    # What was shown back is what is posted: the "Ask" of a sentence stays.
    assert messages(whole, "dev")[0].splitlines()[1] == "Ask the families what they think of visits"
    assert messages(whole, "#qa")[0].splitlines()[1] == "Ask the families what they think of visits"


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
        sam: ask no name please why rota late?
        lena: ask don’t use my name why is the rota always late?
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
    # No name; Reablement's team, of five besides its manager, as each author was told (Housing's two are
    # too few for Sam's to carry one).
    assert [m.splitlines()[1:3] for m in shown] == [
        ["fuel cards for carers", "From: anonymous (Reablement)"],
        ["a rota app", "From: anonymous (Reablement)"],
        ["shared vans", "From: anonymous (Reablement)"],
        ["better rotas", "From: anonymous"],
    ]
    assert "Why are rotas late?" in posted and "Helen" not in posted
    # A form not understood is not guessed at: nothing is posted, with a name or without.
    assert messages(out, "priya") == [
        "That mentions being anonymous, so nothing was posted with your name. "
        "Send `ask anon <your question>` to stay anonymous, or `ask <your question>` to put your name to it."
    ]
    assert "talk to someone about nights" not in posted
    # Said in plain words, it was posted under Sam's name.
    assert messages(out, "sam")[-1].startswith("That mentions being anonymous, so nothing was posted")
    assert "why rota late" not in posted
    assert messages(out, "lena")[-1].startswith("That mentions being anonymous")  # a phone's curly ’ too
    assert "always late" not in posted


async def test_questions_that_come_due_together_are_flagged_in_one_notice_most_upvoted_first(
    bot: Bot,
) -> None:
    asked = [
        f"{who}: ask Question number {n} about rotas?"
        for n, who in enumerate(["amira", "chloe", "dev", "ellie", "ben", "sam", "sam"], 1)
    ]
    await bot.play("\n".join([*asked, "chloe: upvote 6", "dev: upvote 6", "amira: upvote 3"]))

    due = await bot.play("/clock +7d")  # five days on is Saturday: the notice waits for Monday

    assert recipients(due).count("helen") == 1 and recipients(due).count("jo") == 1  # one notice each
    assert messages(due, "helen") == [
        "7 questions have waited 5 days for an answer, most upvoted first:\n"
        "• #6 (▲2): Question number 6 about rotas? → `answer 6 <answer>`\n"
        "• #3 (▲1): Question number 3 about rotas? → `answer 3 <answer>`\n"
        "• #1 (▲0): Question number 1 about rotas? → `answer 1 <answer>`\n"
        "• #2 (▲0): Question number 2 about rotas? → `answer 2 <answer>`\n"
        "• #4 (▲0): Question number 4 about rotas? → `answer 4 <answer>`\n"
        "• and 2 more → `todo`\n"
        "Answer in the open; `questions <number>` reads one in full."
    ]
    assert messages(await bot.play("/clock +1d")) == []  # each question is flagged once


async def test_a_long_list_of_questions_pages_and_the_newest_are_not_lost(bot: Bot) -> None:
    await bot.play("\n".join(f"dev: ask Is question {n} answered yet?" for n in range(1, 26)))
    await bot.play("amira: upvote 2")

    first = messages(await bot.play("amira: questions"), "amira")[0].splitlines()
    second = messages(await bot.play("amira: questions page 2"), "amira")[0].splitlines()
    beyond = messages(await bot.play("amira: questions page 3"), "amira")

    assert first[1].startswith("#2 ▲1 ")  # most upvoted first
    assert first[2].startswith("#25 ▲0 ")  # then the newest, which nobody has seen yet
    assert first[-2:] == [
        "Showing 1–20 of 25.",
        "`questions page 2` for more, `questions <number>` reads one with its answers, "
        "`upvote <number>` supports one.",
    ]
    assert [row.split()[0] for row in second[1:6]] == ["#6", "#5", "#4", "#3", "#1"]
    assert second[-2] == "Showing 21–25 of 25."
    assert beyond == ["There are only 25 questions open: no page 3."]


async def test_leaders_todo_lists_ten_questions_and_counts_the_rest(bot: Bot) -> None:
    await bot.play("\n".join(f"dev: ask to @jo Is question {n} answered yet?" for n in range(1, 14)))

    todo = messages(await bot.play("jo: todo"), "jo")[0].splitlines()

    assert sum(row.startswith("• Question #") for row in todo) == 10
    assert "• and 3 more questions waiting → `questions`" in todo


async def test_a_posted_question_can_be_taken_down_by_a_moderator(bot: Bot) -> None:
    await bot.play(
        """
        liam: ask Gary is useless and should be sacked?
        chloe: ask anon Why is Gary still in charge of Repairs?
        """
    )

    out = await bot.play(
        """
        ben: moderate remove 1 Personal remarks
        kate: moderate remove 1
        kate: moderate remove 1 Personal remarks about a colleague
        kate: moderate remove 2 Names a colleague
        kate: moderate remove 1 Again
        dev: upvote 1
        jo: answer 2 Not here.
        kate: moderate log
        """
    )

    assert messages(out, "ben") == [
        "Sorry, only admins can use `moderate`. Type `help` to see what you can do."
    ]
    kate = messages(out, "kate")
    assert kate[0] == "Your reason is empty. Please write something."
    assert kate[1:3] == [
        "#1 removed: its post now says so, and the asker has been told. `questions 1` shows anyone your "
        "reason.",
        "#2 removed: its post now says so, and the asker has been told. `questions 2` shows anyone your "
        "reason.",
    ]
    assert kate[3] == "Question #1 was removed by a moderator. `questions 1` says why."
    assert messages(out, "#qa") == [
        "Question #1 was removed by a moderator.",
        "Question #2 was removed by a moderator.",
    ]
    assert "(updated)" in "\n".join(line for line in out if line.startswith("-> #qa"))  # in place
    assert messages(out, "liam") == [
        "Your question #1 was taken down by a moderator, who said:\nPersonal remarks about a colleague"
    ]
    assert messages(out, "chloe") == [
        "Your question #2 was taken down by a moderator, who said:\nNames a colleague"
    ]
    assert messages(out, "dev") == ["Question #1 was removed by a moderator. `questions 1` says why."]
    assert messages(out, "jo") == ["Question #2 was removed by a moderator. `questions 2` says why."]
    assert kate[-1].splitlines()[1:3] == [
        "Mon 30 Nov #2 removed by Kate Morgan: Names a colleague",
        "Mon 30 Nov #1 removed by Kate Morgan: Personal remarks about a colleague",
    ]
    assert "Gary" not in messages(await bot.play("amira: questions"), "amira")[0]


async def test_a_question_taken_down_stays_seen_as_such_with_the_reason_by_all_who_followed_it(
    bot: Bot,
) -> None:
    # A hard question, answered and then removed, vanished: "There is no open question #1" to anyone looking,
    # "none yet" in its asker's own list, and nothing to whoever had upvoted or answered it.
    await bot.play(
        "chloe: ask Why was the reablement budget cut without asking staff?\n"
        "dev: upvote 1\nhelen: answer 1 We had to find savings.\ndev: ask anon Is the depot closing?"
    )
    out = await bot.play("kate: moderate remove 1 Under review by HR\nkate: moderate remove 2 Rumour")
    later = await bot.play("amira: questions 1\nchloe: questions mine\ndev: questions mine\namira: upvote 1")

    assert messages(out, "kate")[0] == (
        "#1 removed: its post now says so, and the asker, and whoever upvoted, answered or was asked it, has "
        "been told. `questions 1` shows anyone your reason."
    )
    for who in ("dev", "helen"):
        assert "Question #1 was removed by a moderator, who said:\nUnder review by HR" in messages(out, who)
    amira = messages(later, "amira")
    assert amira[0] == "Question #1 was removed by a moderator on Mon 30 Nov, who said:\nUnder review by HR"
    assert amira[1] == "Question #1 was removed by a moderator. `questions 1` says why."
    assert (
        "#1 ▲1 Why was the reablement budget cut without asking staff? — removed by a moderator"
        in (messages(later, "chloe")[0])
    )
    assert "#2 (anonymous) ▲0 Is the depot closing? — removed by a moderator" in messages(later, "dev")[0]


async def test_an_approved_question_waits_for_its_answer_from_when_it_was_posted(
    database_url: str, tmp_path: Path
) -> None:
    bot = await start_bot(database_url, tmp_path, premoderate_anonymous=True)
    try:
        await bot.play("mo: ask anon Will the night rota change?")
        await bot.play("/clock +6d")
        approved = await bot.play("kate: moderate approve 1")
        soon = await bot.play("/clock +1h")
        shown = messages(await bot.play("amira: questions"), "amira")[0]
    finally:
        await bot.app.close()

    assert messages(approved, "#qa")[0].startswith("Question #1 from an anonymous colleague:")
    assert messages(soon) == []  # not "waited 5 days": it was posted an hour ago
    assert "— Sun 06 Dec" in shown  # dated from its posting, not its writing


async def test_a_managers_answer_is_heard_but_the_question_stays_open_for_senior_leaders(bot: Bot) -> None:
    await bot.play("chloe: ask anon Why does Ben never reply to emails?")

    ben = await bot.play("ben: answer 1 I reply within two days to everyone.")
    still_open = messages(await bot.play("amira: questions"), "amira")[0]
    thread = messages(await bot.play("amira: questions 1"), "amira")[0]
    due = await bot.play("/clock +7d")  # Monday: Saturday's notice waited for it
    helen = await bot.play(
        "helen: answer 1 We will look at response times.\nhelen: answer 1 And report back."
    )
    closed = messages(await bot.play("amira: questions"), "amira")[0]

    assert messages(ben, "ben") == [
        "Your answer to #1 is in the thread and the asker has been told. "
        "The question stays open for a senior leader to answer too."
    ]
    assert messages(ben, "chloe")[0].startswith("Your question #1 has an answer from Ben Carter:")
    assert "#1 ▲0 Why does Ben never reply to emails?" in still_open
    assert thread.startswith(
        "Question #1 from an anonymous colleague, Mon 30 Nov (▲0), open for a senior leader"
    )
    # Not "waited for an answer": it had Ben's, and waits for a leader's.
    assert messages(due, "helen")[0].startswith(
        "Question #1 has a manager's answer and has waited 5 days for a senior leader's (▲0):"
    )
    assert messages(due, "helen")[0].endswith("`questions 1` reads the manager's.")
    assert messages(helen, "helen")[0].startswith("Added your answer to #1, which Ben Carter had answered")
    assert closed == "Open questions, most upvoted first: none. Ask one with `ask <your question>`."
    again = await bot.play(
        "dev: ask Can we park at the depot?\nhelen: answer 2 Yes.\nhelen: answer 2 From May."
    )
    assert messages(again, "helen")[1].startswith(
        "Added your answer to #2, which you had answered on Mon 07 Dec."
    )


async def test_moderators_are_reminded_once_of_questions_held_over_a_day(
    database_url: str, tmp_path: Path
) -> None:
    bot = await start_bot(database_url, tmp_path, premoderate_anonymous=True)
    try:
        await bot.play("amira: ask anon Will the night rota change?\nchloe: ask anon Is parking free?")
        early = await bot.play("/clock +23h")
        due = await bot.play("/clock +2h")
        later = await bot.play("/clock +2d")
        await bot.play("kate: moderate approve 1")
        answered_late = await bot.play("/clock +5d1h")
    finally:
        await bot.app.close()

    assert messages(early, "kate") == []
    assert messages(due, "kate") == [
        "2 anonymous questions have waited over a day for moderation; their askers are waiting to hear.\n"
        "`moderate list` shows them; `moderate approve <n>` or `moderate reject <n> <reason>`."
    ]
    assert messages(due, "helen") == [] and messages(later) == []  # moderators only, and once
    # Approved, it waits for its answer afresh and is flagged to the leaders when that wait runs out.
    assert messages(answered_late, "helen")[0].startswith("Question #1 has waited 5 days for an answer")


async def test_an_anonymous_askers_follow_up_reaches_every_answerer_themselves_included(bot: Bot) -> None:
    # Lena asked anonymously and answered too; left out of the news of the asker's follow-up, she was the
    # only answerer who did not hear it, which named her as the asker.
    await bot.play(
        "lena: ask anon Will the Housing restructure go ahead?\n"
        "helen: answer 1 It is being consulted on.\nlena: answer 1 Housing has not been told more.\nlena: 1"
    )

    out = await bot.play("lena: followup 1 When does the consultation end?")

    told = {
        who for who in recipients(out) if any("New follow-up on question #1" in m for m in messages(out, who))
    }
    assert told == {"helen", "lena"}


async def test_a_question_put_to_a_leader_who_has_left_is_flagged_to_every_senior_leader(bot: Bot) -> None:
    await bot.play("chloe: ask to @jo Can we have parking permits?")
    async with bot.app.store.transaction() as tx:
        jo = await tx.directory.person_by_handle("jo")
        assert jo is not None
        await tx.directory.set_active(jo.id, False)  # a complete import left her out

    due = await bot.play("/clock +7d")  # Monday: Saturday's notice waited for it

    # Before, the notice went to Jo alone, and failed: nobody heard of it again.
    assert messages(due, "helen") == [
        "Question #1 has waited 5 days for an answer (▲0):\n"
        "Can we have parking permits?\n"
        "Answer in the open with `answer 1 <your answer>`."
    ]
    assert messages(due, "jo") == []


async def test_staff_may_put_a_question_to_their_manager_in_the_open(bot: Bot) -> None:
    out = await bot.play("ellie: ask to @ben When will the new rota be out?\nellie: ask to @amira Why?")
    due = await bot.play("/clock +7d")  # Monday: Saturday's notice waited for it

    # Before: "Ben Carter isn't a senior leader".
    assert messages(out, "ben")[0].startswith("You've been asked a question (#1) by Ellie Watson:")
    assert messages(out, "ellie")[-1].startswith("Amira Hassan isn't a manager or senior leader.")
    assert messages(due, "ben")[0].startswith("Question #1 has waited 5 days for an answer")
    assert messages(due, "helen") == []  # put to Ben, so only Ben hears


async def test_a_leaders_reply_in_the_questions_thread_is_her_answer_or_a_question_back(bot: Bot) -> None:
    # The channel post says "Senior managers answer here": Jo's reply there was stored as a follow-up and the
    # question stayed open; then taken as an answer always, a leader's "which site?" closed it. They choose.
    await bot.play("chloe: ask Can we have parking permits for care visits?\ndev: upvote 1")
    offered = await bot.play("/as jo\n/reply question:1 Yes: Highways agreed twelve permits from January.")
    # On Teams the offer sits in the channel's thread: a tap by anyone else does nothing.
    shown = bot.session.sender.last_choices("jo")
    assert shown is not None and shown.message.choices
    offer = shown.message.choices[0]
    taps = [
        await bot.app.dialogue.handle(
            Chose(Identity("console", "", who), offer.action, offer.ref, offer.options[option].value)
        )
        for who, option in (("dev", 1), ("lena", 0))
    ]
    out = await bot.play("jo: 1")

    assert messages(offered, "jo") == [
        "You replied in the thread of question #1. Is it your answer?\n"
        "Yes: Highways agreed twelve permits from January.\n"
        "[1] Post as my answer  [2] Keep as a follow-up\n"
        "An answer reaches the asker and everyone who upvoted; a senior leader's closes the question. "
        "Nothing is sent until you choose."
    ]
    assert messages(offered, "chloe") == []  # nothing reaches the asker before the choice
    assert [tap.messages[0].fallback() for tap in taps] == 2 * [
        "Only whoever wrote that reply can choose what it is."
    ]
    assert messages(out, "jo")[-1] == "Answered #1. It's in the thread and the asker has been told."
    assert messages(out, "chloe")[0].startswith("Your question #1 has an answer from Jo Adeyemi:")
    assert messages(out, "dev")[0].startswith("Question #1, which you upvoted, has an answer from Jo")
    assert "#1" not in messages(await bot.play("helen: todo"), "helen")[0]  # answered: no longer waiting
    assert messages(await bot.play("chloe: questions 1"), "chloe")[0].splitlines()[0].endswith("answered:")

    # A question back stays a follow-up: the question stays open for its answer.
    await bot.play("amira: ask Will the permits cover pool cars?")
    await bot.play("/as helen\n/reply question:2 Which site do you mean?")
    out = await bot.play("helen: 2")
    assert "New follow-up on question #2 from Helen Marsh" in messages(out, "amira")[0]
    assert "not answered yet" in messages(await bot.play("amira: questions 2"), "amira")[0].splitlines()[0]

    # The asker's own reply there is a follow-up, a manager's too if it is their own named question.
    out = await bot.play("/as chloe\n/reply question:1 Thank you!")
    assert messages(out, "chloe") == ["Follow-up added to #1."]
    await bot.play("ben: ask Will the permits cover the Reablement pool cars?")
    out = await bot.play("/as ben\n/reply question:3 That is, the six in the north patch.")
    assert messages(out, "ben") == ["Follow-up added to #3."]


async def test_a_manager_who_asked_anonymously_is_offered_what_every_manager_is_in_its_thread(
    bot: Bot,
) -> None:
    # Taken as an answer at once, Ben's clarification of his own anonymous question went to its upvoters as
    # "an answer from Ben Carter", and he lost the warning that a thread reply shows his name.
    await bot.play(
        "ben: ask anon Why are we cutting the Sunday shuttle?\nlena: ask anon Why close the depot?"
    )
    own = await bot.play("/as ben\n/reply question:1 The shuttle serves forty clients.")
    other = await bot.play("/as ben\n/reply question:2 The depot holds our kit.")
    kept = await bot.play("ben: 2")

    assert messages(own, "ben")[0].replace("#1", "#N").replace("shuttle serves forty clients", "X") == (
        messages(other, "ben")[0].replace("#2", "#N").replace("depot holds our kit", "X")
    )
    assert messages(kept, "ben")[-1].startswith(
        "Follow-up added to #2. A reply in the thread shows your name"
    )


async def test_a_leader_answers_a_question_put_to_her_by_replying_to_its_notice(bot: Bot) -> None:
    # "You've been asked a question" invites a reply; words written under it met "I didn't catch that".
    await bot.play("amira: ask to @jo Will the Christmas rota be out by Friday?")
    shown = messages(await bot.play("jo: Yes - it goes out on Thursday after the team leads meet."), "jo")
    out = await bot.play("jo: 2")

    assert shown[0].splitlines()[:4] == [
        "Post this under your name, in the open, as your answer to a question put to you?",
        "Yes - it goes out on Thursday after the team leads meet.",
        "Put to you:",
        "#1: Will the Christmas rota be out by Friday?",
    ]
    assert "[1] Not an answer  [2] Answer #1" in shown[0]  # the safe choice first
    assert messages(out, "amira")[0].startswith("Your question #1 has an answer from Jo Adeyemi:")
    assert "Answer from Jo Adeyemi: Yes - it goes out on Thursday" in messages(out, "#qa")[-1]

    # Not an answer: nothing is posted; staff, to whom nothing is put, are not offered it.
    await bot.play("amira: ask to @jo And the new year rota?")
    out = await bot.play("jo: Thanks for flagging the rota question\njo: 1")
    assert messages(out, "jo")[-1] == "Nothing was posted."
    assert "#qa" not in recipients(out)
    said = messages(await bot.play("dev: The rota was late again"), "dev")[0]
    assert said.startswith("I didn't catch that.")


async def test_staff_find_their_own_questions_and_reply_to_an_answer_in_plain_words(bot: Bot) -> None:
    # "questions mine" listed the command forms, and words written under an answer were lost.
    await bot.play(
        "amira: ask anon Why is mileage pay always late?\n"
        "amira: ask Can we get phone chargers in the pool cars?\n"
        "chloe: ask Are the new rotas out?\n"
        "jo: answer 1 Payroll moves to weekly runs in January."
    )
    mine = messages(await bot.play("amira: questions mine"), "amira")[0].splitlines()
    chloes = messages(await bot.play("chloe: questions mine"), "chloe")[0]
    offered = messages(await bot.play("amira: thank you but my manager approved it in october"), "amira")
    out = await bot.play("amira: 2")

    assert mine[:3] == [
        "Your questions (only you see which are yours):",
        "#2 ▲0 Can we get phone chargers in the pool cars? — not answered yet",
        "#1 (anonymous) ▲0 Why is mileage pay always late? — answered",
    ]
    assert "mileage" not in chloes and "#3" in chloes
    assert offered[0].splitlines()[:2] == [
        "Add this to your question #1 as a follow-up (it stays anonymous)?",
        "thank you but my manager approved it in october",
    ]
    assert "(thread question:1) The asker followed up: thank you but my manager approved" in "\n".join(
        messages(out, "#qa")
    )
    assert messages(out, "jo")[0].startswith("New follow-up on question #1 from the asker:")
    said = messages(await bot.play("chloe: The rota was late again"), "chloe")[0]
    assert said.startswith("I didn't catch that.")  # no answer to a question of hers: nothing offered
    # The command without its number ("'thank' is not a number") points at her own latest question.
    numberless = messages(await bot.play("amira: followup thank you but still nothing"), "amira")[0]
    assert numberless == (
        "Which question is it for? `followup 2 <text>` adds to your question #2 "
        "(`questions mine` lists yours)."
    )


async def test_an_asker_withdraws_a_question_nobody_has_answered(bot: Bot) -> None:
    # Asked anonymously, then again with her name by mistake: side by side, the two named her, and nothing
    # she typed ("delete 1", "that was mistake pls remove") could take either back.
    await bot.play(
        "farah: ask anon why mileage pay is always late\n"
        "farah: ask why is mileage pay always late?\n"
        "dev: upvote 2\n"
        "chloe: ask Can the rota come out on Fridays?\n"
        "jo: answer 3 Yes, from next month."
    )
    typed = messages(await bot.play("farah: delete 2"), "farah")
    out = await bot.play("farah: questions withdraw 2")
    refused = await bot.play("dev: questions withdraw 1\nchloe: questions withdraw 3")
    after = messages(await bot.play("dev: upvote 2\namira: questions"), "amira")[0]

    assert typed[0].startswith("To take back a question of yours that nobody has answered yet, type ")
    assert messages(out, "farah") == ["Withdrawn: #2 is taken down, and nobody can answer it now."]
    assert messages(out, "#qa") == ["Question #2 was withdrawn by whoever asked it."]  # its post, in place
    assert messages(out, "dev") == ["Question #2 was withdrawn by whoever asked it."]  # who upvoted it
    assert messages(refused, "dev") == [
        "Only whoever asked #1 can withdraw it, and only before it is answered."  # the same for anyone
    ]
    assert messages(refused, "chloe") == [
        "Only whoever asked #3 can withdraw it, and only before it is answered."
    ]
    assert "why is mileage pay always late?" not in after and "#1" in after
    # Nothing kept ties the withdrawn named twin to the anonymous one: not its words, not who asked it, not
    # the messages about it (its post keeps only its place in the channel).
    async with bot.app.store.engine.connect() as db:
        row = (await db.execute(text("SELECT text, asker_id, status FROM questions WHERE id = 2"))).one()
        about = (
            await db.execute(text("SELECT message FROM deliveries WHERE key LIKE 'question:2:%'"))
        ).scalars()
        kept = " ".join(str(m) for m in about)
    assert tuple(row) == ("", None, "withdrawn")
    assert "mileage" not in kept and "Farah" not in kept
    # A question nobody has (or one held for moderation) is refused in the same words as someone else's.
    unknown = messages(await bot.play("dev: questions withdraw 99"), "dev")
    assert unknown == ["Only whoever asked #99 can withdraw it, and only before it is answered."]


async def test_a_leader_put_an_anonymous_question_to_herself_is_told_of_its_withdrawal_like_any(
    bot: Bot,
) -> None:
    # Left out of the notice as its writer, the leader it was put to was the one it named.
    await bot.play("lena: ask anon to @lena Is the depot closing?\ndev: upvote 1")
    out = await bot.play("lena: questions withdraw 1")

    assert "Question #1 was withdrawn by whoever asked it." in messages(out, "lena")
    assert messages(out, "dev") == ["Question #1 was withdrawn by whoever asked it."]


async def test_a_follow_up_or_comment_asking_not_to_be_named_is_not_posted_with_the_name(bot: Bot) -> None:
    await bot.play("chloe: ask Will the depot close?\namira: idea Shared vans")
    out = await bot.play(
        "dev: followup 1 no name please, my lead said it will\nellie: comment 1 anon I agree"
    )

    assert messages(out, "dev")[0].startswith("That mentions being anonymous, so nothing was posted")
    assert messages(out, "ellie")[0].startswith("That mentions being anonymous, so nothing was posted")
    assert messages(out, "#qa") == [] and messages(out, "chloe") == [] and messages(out, "amira") == []


async def test_an_answer_or_a_move_does_not_claim_to_reach_someone_no_longer_in_the_directory(
    bot: Bot,
) -> None:
    # A manager was told "the asker has been told" while the notice failed: she had been switched off.
    await bot.play(
        "amira: ask Will weekend rotas be published a month ahead?\n"
        "chloe: ask anon Will the pool cars come back?\n"
        "amira: idea Text people when a visit will be late"
    )
    async with bot.app.store.transaction() as tx:
        for handle in ("amira", "chloe"):
            person = await tx.directory.person_by_handle(handle)
            assert person is not None
            await tx.directory.set_active(person.id, False)

    out = await bot.play(
        "jo: answer 1 Yes, from January.\njo: answer 2 Not this year.\nben: status 1 review Worth a try"
    )

    said = messages(out, "jo") + messages(out, "ben")
    assert (
        "Answered #1. It's in the thread; Amira Hassan is no longer in the directory, so was not told."
        in said
    )
    # Whether an anonymous asker has left must not show: the answer reads as any other.
    assert "Answered #2. It's in the thread and the asker has been told." in said
    assert (
        "#1 is now under review. Amira Hassan, who shared it, is no longer in the directory, so was not told."
        in said
    )


async def test_a_question_asked_again_in_the_same_words_is_pointed_at_the_first(bot: Bot) -> None:
    # Sent twice on a slow signal, it was posted twice in the open; asked by two, it split the upvotes.
    out = await bot.play(
        "amira: ask Will weekend rotas be published a month ahead?\n"
        "amira: ask will weekend rotas be published a month ahead ?\n"
        "chloe: ask anon Will weekend  rotas be published a month ahead?!"
    )

    refusal = (
        "That was asked already, as #1 (`questions 1`): `upvote 1` adds your support, and you'll hear its "
    )
    refusal += "answers."
    assert messages(out, "amira")[-1] == refusal and messages(out, "chloe") == [refusal]
    assert len(messages(out, "#qa")) == 1


async def test_an_anonymous_question_withdrawn_keeps_no_message_that_leads_to_its_asker(
    database_url: str, tmp_path: Path
) -> None:
    # Its approval notice went to the asker alone, by her keyed route: kept, anyone with the key and the
    # database could still name who had asked the question she took back.
    bot = await start_bot(database_url, tmp_path, premoderate_anonymous=True)
    try:
        await bot.play(
            "amira: ask anon Is the depot closing?\nkate: moderate approve 1\namira: questions withdraw 1"
        )
        async with bot.app.store.engine.connect() as db:
            routed = (
                (
                    await db.execute(
                        text(
                            "SELECT key FROM deliveries WHERE key LIKE 'question:1:%' "
                            "AND (person_id IS NOT NULL OR route IS NOT NULL)"
                        )
                    )
                )
                .scalars()
                .all()
            )
    finally:
        await bot.app.close()

    assert all(":withdrawn:" in key for key in routed), routed
