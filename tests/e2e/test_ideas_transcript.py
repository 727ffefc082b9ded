"""Ideas end to end on the console: submit, vote, the pipeline with reasons, owners, adoption, anonymity."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from tests.e2e.harness import ORGANISATION, Bot, messages, recipients, start_bot


async def test_the_idea_pipeline_tells_the_submitter_every_move_with_its_reason(bot: Bot) -> None:
    out = await bot.play(
        """
        chloe: idea Text people when a visit will be late
        dev: vote 1
        dev: vote 1
        chloe: vote 1
        ben: status 1 under review Worth trying on the east patch
        ben: owner 1 @ben
        ben: status 1 piloting Two weeks on the east patch
        ben: status 1 implemented Now standard across Reablement
        ben: comment 1 Thank you Chloe
        """
    )

    assert messages(out, "chloe")[0] == "Thanks! Your idea #1 is in. You'll hear about every change."
    assert messages(out, "dev")[:2] == [
        "Voted. #1 now has 1 vote.",
        "You've already voted for #1. One vote each.",
    ]
    assert "your own idea" in messages(out, "chloe")[1]
    moves = [m for m in messages(out, "chloe") if m.startswith("Your idea #1 moved")]
    assert [m.splitlines()[0] for m in moves] == [
        "Your idea #1 moved from new to under review.",
        "Your idea #1 moved from under review to piloting.",
        "Your idea #1 moved from piloting to implemented.",
    ]
    # "under review" as the bot writes it works as a status; the reason is what follows.
    assert "Reason from Ben Carter: Worth trying on the east patch" in moves[0]
    assert "Reason from Ben Carter: Two weeks on the east patch" in moves[1]
    assert messages(out, "chloe")[-1].startswith("Ben Carter commented on your idea #1: Thank you Chloe")

    history = messages(await bot.play("chloe: ideas 1"), "chloe")[0]
    assert "Owner: Ben Carter" in history
    assert "under review → piloting by Ben Carter: Two weeks on the east patch" in history
    assert "Comments (1):" in history


async def test_a_forbidden_move_an_empty_reason_and_a_staff_member_change_nothing(bot: Bot) -> None:
    out = await bot.play(
        """
        chloe: idea Text people when a visit will be late
        ben: status 1 piloting Skipping review
        ben: status 1 review
        ben: status 1 flying Because
        ben: status 99 review Because
        amira: status 1 review I like it
        chloe: ideas 1
        """
    )

    assert messages(out, "ben") == [
        "#1 is new; it can move to: under review, declined.",
        "Your reason is empty. Please write something.",
        "'flying' is not a status. Statuses: new, under_review, piloting, implemented, spread, declined.",
        "There is no idea #99. Type `ideas` to see the list.",
    ]
    assert messages(out, "amira") == [
        "Sorry, only managers can use `status`. Type `help` to see what you can do."
    ]
    assert messages(out, "chloe")[-1].startswith("Idea #1 [new]")
    assert "moved" not in "\n".join(messages(out, "chloe"))


async def test_another_team_adopts_an_implemented_idea_and_the_originating_team_hears(bot: Bot) -> None:
    out = await bot.play(
        """
        chloe: idea Share spare PPE between patches
        lena: adopt 1 Not yet please
        ben: status 1 review Yes
        ben: status 1 piloting Yes
        ben: status 1 implemented Yes
        ben: adopt 1 Our own team
        lena: adopt 1 Housing officers will carry spare PPE too
        lena: adopt 1 Again
        """
    )

    assert messages(out, "lena")[0] == "#1 is new; only implemented ideas (spread ones too) can be adopted."
    assert "#1 came from your own team; adoption is for other teams." in messages(out, "ben")
    assert messages(out, "lena")[1:] == [
        "Housing has adopted #1. Its team and yours have been told.",
        "Your team has already adopted #1.",
    ]
    news = "Good practice spreading: Housing has adopted idea #1 from your team."
    for handle in ("ben", "amira", "chloe", "dev", "ellie", "farah"):
        assert any(m.startswith(news) for m in messages(out, handle)), handle
    assert not any(news in m for m in messages(out, "priya"))
    # Housing's people hear what is coming and how, once each.
    for handle in ("priya", "sam"):
        assert messages(out, handle) == [
            "Good practice arriving: Lena Kowalski has adopted idea #1 for Housing.\n"
            "“Share spare PPE between patches”\n"
            "How: Housing officers will carry spare PPE too\n"
            "`ideas 1` shows where it came from and how it went there."
        ], handle
    assert "[spread]" in messages(await bot.play("ben: ideas 1"), "ben")[0]


async def test_good_practice_reaches_those_who_backed_it_and_every_team_under_the_adopter(
    database_url: str, tmp_path: Path
) -> None:
    # Housing's manager Marcus heads Tenancy and Repairs, whose people do the work; Helen voted for the idea
    # and Kate commented on it: neither heard that it spread, nor did Tenancy.
    housing = "marcus,Marcus Reid,Europe/London,manager,Housing Services,\n"
    housing += "tom,Tom Hale,Europe/London,staff,Tenancy,Housing Services\n"
    housing += "rae,Rae Okoro,Europe/London,staff,Repairs,Housing Services\n"
    bot = await start_bot(database_url, tmp_path, people=ORGANISATION + housing)
    try:
        await bot.play(
            """
            chloe: idea Text people when a visit is running late
            helen: vote 1
            kate: comment 1 Comms can write the text template
            ben: status 1 review Trying it
            ben: status 1 implemented Works
            """
        )
        out = await bot.play("marcus: adopt 1 Repairs will text tenants when an operative runs late")
        listed = messages(await bot.play("sam: ideas implemented"), "sam")[0]
    finally:
        await bot.app.close()

    backed = "Idea #1, which you voted for or commented on, has been adopted by Housing Services."
    assert messages(out, "helen")[0].startswith(backed) and messages(out, "kate")[0].startswith(backed)
    arriving = "Good practice arriving: Marcus Reid has adopted idea #1 for Housing Services."
    for handle in ("tom", "rae"):
        assert messages(out, handle)[0].startswith(arriving), handle
    assert recipients(out).count("helen") == 1  # told once, though she is in no team that heard
    # Staff looking for something to copy find it under implemented, with where it came from and went.
    assert listed.splitlines()[:-1] == [
        "Ideas implemented (spread ones too):",
        "#1 [spread] ▲1 Text people when a visit is running late (from Reablement, adopted by 1 team)",
    ]


async def test_long_idea_lists_say_how_many_there_are_and_page_on(bot: Bot) -> None:
    await bot.play("\n".join(f"dev: idea Idea number {n} for the team" for n in range(1, 26)))
    await bot.play("amira: vote 25")

    first = messages(await bot.play("jo: ideas all"), "jo")[0].splitlines()
    second = messages(await bot.play("jo: ideas all page 2"), "jo")[0].splitlines()
    beyond = messages(await bot.play("jo: ideas page 3"), "jo")[0]

    # Most votes first, then newest; the last line before the hints says how many there are.
    assert [line.split()[0] for line in first[1:4]] == ["#25", "#24", "#23"] and len(first) == 1 + 20 + 2
    assert first[-2] == "Showing 1–20 of 25. `ideas all page 2` for more."
    assert [line.split()[0] for line in second[1:-2]] == ["#5", "#4", "#3", "#2", "#1"]  # the oldest too
    assert second[-2] == "Showing 21–25 of 25."
    assert beyond.startswith("Open ideas: there are 25, so no page 3.")


async def test_a_manager_cannot_learn_who_wrote_an_anonymous_idea_yet_the_author_hears_every_move(
    bot: Bot,
) -> None:
    out = await bot.play(
        """
        /clock +17m
        amira: idea anon Share spare PPE between patches
        ben: ideas
        ben: ideas 1
        ben: ideas all
        ben: ideas new
        ben: status 1 review Worth a try
        ben: comment 1 Whoever you are, thank you
        amira: comment 1 It came from the east patch rounds
        kate: ideas 1
        helen: ideas 1
        amira: ideas mine
        amira: vote 1
        """
    )

    seen_by_others = "\n".join(m for who in ("ben", "kate", "helen") for m in messages(out, who))
    for clue in ("Amira", "amira", "Hassan"):
        assert clue not in seen_by_others
    assert "From: anonymous" in seen_by_others
    assert "The author: It came from the east patch rounds" in seen_by_others  # her comment, without a name
    amira = messages(out, "amira")
    assert amira[0] == (
        "Thanks! Your idea #1 is in. It is anonymous: nobody, managers included, can see it was you, only "
        "that it came from Reablement; you will still hear about every change."
    )
    assert any(m.startswith("Your idea #1 moved from new to under review.") for m in amira)
    assert any(m.startswith("Ben Carter commented on your idea #1") for m in amira)
    assert "#1 [under_review]" in amira[-2] or "#1 [under review]" in amira[-2]
    assert amira[-1] == "#1 is your own idea, so you can't vote for it. Ask colleagues to!"

    # Nor can anyone with the database: no column of the idea or its history points at her.
    async with bot.app.store.engine.connect() as db:
        idea = (await db.execute(text("SELECT author_id, route, created_at FROM ideas WHERE id = 1"))).one()
        submitted = (
            await db.execute(text("SELECT by_id FROM idea_events WHERE idea_id = 1 ORDER BY id"))
        ).first()
        comment = (
            await db.execute(
                text("SELECT author_id, by_author FROM idea_comments WHERE text LIKE 'It came%'")
            )
        ).one()
    assert idea.author_id is None and submitted is not None and submitted.by_id is None
    assert comment.author_id is None and comment.by_author
    assert "amira" not in idea.route and idea.route.startswith("idea:1#")
    async with bot.app.store.transaction() as tx:
        stored = await tx.ideas.get_idea(1)
    assert stored is not None and stored.created_at == bot.clock.now().replace(minute=0)  # only the hour


async def test_an_owner_is_told_what_they_can_do_with_the_idea(bot: Bot) -> None:
    out = await bot.play(
        """
        chloe: idea Text people when a visit will be late
        ben: owner 1 @amira
        ben: owner 1 @jo
        """
    )

    to_amira, handed_on = messages(out, "amira")  # staff: status is not hers to use
    assert handed_on.startswith("Ben Carter made Jo Adeyemi the owner of idea #1, once yours")
    assert "made you the owner of idea #1" in to_amira and "A manager moves it on" in to_amira
    assert "`status 1" not in to_amira
    (to_jo,) = messages(out, "jo")
    assert "Move it on with `status 1 <status> <reason>`." in to_jo


async def test_the_owner_hears_when_another_manager_moves_their_idea(bot: Bot) -> None:
    await bot.play(
        """
        priya: idea Share van keys between the two offices
        lena: status 1 under_review Looking at it with facilities
        """
    )

    out = await bot.play("ben: status 1 piloting Trying it in Reablement first")

    assert messages(out, "ben") == [
        "#1 is now piloting. The submitter and its owner, Lena Kowalski, have been told."
    ]
    (to_lena,) = messages(out, "lena")
    assert to_lena.startswith("Ben Carter moved idea #1, which you own, from under review to piloting.")
    assert "Reason: Trying it in Reablement first" in to_lena
    (to_priya,) = messages(out, "priya")
    assert to_priya.startswith("Your idea #1 moved from under review to piloting.")

    # Priya pushes back in a comment: the owner hears of it, not only those who read the thread.
    out = await bot.play("priya: comment 1 The north office has the spare keys already")
    (to_lena,) = messages(out, "lena")
    assert to_lena.startswith("Priya Nair commented on idea #1, which you own: The north office")


CAMPAIGN = """
[[campaign]]
name = "Fewer missed visits"
priority = "Independent lives at home"
prompt = "What one change would help us miss fewer visits?"
"""


async def test_a_campaign_reply_that_starts_with_a_command_word_is_the_idea(bot: Bot) -> None:
    await bot.programme(CAMPAIGN)
    await bot.play("ben: campaign send Fewer missed visits")

    out = await bot.play(
        """
        amira: Ask families to text us if nobody has arrived by 10
        amira: 1
        chloe: Help carers swap visits through an app
        chloe: 1
        """
    )

    # Shown back first, with the offer to run it as the command it starts with.
    assert "[4] Run as a command" in messages(out, "amira")[0]
    assert messages(out, "amira")[-1].startswith("Thanks! Your idea #1 is in, for the campaign")
    assert messages(out, "chloe")[-1].startswith("Thanks! Your idea #2 is in, for the campaign")
    assert messages(out, "#qa") == []  # nothing asked in the open under her name
    async with bot.app.store.engine.connect() as db:
        ideas = (await db.execute(text("SELECT text FROM ideas ORDER BY id"))).scalars().all()
    assert ideas == [
        "Ask families to text us if nobody has arrived by 10",
        "Help carers swap visits through an app",
    ]
    # An unmistakable command still runs while the prompt waits; once the campaign has closed, any does.
    out = await bot.play("dev: ideas mine\n/clock +30d\ndev: ask Will the new rota app come to us?")
    assert messages(out, "dev")[0].startswith("Your ideas")
    assert any("Question #1" in m for m in messages(out, "#qa"))


async def test_an_author_is_not_offered_a_vote_on_their_own_idea(bot: Bot) -> None:
    await bot.play("amira: idea anon Text people when a visit will be late")

    out = await bot.play("amira: ideas 1\nchloe: ideas 1")

    assert "Vote" not in messages(out, "amira")[0]  # hers, anonymous or not: no button that only refuses
    assert "[1] Vote" in messages(out, "chloe")[0]


async def test_supporters_hear_where_an_idea_went_and_a_declined_idea_can_come_back(bot: Bot) -> None:
    out = await bot.play(
        """
        chloe: idea Text people when a visit will be late
        dev: vote 1
        ellie: comment 1 We did this in Housing, it works
        farah: vote 1
        farah: comment 1 Yes please
        ben: status 1 declined No budget this year, we will revisit in April
        ben: status 1 review Budget found in April
        ben: status 1 declined The supplier pulled out
        """
    )

    def moves(who: str) -> list[str]:
        return [m.splitlines()[0] for m in messages(out, who) if "moved from" in m.splitlines()[0]]

    # Everyone who voted or commented hears each move once, with its reason; the author as before.
    for backer in ("dev", "ellie", "farah"):
        assert moves(backer) == [
            "Idea #1, which you voted for or commented on, moved from new to declined.",
            "Idea #1, which you voted for or commented on, moved from declined to under review.",
            "Idea #1, which you voted for or commented on, moved from under review to declined.",
        ], backer
    assert "Reason from Ben Carter: The supplier pulled out" in messages(out, "dev")[-1]
    # Declined twice, told twice: each move is its own message.
    assert moves("chloe") == [
        "Your idea #1 moved from new to declined.",
        "Your idea #1 moved from declined to under review.",
        "Your idea #1 moved from under review to declined.",
    ]
    assert moves("ben") == []  # the manager who moved it is not told his own move


async def test_an_anonymous_idea_does_not_name_a_campaign_sent_to_a_handful(bot: Bot) -> None:
    await bot.programme(
        CAMPAIGN
        + 'audience = ["Housing"]\n'
        + '\n[[campaign]]\nname = "Safer lifting"\npriority = "Staff wellbeing"\n'
        + 'prompt = "How could lifting be safer?"\naudience = ["Adult Social Care"]\n'
    )
    await bot.play("lena: campaign send Fewer missed visits\nben: campaign send Safer lifting")

    await bot.play("priya: anon Order small kit direct from the supplier")
    await bot.play("sam: Ask the store for a lending shelf\nsam: 1")
    await bot.play("chloe: anon Hoists in every van")
    shown = messages(await bot.play("kate: ideas 1\nkate: ideas 2\nkate: ideas 3"), "kate")

    async with bot.app.store.engine.connect() as db:
        linked = (await db.execute(text("SELECT campaign_id FROM ideas ORDER BY id"))).scalars().all()
    listed = messages(await bot.play("lena: campaign list"), "lena")[0]
    # Three people got "Fewer missed visits": tying Priya's idea to it, even in the database or in a count of
    # its ideas, would name her circle. Sam's is in his name; Chloe's campaign went to six.
    assert linked[0] is None and linked[1] is not None and linked[2] is not None
    assert "Fewer missed visits — Independent lives at home (last sent Mon 30 Nov; 1 idea)" in listed
    assert "From: anonymous" in shown[0] and "Campaign:" not in shown[0]
    assert "From: Sam Reid (Housing)" in shown[1]
    assert "Campaign: Fewer missed visits" in shown[1]
    # Six people got "Safer lifting": the campaign is shown.
    assert "From: anonymous" in shown[2] and "Campaign: Safer lifting" in shown[2]


async def test_an_anonymous_idea_from_a_small_team_still_reaches_someone_to_decide_it(
    database_url: str, tmp_path: Path
) -> None:
    # Occupational Therapy (2) sits under Adult Social Care with Reablement (6) and Nell (1).
    therapy = "olu,Olu Bakare,Europe/London,manager,Occupational Therapy,Adult Social Care\n"
    therapy += "isla,Isla Fraser,Europe/London,staff,Occupational Therapy,Adult Social Care\n"
    therapy += "nell,Nell Ward,Europe/London,manager,Adult Social Care,\n"
    bot = await start_bot(database_url, tmp_path, people=ORGANISATION + therapy)
    try:
        await bot.play("isla: idea anon Order small kit direct from the supplier")
        await bot.play("chloe: idea Keys in a lockbox for out-of-hours visits")
        helen = messages(await bot.play("helen: todo"), "helen")[0]
        async with bot.app.store.engine.connect() as db:
            teams = (await db.execute(text("SELECT team_id FROM ideas ORDER BY id"))).scalars().all()
    finally:
        await bot.app.close()

    # Isla's names no team, not even Adult Social Care: filed there, it could only be from Nell, Olu or Isla
    # (Reablement's own ideas carry Reablement). Senior leaders see every idea that waits, hers among them.
    assert teams[0] is None and teams[1] is not None
    assert (
        "• 2 ideas wait for a decision across the organisation → `ideas new`, `ideas under review`" in helen
    )


async def test_a_campaign_still_out_is_not_sent_again_by_hand_or_by_its_schedule(bot: Bot) -> None:
    await bot.programme(CAMPAIGN + 'schedule = { cron = "0 9 * * MON", time_zone = "Europe/London" }\n')

    out = await bot.play("ben: campaign send Fewer missed visits\nben: campaign send Fewer missed visits")
    week = await bot.play("/clock +1w2h")

    assert (
        "“Fewer missed visits” is already out, taking ideas until Mon 07 Dec 08:00. "
        "You can send it again once it has closed."
    ) in messages(out, "ben")
    prompts = [m for m in messages(out + week, "amira") if "miss fewer visits" in m]
    # Sent by hand at 08:00, open a week: the 09:00 run of that Monday would have asked everyone again;
    # the next Monday's goes out.
    assert len(prompts) == 2, "\n---\n".join(prompts)


async def test_an_idea_that_starts_with_the_word_anonymous_asks_which_it_is(bot: Bot) -> None:
    out = await bot.play(
        """
        dev: idea Anonymous surveys twice a year
        dev: 2
        ellie: idea anonymous rota swaps between patches
        ellie: 1
        farah: idea Anonymous suggestion box in the depot
        farah: 3
        """
    )

    assert messages(out, "dev")[0] == (
        "Share it anonymously, or is “Anonymous” part of your idea?\n"
        "Anonymously: surveys twice a year\n"
        "With your name: Anonymous surveys twice a year\n"
        "[1] Share anonymously  [2] Share with my name  [3] Don't share\n"
        "Nothing is shared until you choose."
    )
    assert messages(out, "farah")[-1] == "Nothing was shared."
    async with bot.app.store.engine.connect() as db:
        shared = (await db.execute(text("SELECT text, author_id IS NULL FROM ideas ORDER BY id"))).all()
    assert [tuple(row) for row in shared] == [
        ("Anonymous surveys twice a year", False),  # the word kept, with her name, as chosen
        ("rota swaps between patches", True),
    ]


async def test_a_campaign_reply_starting_with_anonymous_is_shown_back_whole(bot: Bot) -> None:
    await bot.programme(CAMPAIGN)
    await bot.play("ben: campaign send Fewer missed visits")

    out = await bot.play("amira: Anonymous feedback from families after each missed visit\namira: 2")

    assert messages(out, "amira")[0].startswith(
        "Share this as your idea for “Fewer missed visits”?\n"
        "Anonymous feedback from families after each missed visit\n"
        "[1] Share with my name  [2] Share anonymously"
    )
    async with bot.app.store.engine.connect() as db:
        shared = (await db.execute(text("SELECT text, author_id IS NULL FROM ideas"))).all()
    assert [tuple(row) for row in shared] == [
        ("Anonymous feedback from families after each missed visit", True)
    ]


async def test_campaign_list_says_when_each_was_sent_and_what_it_brought_in(bot: Bot) -> None:
    await bot.programme(
        CAMPAIGN + '\n[[campaign]]\nname = "Quiet one"\npriority = "Rotas"\nprompt = "Anything?"\n'
    )
    await bot.play("ben: campaign send Fewer missed visits")
    await bot.play("amira: Text families when we are late\namira: 1\nchloe: anon Spare keys in a lockbox")

    listed = messages(await bot.play("ben: campaign list"), "ben")[-1]

    assert listed.splitlines() == [
        "Campaigns:",
        "#1 Fewer missed visits — Independent lives at home (last sent Mon 30 Nov; 2 ideas)",
        "#2 Quiet one — Rotas (never sent; 0 ideas)",
    ]


async def test_campaign_ideas_lists_what_one_campaign_brought_in_by_status(bot: Bot) -> None:
    await bot.programme(
        CAMPAIGN + '\n[[campaign]]\nname = "Quiet one"\npriority = "Rotas"\nprompt = "Anything?"\n'
    )
    await bot.play("priya: idea Pool cars for the north patch\nben: campaign send Fewer missed visits")
    await bot.play(
        "amira: Text families when we are late\namira: 1\nchloe: anon Spare keys in a lockbox\n"
        "dev: vote 3\nellie: vote 3"
    )
    await bot.play("ben: status 2 under_review Worth a look with the rota team")

    out = messages(await bot.play("ben: campaign ideas fewer missed\nben: campaign ideas Quiet one"), "ben")
    refused = messages(await bot.play("ben: campaign ideas\nben: campaign ideas Louder one"), "ben")

    # Priya's idea came before the campaign; two votes put Chloe's first.
    assert out[0].splitlines()[:3] == [
        "Ideas from “Fewer missed visits” (2 ideas; 1 new, 1 under review):",
        "#3 [new] ▲2 Spare keys in a lockbox",
        "#2 [under review] ▲0 Text families when we are late",
    ]
    assert out[1] == "“Quiet one” has brought in no ideas yet."
    assert refused[0] == "Which campaign? `campaign list` shows them."
    assert refused[1].startswith("There is no campaign called 'Louder one'.")


async def test_status_words_managers_type_and_an_owner_replaced_is_told(bot: Bot) -> None:
    await bot.play("amira: idea Rota board in the office\nben: owner 1 @chloe")

    out = await bot.play(
        "ben: status 1 in review Worth a look\nben: status 1 trial For a month\n"
        "ben: status 1 done It works\nben: owner 1 @dev"
    )

    assert [m.split(".")[0] for m in messages(out, "ben")][:3] == [
        "#1 is now under review",
        "#1 is now piloting",
        "#1 is now implemented",
    ]
    # Chloe, whose idea it was to carry, hears it is someone else's now.
    assert messages(out, "chloe")[-1] == (
        "Ben Carter made Dev Patel the owner of idea #1, once yours: Rota board in the office"
    )


async def test_a_quick_win_goes_from_under_review_to_implemented_without_a_pilot(bot: Bot) -> None:
    await bot.play("amira: idea Label the key safe\nben: status 1 review Easy to do")

    out = await bot.play("ben: status 1 done Labelled this morning")

    # Before: "under review; it can move to: declined, piloting", and a pretend pilot to get there.
    assert messages(out, "ben")[0].startswith("#1 is now implemented")
    assert messages(out, "amira")[0].startswith("Your idea #1 moved from under review to implemented.")


async def test_an_idea_shared_again_in_the_same_words_is_pointed_at_the_first(bot: Bot) -> None:
    out = await bot.play(
        "chloe: idea Text people when a visit will be late\n"
        "chloe: idea Text people when a visit will be late.\n"
        "dev: idea anon text people when a visit will be late"
    )

    refusal = "That idea is in already, as #1 (`ideas 1`): `vote 1` supports it, and you'll hear whenever it "
    refusal += "moves on."
    assert messages(out, "chloe")[-1] == refusal and messages(out, "dev") == [refusal]
    async with bot.app.store.engine.connect() as db:
        assert (await db.execute(text("SELECT count(*) FROM ideas"))).scalar() == 1


async def test_an_author_withdraws_an_idea_no_manager_has_moved_on(bot: Bot) -> None:
    # Shared anonymously, then again with her name by mistake: side by side, the two named her, and an idea,
    # unlike a question, could not be taken back at all.
    await bot.play(
        "farah: idea anon Mileage claims paid weekly\n"
        "farah: idea Mileage claims paid every week\n"
        "dev: vote 2\n"
        "ellie: comment 2 Yes please, I wait six weeks\n"
        "ben: owner 2 @ben\n"
        "chloe: idea Rotas out on Fridays\n"
        "ben: status 3 review Worth a look"
    )
    typed = messages(await bot.play("farah: delete my idea 2"), "farah")
    out = await bot.play("farah: ideas withdraw 2")
    refused = await bot.play("dev: ideas withdraw 1\nchloe: ideas withdraw 3\ndev: ideas withdraw 99")
    after = await bot.play(
        "amira: ideas\namira: ideas all\namira: ideas 2\ndev: vote 2\nben: status 2 review x"
    )

    assert "`ideas withdraw <number>`" in typed[0]
    assert messages(out, "farah") == ["Withdrawn: idea #2 is out of every list, and its words are deleted."]
    # Whoever voted, commented or owns it hears; nobody else does.
    for who in ("dev", "ellie", "ben"):
        assert messages(out, who) == ["Idea #2 was withdrawn by whoever shared it."], who
    assert set(recipients(out)) == {"farah", "dev", "ellie", "ben"}
    # Anyone else's, an unknown one, or one a manager has moved on stays, the first two refused alike.
    assert messages(refused, "dev") == [
        "Only whoever shared #1 can withdraw it, and only while it is new.",
        "Only whoever shared #99 can withdraw it, and only while it is new.",
    ]
    assert messages(refused, "chloe") == [
        "#3 is under review now: a manager has taken it on, so it stays. `comment 3 <text>` adds to it."
    ]
    listed = messages(after, "amira")
    assert "Mileage claims paid every week" not in listed[0] + listed[1] and "#1" in listed[1]
    assert listed[2] == "Idea #2 was withdrawn by whoever shared it. Type `ideas` to see the list."
    assert messages(after, "dev") == listed[2:] and messages(after, "ben") == listed[2:]
    # Nothing kept ties the withdrawn named twin to the anonymous one: not its words, not who shared it,
    # not its comments, votes or history, not the messages about it (the comment's notice went to Farah
    # alone: its row named her).
    async with bot.app.store.engine.connect() as db:
        row = (await db.execute(text("SELECT text, author_id, status FROM ideas WHERE id = 2"))).one()
        left = [
            (await db.execute(text(f"SELECT count(*) FROM {table} WHERE idea_id = 2"))).scalar()
            for table in ("idea_comments", "idea_events", "idea_votes")
        ]
        about = (await db.execute(text("SELECT key FROM deliveries WHERE key LIKE 'idea:2:%'"))).scalars()
        kept = list(about)
    assert tuple(row) == ("", None, "withdrawn") and left == [0, 0, 0]
    assert kept and all(key.startswith("idea:2:withdrawn:") for key in kept), kept  # the notices of it


async def test_an_anonymous_idea_names_no_team_of_fewer_than_five_besides_its_managers(
    database_url: str, tmp_path: Path
) -> None:
    # Night Team: a manager and four staff. Counted with her, the team reached five and the idea was filed
    # under it, so she knew it came from one of her four.
    night = "nm,Nia Moss,Europe/London,manager,Night Team,Adult Social Care\n" + "".join(
        f"n{i},Night Nurse {i},Europe/London,staff,Night Team,Adult Social Care\n" for i in range(1, 5)
    )
    bot = await start_bot(database_url, tmp_path, people=ORGANISATION + night)
    try:
        await bot.play(
            "n1: idea anon Handovers at night are rushed\nchloe: idea anon Shared vans on weekends"
        )
        todo = messages(await bot.play("nm: todo"), "nm")[0]
        async with bot.app.store.engine.connect() as db:
            teams = (await db.execute(text("SELECT team_id FROM ideas ORDER BY id"))).scalars().all()
    finally:
        await bot.app.close()

    # Reablement has five staff besides Ben: Chloe's is filed there.
    assert teams[0] is None and teams[1] is not None
    assert "idea from your teams" not in todo


async def test_only_those_responsible_for_an_idea_can_decline_it(bot: Bot) -> None:
    # A manager of another directorate declined an uncomfortable idea a minute after it was shared, before
    # anyone could vote; its own team's manager was never told.
    await bot.play("sam: idea Repairs vans shared with Reablement\npriya: idea Rotas out on Fridays")
    refused = await bot.play("ben: status 1 declined No budget\nben: status 2 review Worth a look")
    out = await bot.play(
        "lena: status 1 declined Not this year\nben: owner 2 @ben\nben: status 2 declined Tried it in 2024"
    )

    assert messages(refused, "ben") == [
        "#1 comes from Housing: only its owner, a manager of Housing, a senior leader or an admin can "
        "decline it. To take it on yourself, `owner 1 @ben` (its author is told).",
        "#2 is now under review. The submitter has been told.",  # moving one on is anyone's
    ]
    assert messages(out, "lena")[0].startswith("#1 is now declined.")
    assert messages(out, "ben")[-1].startswith("#2 is now declined.")


async def test_an_anonymous_idea_with_no_team_is_declined_only_by_those_responsible(
    database_url: str, tmp_path: Path
) -> None:
    # Too small a team to name, it was any manager's to end at once.
    therapy = "olu,Olu Bakare,Europe/London,manager,Occupational Therapy,Adult Social Care\n"
    therapy += "isla,Isla Fraser,Europe/London,staff,Occupational Therapy,Adult Social Care\n"
    bot = await start_bot(database_url, tmp_path, people=ORGANISATION + therapy)
    try:
        await bot.play("isla: idea anon Order small kit direct from the supplier")
        out = await bot.play("ben: status 1 declined No")
        owned = await bot.play("ben: owner 1 @ben\nben: status 1 declined We buy through the framework")
    finally:
        await bot.app.close()

    assert messages(out, "ben") == [
        "#1 names no team: only its owner, a senior leader or an admin can decline it. To take it on "
        "yourself, `owner 1 @ben` (its author is told)."
    ]
    # Taking it on, the step before ending it, is told to its author, as the refusal says.
    assert messages(owned, "isla")[0].startswith(
        "Your idea #1 now has an owner, Ben Carter, who carries it through: Order small kit direct"
    )
    assert messages(owned, "ben")[-1].startswith("#1 is now declined.")


async def test_a_manager_moving_their_own_idea_is_not_told_and_its_history_reads_plainly(bot: Bot) -> None:
    out = await bot.play(
        "ben: idea Key safes at every client's door\n"
        "ben: status 1 review Quick to try\n"
        "ben: status 1 implemented Done across Reablement\n"
        "lena: adopt 1 Housing will fit them in sheltered flats"
    )
    history = messages(await bot.play("amira: ideas 1"), "amira")[0]

    # News of his own move, signed by himself, told him nothing.
    assert not any(m.startswith("Your idea #1 moved") for m in messages(out, "ben"))
    assert "adopted by Lena Kowalski for Housing: Housing will fit them in sheltered flats" in history
    assert "implemented → spread, once adopted elsewhere" in history
    assert "spread by Lena" not in history


async def test_todo_says_which_idea_campaign_is_taking_ideas(bot: Bot) -> None:
    # Staff were reminded of an open campaign prompt by the chat, while todo said nothing waited.
    await bot.programme(CAMPAIGN + 'audience = ["Reablement"]\n')
    await bot.play("ben: campaign send Fewer missed visits")
    todo = messages(await bot.play("amira: todo"), "amira")

    assert any(
        "Idea campaign “Fewer missed visits” takes ideas until Mon 07 Dec 08:00: write yours in reply to it"
        in m
        for m in todo
    ), todo
    lena = messages(await bot.play("lena: todo"), "lena")  # not in its audience
    assert not any("Fewer missed visits" in m for m in lena)


async def test_an_ideas_team_hears_when_it_first_spreads_and_its_author_and_backers_after(bot: Bot) -> None:
    # Eight Reablement people were each told of three adoptions in one morning.
    await bot.play(
        "chloe: idea Share spare PPE between patches\ndev: vote 1\n"
        "ben: status 1 review Trying it\nben: status 1 implemented Works"
    )
    first = await bot.play("lena: adopt 1 Housing officers will carry spare PPE too")
    second = await bot.play("helen: adopt 1 The executive office will keep a spare box")

    news = "Good practice spreading: Housing has adopted idea #1 from your team."
    assert all(any(m.startswith(news) for m in messages(first, who)) for who in ("amira", "chloe", "dev"))
    assert "amira" not in recipients(second)  # her team heard it spread; she backed nothing
    assert any("Executive Team has adopted idea #1" in m for m in messages(second, "chloe"))  # its author
    assert any(
        "which you voted for or commented on, has been adopted by Executive Team" in m
        for m in messages(second, "dev")
    )
    assert messages(second, "helen")[-1] == (
        "Executive Team has adopted #1. Its author, whoever backed it and your team have been told."
    )
