"""Bad input gets a clear, friendly answer and changes nothing; help lists what each person may do."""

from __future__ import annotations

from sqlalchemy import text

from tests.e2e.harness import Bot, messages

ZERO_WIDTH, COMBINING = "\u200b", "\u0301"  # a zero-width space; a combining acute accent
TABLES = ("ideas", "idea_votes", "idea_comments", "questions", "question_upvotes", "qa_posts", "deliveries")


async def _row_counts(bot: Bot) -> dict[str, int]:
    async with bot.app.store.engine.connect() as db:
        return {
            table: (await db.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one() for table in TABLES
        }


async def test_mistakes_are_explained_and_nothing_is_stored(bot: Bot) -> None:
    long_idea = "x" * 1001
    out = await bot.play(
        f"""
        amira: idea no
        amira: idea {long_idea}
        amira: vote abc
        amira: vote 99
        amira: comment 99 nice
        amira: upvote 7
        amira: ask
        amira: ideas flying
        amira: followup 3 hello
        amira: blah blah
        amira: idea {ZERO_WIDTH * 4}
        amira: idea\tno
        amira: ask {COMBINING * 4}
        amira: idea 12
        ben: pulse send Nothing
        ben: answer 1
        """
    )

    assert messages(out, "amira") == [
        "Your idea is too short. Please say a little more.",
        "Your idea is 1001 characters long; the limit is 1000. Please shorten it.",
        "'abc' is not a number. Please give the idea number, like `12`.",
        "There is no idea #99. Type `ideas` to see the list.",
        "There is no idea #99. Type `ideas` to see the list.",
        "There is no open question #7. Type `questions` to see them.",
        "Your question is empty. Please write something.",
        "I don't know 'flying'. Try `ideas`, `ideas mine`, `ideas owned`, `ideas all`, a status "
        "(new, under_review, piloting, implemented, spread, declined) or an idea number.",
        "There is no open question #3. Type `questions` to see them.",
        "I didn't catch that. Type `help` to see what you can do, or `idea <your idea>` to share one.",
        "Your idea is empty. Please write something.",  # nothing in it would show
        "Your idea is too short. Please say a little more.",  # a tab after the command word
        "Your question is empty. Please write something.",
        "To see idea #12, type `ideas 12`. To share one, write it after `idea`.",
    ]
    assert messages(out, "ben")[0] == "There is no pulse called 'Nothing'. `pulse list` shows them."
    assert all(n == 0 for n in (await _row_counts(bot)).values()), await _row_counts(bot)


async def test_help_lists_only_what_the_caller_may_do(bot: Bot) -> None:
    out = await bot.play("amira: help\nben: help\njo: help\nkate: help")

    staff, manager, leader, admin = (messages(out, who)[0] for who in ("amira", "ben", "jo", "kate"))
    # Each command by an example, not its notation ("[anon] <your idea>" read aloud puzzles people).
    assert "`idea Text people when a visit will be late` — share an improvement idea" in staff
    assert "`status" not in staff and "`pulse" not in staff and "[" not in staff and "<" not in staff
    assert "`status 12 review Let's try this on the east patch`" in manager and "`checkin" not in manager
    assert "`checkin list" in leader and "`answer 3 Yes, from January`" in leader
    assert "`moderate" in admin and "`moderate" not in leader
    assert staff.endswith(
        "`help` and a command's name shows all it can do, e.g. `help ideas`; `help anon` says what is "
        "anonymous and what is not. Reply to a prompt by just typing. Numbers like 12 and #12 both work."
    )


async def test_help_with_words_after_it_gives_the_list_and_names_a_mistyped_command(bot: Bot) -> None:
    out = await bot.play(
        "amira: help me with rotas\namira: help vot\namira: help vote\namira: HELP ME\namira: help pulse"
    )

    asked, typo, one, me, pulse = messages(out, "amira")
    assert asked.startswith("Hello Amira Hassan. Here is what you can do, with an example of each:\n")
    assert typo.startswith(
        "Hello Amira Hassan. There is no command 'vot'; here is what you can do, with an example"
    )
    assert one.startswith("`vote <idea number>`")
    assert me.startswith(
        "Hello Amira Hassan. Here is what you can do, with an example of each:\n"
    )  # not "There is no command 'me'"
    # A pulse is the managers' to send, and hers to answer: help says how.
    assert pulse.endswith("To answer one, tap the buttons on its question, or type your answer (4, yes...).")


async def test_becoming_a_handle_nobody_has_is_refused_not_a_new_person(bot: Bot) -> None:
    async with bot.app.store.engine.connect() as db:
        before = (await db.execute(text("SELECT count(*) FROM people"))).scalar()

    out = await bot.play("/as amirah")

    assert any("nobody here has the handle amirah" in line for line in out)
    async with bot.app.store.engine.connect() as db:
        assert (await db.execute(text("SELECT count(*) FROM people"))).scalar() == before
        assert (await db.execute(text("SELECT count(*) FROM people WHERE handle = 'amirah'"))).scalar() == 0


async def test_the_record_of_arrivals_keeps_two_days_of_them(bot: Bot) -> None:
    async with bot.app.store.transaction() as tx:
        await tx.inbox.first_time("slack:event:Ev-old", at=bot.clock.now())

    await bot.play("/clock +1d")
    async with bot.app.store.engine.connect() as db:
        assert (await db.execute(text("SELECT count(*) FROM inbox"))).scalar() == 1
    await bot.play("/clock +1d1h")  # the scheduler's housekeeping forgets it

    async with bot.app.store.engine.connect() as db:
        assert (await db.execute(text("SELECT count(*) FROM inbox"))).scalar() == 0
