"""Ideas: share, list, vote, comment, move through the pipeline, own and adopt."""

from __future__ import annotations

import re
from collections.abc import Collection

from dialogue.anonymity import coarse
from dialogue.args import Args, may_be_the_words, not_understood, sounds_anonymous
from dialogue.directory import Person, descendants
from dialogue.errors import Refusal
from dialogue.flows.env import Env, to_author
from dialogue.flows.surveys import audience_people, yes_or_no
from dialogue.formatting import day, plural, shorten, when
from dialogue.ideas import (
    OPEN_STATUSES,
    TRANSITIONS,
    Adoption,
    Comment,
    Idea,
    IdeaEvent,
    IdeaStatus,
    in_pipeline_order,
    parse_status,
)
from dialogue.limits import (
    CHOICE_VALUE_MAX,
    COMMENT_MAX,
    FORM_QUOTE,
    IDEA_MAX,
    REASON_MAX,
    clean_text,
    utf16_units,
)
from dialogue.messages import Choices, FieldKind, Form, FormField, Message, Option, Reply, typed_label
from dialogue.outbox import NewDelivery
from dialogue.text import Text, lines, same_words, t, user

IDEA_FORM = "idea.submit"
CAMPAIGN_REPLY_ACTION = "campaign.reply"  # the buttons under words written after a campaign prompt
# Their values: how to share, then the words themselves ("named:Text people when..."), or not an idea.
NAMED, ANONYMOUS, NOT_AN_IDEA, COMMAND, ASK = "named", "anon", "no", "command", "ask"
ASK_LABEL = "Ask it as a question"
SHARE_NAMED, SHARE_ANONYMOUSLY, NOT_AN_IDEA_LABEL = "Share with my name", "Share anonymously", "Not an idea"
# The buttons under an idea shown back, as people type them.
SHARE_BUTTONS = tuple(
    Option(label, "")
    for label in (
        SHARE_NAMED,
        SHARE_ANONYMOUSLY,
        NOT_AN_IDEA_LABEL,
        ASK_LABEL,
        "Share",
        "Share it",
        "Run as a command",
    )
)
STATUS_FORM = "idea.status"
# The buttons under `idea Anonymous surveys twice a year`: anonymously (without the word), with one's name
# (with it), or neither; their values are NAMED, ANONYMOUS or NOT_AN_IDEA and the words, as above.
WHICH_ACTION = "idea.which"


def idea_form(ref: str = "none", prompt: str = "") -> Form:
    """The form for sharing an idea (``ref`` is ``campaign:<occurrence id>`` for a campaign reply)."""
    return Form(
        form=IDEA_FORM,
        ref=ref,
        title="Share an idea",
        submit_label="Share",
        fields=(
            FormField(
                name="idea",
                label=prompt or "Your idea",
                kind=FieldKind.LONG_TEXT,
                max_length=IDEA_MAX,
                placeholder="What would make things better, and how?",
            ),
            FormField(
                name="anonymous",
                label="Share anonymously?",
                kind=FieldKind.SELECT,
                options=(Option("No, show my name", "no"), Option("Yes, keep me anonymous", "yes")),
            ),
        ),
    )


def status_form(idea: Idea) -> Form:
    """The form a manager uses to move an idea on, with a reason."""
    return Form(
        form=STATUS_FORM,
        ref=f"idea:{idea.id}",
        title=f"Move idea #{idea.id}",
        submit_label="Move",
        fields=(
            FormField(
                name="status",
                label="New status",
                kind=FieldKind.SELECT,
                options=tuple(Option(s.label, s.value) for s in in_pipeline_order(TRANSITIONS[idea.status])),
            ),
            FormField(
                name="reason",
                # The form hides the idea it moves: a screen reader (or a busy manager) needs it here.
                label=f"Why move “{shorten(idea.text, FORM_QUOTE)}” (its submitter sees this)",
                kind=FieldKind.LONG_TEXT,
                max_length=REASON_MAX,
            ),
        ),
    )


async def get_idea(env: Env, idea_id: int) -> Idea:
    """The idea, or a refusal naming the unknown id."""
    idea = await env.tx.ideas.get_idea(idea_id)
    if idea is None:
        raise Refusal(f"There is no idea #{idea_id}. Type `ideas` to see the list.")
    if idea.status is IdeaStatus.WITHDRAWN:
        raise Refusal(f"Idea #{idea_id} was withdrawn by whoever shared it. Type `ideas` to see the list.")
    return idea


def is_author(env: Env, idea: Idea, person: Person) -> bool:
    """True when ``person`` wrote the idea, named or anonymously (checked by hashing, never stored)."""
    if idea.author_id is not None:
        return idea.author_id == person.id
    return idea.route is not None and env.anon.owns(idea.route, person.id)


DUPLICATES_READ = 200  # open ideas looked through for one shared in the same words


async def submit(
    env: Env, me: Person, text: str, *, anonymous: bool, campaign_id: int | None, field: str | None = None
) -> Reply:
    """Store a new idea and thank its author."""
    body = clean_text(text, what="idea", limit=IDEA_MAX, field=field)
    for shared in await env.tx.ideas.ideas(statuses=OPEN_STATUSES, limit=DUPLICATES_READ):
        if same_words(shared.text, body):  # sent twice, or by two: one idea gathers the votes
            raise Refusal(
                f"That idea is in already, as #{shared.id} (`ideas {shared.id}`): `vote {shared.id}` "
                "supports it, and you'll hear whenever it moves on.",
                field=field,
            )
    at = coarse(env.now) if anonymous else env.now
    enough = env.settings.min_group_size
    team_id = me.team_ids[0] if me.team_ids else None
    # Naming a tiny team would name its members; below the group size an anonymous idea has no team. (Filing
    # it under a larger team above would not do: those who could have written it are that team's own people
    # and its small teams', which may be few.) Its managers are not counted: they are who it must not name
    # the author to. Nor a campaign sent to fewer: it would name their circle.
    if anonymous and team_id is not None:
        members = await env.tx.directory.people(team_ids=[team_id])
        if sum(not person.is_manager for person in members) < enough:
            team_id = None
    if anonymous and campaign_id is not None:
        campaign = await env.tx.ideas.get_campaign(campaign_id)
        if campaign is None or len(await audience_people(env, campaign.audience)) < enough:
            campaign_id = None
    idea = await env.tx.ideas.add_idea(
        text=body,
        at=at,
        author_id=None if anonymous else me.id,
        route=None,
        team_id=team_id,
        campaign_id=campaign_id,
    )
    if anonymous:
        await env.tx.ideas.set_route(idea.id, env.anon.route(f"idea:{idea.id}", me.id))
    await env.tx.ideas.add_event(
        IdeaEvent(
            idea_id=idea.id,
            at=at,
            by_id=None if anonymous else me.id,
            kind="submitted",
            to_status=IdeaStatus.NEW,
        )
    )
    note = " You'll hear about every change."
    if anonymous:
        # Said, so that an author in a team just big enough is not surprised by its name under the idea.
        team = f", only that it came from {await env.team_name(team_id)}" if team_id is not None else ""
        note = (
            f" It is anonymous: nobody, managers included, can see it was you{team}; you will still hear"
            " about every change."
        )
    # Which campaign it went to, if any: an `idea` typed while a prompt waits answers that prompt.
    campaign = await env.tx.ideas.get_campaign(campaign_id) if campaign_id is not None else None
    answers = ("", "") if campaign is None else (", for the campaign “", "”")
    return Reply(
        messages=(
            Message(
                t(
                    f"Thanks! Your idea #{idea.id} is in",
                    answers[0],
                    *((user(campaign.name),) if campaign else ()),
                    f"{answers[1]}.{note}",
                )
            ),
        )
    )


async def cmd_idea(env: Env, me: Person, args: Args) -> Reply:
    """``idea [anon] TEXT``: share an idea; with no text, open the form."""
    typed = args.rest()
    words = Args(typed, usage=args.usage)
    anonymous = words.anonymous()
    text = words.rest()
    number = text.lstrip("#")
    if number.isdigit():  # "idea 12" for "ideas 12": no idea is a number
        raise Refusal(f"To see idea #{number}, type `ideas {number}`. To share one, write it after `idea`.")
    if anonymous and text and may_be_the_words(typed):
        return _which(typed, text)
    if not text.strip():
        return Reply(form=idea_form())
    if not anonymous and sounds_anonymous(text):
        raise Refusal(not_understood("idea", "your idea"))
    campaign_id = await awaited_campaign(env, me, anonymous=anonymous)
    return await submit(env, me, text, anonymous=anonymous, campaign_id=campaign_id)


def _which(typed: str, rest: str) -> Reply:
    """Ask whether a leading "Anonymous" asks for anonymity or is the idea's first word, showing both ways;
    the words ride in the buttons, so nothing is kept until a tap."""
    named = clean_text(typed, what="idea", limit=IDEA_MAX)
    hidden = clean_text(rest, what="idea", limit=IDEA_MAX)
    if utf16_units(f"{ANONYMOUS}:{named}") > CHOICE_VALUE_MAX:
        raise Refusal(
            "Is “anonymous” how to share it, or part of your idea? Send `idea anon: <your idea>` to stay "
            "anonymous, or use the form (`idea` alone) to put your name to it."
        )
    options = (
        Option(SHARE_ANONYMOUSLY, f"{ANONYMOUS}:{hidden}"),
        Option(SHARE_NAMED, f"{NAMED}:{named}"),
        Option("Don't share", NOT_AN_IDEA),
    )
    return Reply(
        messages=(
            Message(
                lines(
                    t("Share it anonymously, or is “Anonymous” part of your idea?"),
                    t("Anonymously: ", user(hidden)),
                    t("With your name: ", user(named)),
                ),
                choices=(Choices(WHICH_ACTION, "typed", options),),
                context="Nothing is shared until you choose.",
            ),
        )
    )


async def share_which(env: Env, me: Person, choice: str) -> Reply:
    """A tap under :func:`_which`: share the words it carries, anonymously or with the name, or not."""
    how, _, body = choice.partition(":")
    if how not in (NAMED, ANONYMOUS):
        return Reply(messages=(Message(t("Nothing was shared.")),), replace=Message(t("Not shared.")))
    anonymous = how == ANONYMOUS
    campaign_id = await awaited_campaign(env, me, anonymous=anonymous)
    shared = await submit(env, me, body, anonymous=anonymous, campaign_id=campaign_id)
    done = "Shared anonymously:" if anonymous else "Shared with your name:"
    return Reply(messages=shared.messages, replace=Message(lines(t(done), t(user(body)))))


async def awaited_campaign(env: Env, me: Person, *, anonymous: bool) -> int | None:
    """The open campaign whose prompt the person is answering, if any.

    A named idea answers it (their next words are theirs again); an anonymous one leaves it waiting, as it
    waits for everyone who has not replied: a prompt answered only by anonymous ideas must look unanswered,
    or the people it stopped waiting for would be the ideas' authors.
    """
    awaiting = await env.tx.conversations.awaiting(me.id)
    if not awaiting or not awaiting.startswith("campaign:"):
        return None
    occurrence = await env.tx.surveys.get_occurrence(int(awaiting.split(":")[1]))
    if occurrence is None or occurrence.closed:
        await env.tx.conversations.clear_awaiting(me.id, awaiting)
        return None
    if not anonymous:
        await env.tx.conversations.clear_awaiting(me.id, awaiting)
    return occurrence.target_id


async def reply_to_campaign(
    env: Env, me: Person, occurrence_id: int, text: str, *, command: str | None = None
) -> Reply:
    """Words written after a campaign prompt: shown back with Share buttons, as a "thanks" or words meant
    for something else must not become an idea. Words that start with "anon" are an anonymous idea at once.

    ``command``: the command word the text starts with; the person is offered to run it instead.
    """
    occurrence = await env.tx.surveys.get_occurrence(occurrence_id)
    campaign = await env.tx.ideas.get_campaign(occurrence.target_id) if occurrence else None
    if occurrence is None or campaign is None or occurrence.closed:
        await env.tx.conversations.clear_awaiting(me.id)
        raise Refusal("That idea campaign has closed, but ideas are always welcome: use `idea <your idea>`.")
    if yes_or_no(text) is not None:
        # "Yess" under words shown back means "share them": kept as the idea, it replaced the real one.
        raise Refusal(
            f"“{text.strip()}” is not an idea, so I kept nothing. If I showed your idea back, tap Share with "
            "my name or Share anonymously under it (or Not an idea); otherwise write your idea here."
        )
    if typed_label(text, SHARE_BUTTONS) is not None:
        # What a button under the idea shown back says: kept, the words replaced the idea they meant.
        raise Refusal(
            f"“{text.strip()}” is what a button under your idea says, so I kept nothing: tap it there. To "
            "share an idea by typing, write `idea` and your idea, or `idea anon` and your idea to stay "
            "anonymous."
        )
    words = Args(text)
    # "Anonymous feedback from families..." may be the idea itself: shown back whole, as any other words.
    if not may_be_the_words(text) and words.anonymous():
        if words.empty:  # "anon" typed under words shown back, meaning "share those anonymously"
            raise Refusal(
                "To share an idea anonymously, write anon and then your idea; if I showed your words back, "
                "tap *Share anonymously* under them."
            )
        return await submit(env, me, words.rest(), anonymous=True, campaign_id=campaign.id)
    body = clean_text(text, what="idea", limit=IDEA_MAX)
    if utf16_units(f"{COMMAND}:{body}") > CHOICE_VALUE_MAX:
        raise Refusal(
            "That is too long to show back with buttons. Press “Share an idea” on the campaign's message to"
            " use the form, or send it with `idea <your idea>` (`idea anon <your idea>` to stay anonymous)."
        )
    options = [
        Option(SHARE_NAMED, f"{NAMED}:{body}"),
        Option(SHARE_ANONYMOUSLY, f"{ANONYMOUS}:{body}"),
        Option(NOT_AN_IDEA_LABEL, NOT_AN_IDEA),
    ]
    context = "Or write it again to change it."
    if command is None and "?" in body:  # a question written under the prompt is likely one to ask
        options.insert(2, Option(ASK_LABEL, f"{ASK}:{body}"))
    if command is not None:
        options.append(Option("Run as a command", f"{COMMAND}:{body}"))
        context = f"It starts with `{command}`: if you meant that command, tap Run as a command. {context}"
    question = t("Share this as your idea for “", user(campaign.name), "”?")
    return Reply(
        messages=(
            Message(
                lines(question, t(user(body))),
                choices=(Choices(CAMPAIGN_REPLY_ACTION, str(occurrence.id), tuple(options)),),
                context=context,
            ),
        )
    )


async def share_campaign_reply(env: Env, me: Person, occurrence_id: int, choice: str) -> Reply:
    """A tap under words shown back by :func:`reply_to_campaign`: share them (named or anonymously) or not.
    The words come back in the tap itself, so nothing unshared is kept. Once the campaign has closed, the
    idea is shared all the same, outside it. The preview then shows what happened, without its buttons."""
    how, _, body = choice.partition(":")
    occurrence = await env.tx.surveys.get_occurrence(occurrence_id)
    open_campaign = occurrence.target_id if occurrence is not None and not occurrence.closed else None
    if how == NOT_AN_IDEA:
        # The prompt still waits: the idea itself often comes next, and "I didn't catch that" would meet it.
        later = (
            f" Anything else you write here until {when(occurrence.closes_at, me)} is offered the same way."
            if occurrence is not None and open_campaign is not None
            else ""
        )
        return Reply(
            messages=(Message(t(f"Not shared.{later} Ideas are always welcome with `idea <your idea>`.")),),
            replace=Message(t("Not shared.")),
        )
    if how not in (NAMED, ANONYMOUS):
        raise Refusal("That button is out of date. Please use the latest message.")
    if how == NAMED:
        await env.tx.conversations.clear_awaiting(me.id, f"campaign:{occurrence_id}")
    shared = await submit(env, me, body, anonymous=how == ANONYMOUS, campaign_id=open_campaign)
    done = "Shared anonymously:" if how == ANONYMOUS else "Shared with your name:"
    return Reply(messages=shared.messages, replace=Message(lines(t(done), t(user(body)))))


def idea_line(idea: Idea) -> Text:
    """One idea on one line, as lists show it: number, status, votes, the start of its words."""
    return t(f"#{idea.id} [{idea.status.label}] ▲{idea.votes} ", user(shorten(idea.text)))


PAGE = 20  # ideas listed in one message


async def cmd_ideas(env: Env, me: Person, args: Args) -> Reply:
    """``ideas [mine|owned|all|STATUS] [page N]``: list ideas, or ``ideas ID`` to show one in full."""
    which = args.peek()
    if which.lstrip("#").isdigit():
        return await show(env, me, args.number("an idea number"))
    if args.flag("withdraw"):
        return await withdraw(env, me, args.number("the idea number"))
    rest = args.rest().strip().lower()  # a status may be two words, as lists show it: "under review"
    paged = re.fullmatch(r"(.*?)\s*\bpage\s+(\d+)", rest)
    page = int(paged[2]) if paged else 1
    rest = paged[1] if paged else rest
    which = rest.split()[0] if rest else ""
    if page < 1:
        raise Refusal("Pages start at 1: `ideas page 2` shows the next ones.")
    statuses: frozenset[IdeaStatus] | None = OPEN_STATUSES
    title = "Open ideas, most votes first"
    if which == "mine":
        found = await env.tx.ideas.ideas(author_id=me.id, limit=50)
        # Anonymous ideas carry no author id; the author recognises their own by hashing.
        recent = await env.tx.ideas.ideas(limit=500)
        found += [i for i in recent if i.anonymous and is_author(env, i, me)]
        found.sort(key=lambda i: (-i.votes, -i.id))
        return await _listed(env, me, which, "Your ideas", found)
    if which == "owned":
        return await _listed(
            env, me, which, "Ideas you own", await env.tx.ideas.ideas(owner_id=me.id, limit=50)
        )
    if which == "all":
        statuses, title = None, "All ideas"
    elif rest:
        status = parse_status(rest)
        if status is None:
            raise Refusal(
                f"I don't know {rest!r}. Try `ideas`, `ideas mine`, `ideas owned`, `ideas all`, a status "
                "(new, under_review, piloting, implemented, spread, declined) or an idea number."
            )
        # Good practice to copy is implemented, whether or not another team has taken it up yet.
        spreading = status is IdeaStatus.IMPLEMENTED
        statuses = frozenset({status, IdeaStatus.SPREAD} if spreading else {status})
        title = "Ideas implemented (spread ones too)" if spreading else f"Ideas {status.label}"
    total = await env.tx.ideas.count_ideas(statuses=statuses)
    found = await env.tx.ideas.ideas(statuses=statuses, limit=PAGE, offset=(page - 1) * PAGE)
    if not found and page > 1:
        raise Refusal(f"{title.split(',')[0]}: there are {total}, so no page {page}.")
    more = ""
    if total > PAGE:
        first = (page - 1) * PAGE + 1
        more = f"Showing {first}–{first + len(found) - 1} of {total}."
        if first + len(found) - 1 < total:
            more += f" `ideas{' ' + rest if rest else ''} page {page + 1}` for more."
    return await _listed(env, me, which, title, found, more=more)


async def _listed(
    env: Env, me: Person, which: str, title: str, found: list[Idea], *, more: str = ""
) -> Reply:
    """A list of ideas, in the order given; those implemented or spreading say where they came from and how
    many teams took them up (what a team looking for good practice to copy needs)."""
    if not found:
        hint = "Share one with `idea <your idea>`."
        if which == "owned":
            hint = "`owner <number> @you` takes one on." if me.is_manager else "Managers own ideas."
        return Reply(messages=(Message(t(f"{title}: none yet. {hint}")),))
    rows: list[Text | str] = [t(f"{title}:")]
    for idea in found:
        row = idea_line(idea)
        if idea.status in (IdeaStatus.IMPLEMENTED, IdeaStatus.SPREAD):
            adopted = len(await env.tx.ideas.adoptions(idea.id))
            where = f"from {await env.team_name(idea.team_id)}" if idea.team_id is not None else ""
            taken = f"adopted by {plural(adopted, 'team')}" if adopted else ""
            if where or taken:
                row = t(*row.spans, f" ({', '.join(filter(None, (where, taken)))})")
        rows.append(row)
    if more:
        rows.append(more)
    return Reply(
        messages=(
            Message(
                lines(*rows),
                context="`ideas <number>` shows one in full"
                + ("." if which == "mine" else "; `vote <number>` supports it."),
            ),
        )
    )


async def show(env: Env, me: Person, idea_id: int) -> Reply:
    """One idea with its history, comments and adoptions; anonymous authors stay hidden."""
    idea = await get_idea(env, idea_id)
    author = "anonymous" if idea.anonymous else await env.name(idea.author_id)
    # An anonymous idea keeps a team only when it has enough people besides its managers (see submit), as
    # its author was told: a team copying it needs to know whom to ask how it went.
    team = f" ({await env.team_name(idea.team_id)})" if idea.team_id is not None else ""
    parts: list[Text | str] = [
        t(f"Idea #{idea.id} [{idea.status.label}] ▲{idea.votes}"),
        t(user(idea.text)),
        t(f"From: {author}{team}"),
    ]
    campaign = await env.tx.ideas.get_campaign(idea.campaign_id) if idea.campaign_id is not None else None
    if campaign is not None:
        # A campaign sent to a handful of people would name an anonymous author's circle.
        few = len(await audience_people(env, campaign.audience)) < env.settings.min_group_size
        if not (idea.anonymous and few):
            parts.append(t("Campaign: ", user(campaign.name), " (priority: ", user(campaign.priority), ")"))
    if idea.owner_id is not None:
        parts.append(t(f"Owner: {await env.name(idea.owner_id)}"))
    parts.append("History:")
    for event in await env.tx.ideas.history(idea.id):
        who = f" by {await env.name(event.by_id)}" if event.by_id is not None else ""
        if event.kind == "status" and event.to_status is IdeaStatus.SPREAD and event.from_status:
            # The adoption just above says who took it where: "spread by <the adopter>" read as their doing.
            parts.append(f"  {day(event.at, me)}: {event.from_status.label} → spread, once adopted elsewhere")
        elif event.kind == "status" and event.from_status and event.to_status:
            parts.append(
                t(
                    f"  {day(event.at, me)}: {event.from_status.label} → {event.to_status.label}{who}: ",
                    user(event.reason),
                )
            )
        elif event.kind == "adopted":
            parts.append(t(f"  {day(event.at, me)}: adopted{who} for ", user(event.reason)))
        elif event.kind == "owner":
            if event.reason:
                parts.append(t(f"  {day(event.at, me)}: owner set to ", user(event.reason), who))
            else:  # recorded before the owner's name was kept
                parts.append(t(f"  {day(event.at, me)}: owner set{who}"))
        else:
            parts.append(t(f"  {day(event.at, me)}: shared"))
    comments = await env.tx.ideas.comments(idea.id)
    if comments:
        parts.append(f"Comments ({len(comments)}):")
        for comment in comments:
            who = "The author" if comment.author_id is None else await env.name(comment.author_id)
            parts.append(t(f"  {who}: ", user(comment.text)))
    adoptions = await env.tx.ideas.adoptions(idea.id)
    if adoptions:
        names = ", ".join([await env.team_name(a.team_id) for a in adoptions])
        parts.append(f"Adopted by: {names}")
    options = [] if is_author(env, idea, me) else [Option("Vote", "vote")]  # one's own: no vote to give
    if me.is_manager and TRANSITIONS[idea.status]:
        options.append(Option("Change status", "status"))
    choices = (Choices(action="idea.act", ref=str(idea.id), options=tuple(options)),) if options else ()
    return Reply(messages=(Message(lines(*parts), choices=choices),))


async def withdraw(env: Env, me: Person, idea_id: int) -> Reply:
    """``ideas withdraw N``: the author takes back an idea no manager has moved on yet (shared with their name
    when they meant it anonymously; a typo): it leaves every list with its words, and whoever voted for it,
    commented on it or owns it is told. Anyone else is refused alike, so the refusal names no author."""
    idea = await env.tx.ideas.get_idea(idea_id)
    if idea is None or idea.status is IdeaStatus.WITHDRAWN or not is_author(env, idea, me):
        raise Refusal(f"Only whoever shared #{idea_id} can withdraw it, and only while it is new.")
    if idea.status is not IdeaStatus.NEW:
        raise Refusal(
            f"#{idea.id} is {idea.status.label} now: a manager has taken it on, so it stays. "
            f"`comment {idea.id} <text>` adds to it."
        )
    commenters = {c.author_id for c in await env.tx.ideas.comments(idea.id) if c.author_id is not None}
    told = (set(await env.tx.ideas.voters(idea.id)) | commenters) - {me.id}
    # Its owner hears even if they shared it anonymously: a notice missing for them alone would say who.
    if idea.owner_id is not None and (idea.anonymous or idea.owner_id != me.id):
        told.add(idea.owner_id)
    if not await env.tx.ideas.withdraw(idea.id):
        raise Refusal(f"#{idea.id} changed just now. Check `ideas {idea.id}`.")
    gone = Message(t(f"Idea #{idea.id} was withdrawn by whoever shared it."))
    await env.send(
        NewDelivery(key=f"idea:{idea.id}:withdrawn:{pid}", person_id=pid, message=gone)
        for pid in sorted(told)
    )
    return Reply(
        messages=(Message(t(f"Withdrawn: idea #{idea.id} is out of every list, and its words are deleted.")),)
    )


async def cmd_vote(env: Env, me: Person, args: Args) -> Reply:
    """``vote ID``: one vote per person per idea."""
    return await vote(env, me, args.number("the idea number"))


async def vote(env: Env, me: Person, idea_id: int) -> Reply:
    """Record a vote, refusing a second one and one's own idea."""
    idea = await get_idea(env, idea_id)
    if is_author(env, idea, me):
        raise Refusal(f"#{idea.id} is your own idea, so you can't vote for it. Ask colleagues to!")
    if idea.status is IdeaStatus.DECLINED:
        raise Refusal(f"#{idea.id} was declined, so it can't take votes.")
    if not await env.tx.ideas.add_vote(idea.id, me.id):
        raise Refusal(f"You've already voted for #{idea.id}. One vote each.")
    votes = idea.votes + 1
    return Reply(messages=(Message(t(f"Voted. #{idea.id} now has {plural(votes, 'vote')}.")),))


async def cmd_comment(env: Env, me: Person, args: Args) -> Reply:
    """``comment ID TEXT``: comment on an idea; its author hears about it."""
    idea = await get_idea(env, args.number("the idea number"))
    text = clean_text(args.rest(), what="comment", limit=COMMENT_MAX)
    by_author = is_author(env, idea, me)
    hidden = by_author and idea.anonymous  # a name or an exact time on it would undo the anonymity
    if not hidden and sounds_anonymous(text):
        raise Refusal(
            "That mentions being anonymous, so nothing was posted with your name. A comment shows your name; "
            "to stay anonymous, share it as an idea with `idea anon <your idea>`."
        )
    await env.tx.ideas.add_comment(
        Comment(
            idea_id=idea.id,
            author_id=None if hidden else me.id,
            text=text,
            at=coarse(env.now) if hidden else env.now,
            by_author=by_author,
        )
    )
    count = len(await env.tx.ideas.comments(idea.id))
    if not by_author:
        note = Message(
            t(f"{me.display_name} commented on your idea #{idea.id}: ", user(text)),
            context=f"`ideas {idea.id}` shows the whole thread.",
        )
        await _tell_author(env, idea, f"idea:{idea.id}:comment:{count}", note)
    # The manager carrying it through hears too (a reply to a decline would otherwise reach nobody); not of
    # an anonymous author's comment, whose message's exact time would undo the comment's hour.
    if not hidden:
        owned = t(f"{me.display_name} commented on idea #{idea.id}, which you own: ", user(text))
        context = f"`ideas {idea.id}` shows the whole thread."
        await _tell_owner(
            env, me, idea, f"idea:{idea.id}:comment:{count}:owner", Message(owned, context=context)
        )
    return Reply(messages=(Message(t(f"Comment added to #{idea.id}.")),))


async def cmd_status(env: Env, me: Person, args: Args) -> Reply:
    """``status ID STATUS REASON``: move an idea through the pipeline (managers)."""
    idea = await get_idea(env, args.number("the idea number"))
    if args.empty:
        return Reply(form=status_form(idea))
    word = args.word("the new status")
    if word.lower() in ("under", "in") and args.peek().lower() == "review":  # as labels write it, or people
        word += "_" + args.word("the new status")
    status = parse_status(word)
    if status is None:
        raise Refusal(
            f"{word!r} is not a status. Statuses: new, under_review, piloting, implemented, spread, declined."
        )
    return await change_status(env, me, idea, status, args.rest())


async def _may_decline(env: Env, me: Person, idea: Idea) -> bool:
    """Whether ``me`` may end an idea: any manager may move one on, but one declined by a manager of another
    team, minutes after it was shared, ended an uncomfortable idea before anyone could vote for it."""
    if me.is_senior_leader or me.is_admin or idea.owner_id == me.id:
        return True
    # An anonymous idea from a small team carries none: it is no more any manager's to end than another.
    return idea.team_id is not None and idea.team_id in descendants(
        await env.tx.directory.teams(), me.team_ids
    )


async def change_status(env: Env, me: Person, idea: Idea, status: IdeaStatus, reason_text: str) -> Reply:
    """Apply one pipeline transition, record it and tell the submitter."""
    allowed = TRANSITIONS[idea.status]
    if status not in allowed:
        nexts = ", ".join(s.label for s in in_pipeline_order(allowed)) or "nothing (it is finished)"
        raise Refusal(f"#{idea.id} is {idea.status.label}; it can move to: {nexts}.", field="status")
    if status is IdeaStatus.DECLINED and not await _may_decline(env, me, idea):
        team = await env.team_name(idea.team_id) if idea.team_id is not None else None
        who = (
            f"comes from {team}: only its owner, a manager of {team},"
            if team
            else "names no team: only its owner,"
        )
        raise Refusal(
            f"#{idea.id} {who} a senior leader or an admin can decline it. To take it on yourself, "
            f"`owner {idea.id} @{me.handle}` (its author is told).",
            field="status",
        )
    reason = clean_text(reason_text, what="reason", limit=REASON_MAX, field="reason")
    if not await env.tx.ideas.set_status(idea.id, idea.status, status):
        raise Refusal(f"#{idea.id} changed while you were looking. Check `ideas {idea.id}` and try again.")
    await env.tx.ideas.add_event(
        IdeaEvent(
            idea_id=idea.id,
            at=env.now,
            by_id=me.id,
            kind="status",
            from_status=idea.status,
            to_status=status,
            reason=reason,
        )
    )
    step = len(await env.tx.ideas.history(idea.id))  # a declined idea may come back: each move its own keys
    if idea.owner_id is None and status is IdeaStatus.UNDER_REVIEW:
        await env.tx.ideas.set_owner(idea.id, me.id)
    move = f"from {idea.status.label} to {status.label}"
    note = _moved(
        f"Your idea #{idea.id} moved {move}.", idea, t(f"Reason from {me.display_name}: ", user(reason))
    )
    if idea.author_id != me.id:  # a manager moving their own named idea needs no news of it
        await _tell_author(env, idea, f"idea:{idea.id}:status:{step}:{status.value}", note)
    moved = _moved(
        f"{me.display_name} moved idea #{idea.id}, which you own, {move}.", idea, t("Reason: ", user(reason))
    )
    owner = await _tell_owner(env, me, idea, f"idea:{idea.id}:status:{step}:{status.value}:owner", moved)
    backed = _moved(
        f"Idea #{idea.id}, which you voted for or commented on, moved {move}.",
        idea,
        t(f"Reason from {me.display_name}: ", user(reason)),
    )
    await _tell_backers(env, me, idea, owner, backed, step)
    author = None if idea.author_id is None else await env.tx.directory.get_person(idea.author_id)
    told = "The submitter has been told."
    if owner is not None:
        told = f"The submitter and its owner, {owner.display_name}, have been told."
    # Said of a named idea only: that an anonymous author has left must not show.
    if author is not None and not author.active:
        told = f"{author.display_name}, who shared it, is no longer in the directory, so was not told."
        if owner is not None:
            told = f"Its owner, {owner.display_name}, has been told; {told}"
    return Reply(messages=(Message(t(f"#{idea.id} is now {status.label}. {told}")),))


async def _tell_author(env: Env, idea: Idea, key: str, message: Message) -> None:
    """Send its author, named or anonymous, news of their idea."""
    await env.send([to_author(key, message, person_id=idea.author_id, route=idea.route)])


def _moved(headline: str, idea: Idea, reason: Text) -> Message:
    """News of an idea's move: the headline, the idea quoted short, the reason."""
    return Message(
        lines(t(headline), t("“", user(shorten(idea.text, 120)), "”"), reason),
        context=f"`ideas {idea.id}` shows its whole history.",
    )


async def _tell_backers(
    env: Env,
    me: Person,
    idea: Idea,
    owner: Person | None,
    note: Message,
    step: int | str,
    *,
    told: Collection[int | None] = (),
) -> None:
    """Tell whoever voted for or commented on the idea where it went: the loop closes for its supporters
    too, not only its author (an anonymous author's comments carry no name, so they hear as its author).
    ``told``: others who heard already, in other words."""
    told = {me.id, idea.author_id, idea.owner_id, owner.id if owner else None, *told}
    commenters = {c.author_id for c in await env.tx.ideas.comments(idea.id) if c.author_id is not None}
    backers = sorted((set(await env.tx.ideas.voters(idea.id)) | commenters) - told)
    await env.send(
        NewDelivery(key=f"idea:{idea.id}:moved:{step}:{pid}", person_id=pid, message=note) for pid in backers
    )


async def _tell_owner(env: Env, me: Person, idea: Idea, key: str, message: Message) -> Person | None:
    """Tell the idea's owner what ``me`` did to it, unless they did it themselves or hear as its author (any
    manager may move or discuss any idea, and its owner must not learn of it by chance). The owner told, if
    any."""
    if idea.owner_id in (None, me.id, idea.author_id):
        return None
    await env.send([NewDelivery(key=key, person_id=idea.owner_id, message=message)])
    return await env.person(idea.owner_id)


async def cmd_owner(env: Env, me: Person, args: Args) -> Reply:
    """``owner ID HANDLE``: name who carries an idea through (managers)."""
    idea = await get_idea(env, args.number("the idea number"))
    owner = await env.by_handle(args.word("the new owner's handle"))
    if idea.owner_id == owner.id:
        raise Refusal(f"{owner.display_name} already owns #{idea.id}.")
    await env.tx.ideas.set_owner(idea.id, owner.id)
    if idea.owner_id is not None and idea.owner_id != me.id:  # they would go on thinking it theirs
        handed = Message(
            t(
                f"{me.display_name} made {owner.display_name} the owner of idea #{idea.id}, once yours: ",
                user(shorten(idea.text)),
            )
        )
        await env.send(
            [
                to_author(
                    f"idea:{idea.id}:owner-was:{idea.owner_id}:{env.now.isoformat()}",
                    handed,
                    person_id=idea.owner_id,
                    route=None,
                )
            ]
        )
    await env.tx.ideas.add_event(
        IdeaEvent(idea_id=idea.id, at=env.now, by_id=me.id, kind="owner", reason=owner.display_name)
    )
    # Its author hears who carries it now: taking an idea on is what lets a manager decline it.
    if idea.anonymous or idea.author_id not in (me.id, owner.id):
        news = Message(
            t(
                f"Your idea #{idea.id} now has an owner, {owner.display_name}, who carries it through: ",
                user(shorten(idea.text)),
            ),
            context=f"`ideas {idea.id}` shows its history; `comment {idea.id} <text>` reaches them.",
        )
        await _tell_author(env, idea, f"idea:{idea.id}:owned-by:{owner.id}:{env.now.isoformat()}", news)
    if owner.id != me.id:
        note = Message(
            t(f"{me.display_name} made you the owner of idea #{idea.id}: ", user(shorten(idea.text))),
            context=f"Move it on with `status {idea.id} <status> <reason>`."
            if owner.is_manager
            else f"A manager moves it on; tell them how it goes with `comment {idea.id} <text>`.",
        )
        await env.send(
            [
                to_author(
                    f"idea:{idea.id}:owner:{owner.id}:{env.now.isoformat()}",
                    note,
                    person_id=owner.id,
                    route=None,
                )
            ]
        )
    return Reply(messages=(Message(t(f"{owner.display_name} now owns #{idea.id}.")),))


async def cmd_adopt(env: Env, me: Person, args: Args) -> Reply:
    """``adopt ID NOTE``: a manager of another team takes up an implemented idea."""
    idea = await get_idea(env, args.number("the idea number"))
    if idea.status not in (IdeaStatus.IMPLEMENTED, IdeaStatus.SPREAD):
        raise Refusal(
            f"#{idea.id} is {idea.status.label}; only implemented ideas (spread ones too) can be adopted."
        )
    if not me.team_ids:
        raise Refusal("You aren't in a team, so there is no team to adopt it for.")
    team_id = me.team_ids[0]
    if team_id == idea.team_id:
        raise Refusal(f"#{idea.id} came from your own team; adoption is for other teams.")
    note_text = clean_text(args.rest(), what="note on how your team will use it", limit=REASON_MAX)
    if not await env.tx.ideas.add_adoption(
        Adoption(idea_id=idea.id, team_id=team_id, by_id=me.id, note=note_text, at=env.now)
    ):
        raise Refusal(f"Your team has already adopted #{idea.id}.")
    team = await env.team_name(team_id)
    await env.tx.ideas.add_event(
        IdeaEvent(idea_id=idea.id, at=env.now, by_id=me.id, kind="adopted", reason=f"{team}: {note_text}")
    )
    if idea.status is IdeaStatus.IMPLEMENTED:
        await env.tx.ideas.set_status(idea.id, IdeaStatus.IMPLEMENTED, IdeaStatus.SPREAD)
        await env.tx.ideas.add_event(
            IdeaEvent(
                idea_id=idea.id,
                at=env.now,
                by_id=me.id,
                kind="status",
                from_status=IdeaStatus.IMPLEMENTED,
                to_status=IdeaStatus.SPREAD,
                reason=f"Adopted by {team}",
            )
        )
    news = Message(
        lines(
            t(f"Good practice spreading: {team} has adopted idea #{idea.id} from your team."),
            t("“", user(shorten(idea.text, 120)), "”"),
            t(f"{me.display_name}: ", user(note_text)),
        )
    )
    # Its team hears when it first spreads; after that, those who backed it do (eight people told of every
    # adoption, three in a morning, was noise).
    first = len(await env.tx.ideas.adoptions(idea.id)) == 1
    origin = (
        await env.tx.directory.people(team_ids=[idea.team_id]) if idea.team_id is not None and first else []
    )
    deliveries = [
        to_author(f"idea:{idea.id}:adopted:{team_id}:{p.id}", news, person_id=p.id, route=None)
        for p in origin
    ]
    # The author hears it once: with their team, or on their own if they have moved on.
    if idea.anonymous and not any(is_author(env, idea, p) for p in origin):
        deliveries.append(
            to_author(f"idea:{idea.id}:adopted:{team_id}:author", news, person_id=None, route=idea.route)
        )
    elif not idea.anonymous and idea.author_id not in {p.id for p in origin}:
        deliveries.append(
            to_author(f"idea:{idea.id}:adopted:{team_id}:author", news, person_id=idea.author_id, route=None)
        )
    # The adopting team hears what is coming and why: good practice spreads to people, not to a list.
    arriving = Message(
        lines(
            t(f"Good practice arriving: {me.display_name} has adopted idea #{idea.id} for {team}."),
            t("“", user(shorten(idea.text, 120)), "”"),
            t("How: ", user(note_text)),
        ),
        context=f"`ideas {idea.id}` shows where it came from and how it went there.",
    )
    told = {me.id, *(p.id for p in origin), idea.author_id}
    # A directorate's manager adopts it for the teams under it too: the people there do the work.
    adopting = sorted(descendants(await env.tx.directory.teams(), [team_id]))
    arrivals = [p for p in await env.tx.directory.people(team_ids=adopting) if p.id not in told]
    deliveries += [
        NewDelivery(key=f"idea:{idea.id}:adopted:{team_id}:in:{p.id}", person_id=p.id, message=arriving)
        for p in arrivals
    ]
    await env.send(deliveries)
    backed = Message(
        lines(
            t(f"Idea #{idea.id}, which you voted for or commented on, has been adopted by {team}."),
            t("“", user(shorten(idea.text, 120)), "”"),
            t(f"{me.display_name}: ", user(note_text)),
        ),
        context=f"`ideas {idea.id}` shows everywhere it has gone.",
    )
    told |= {p.id for p in arrivals} | {idea.owner_id}
    await _tell_backers(env, me, idea, None, backed, f"adopted:{team_id}", told=told)
    if idea.owner_id not in told:  # its owner, from another team, carried it to where it could spread
        owned = Message(
            lines(
                t(f"{team} has adopted idea #{idea.id}, which you own."),
                t("“", user(shorten(idea.text, 120)), "”"),
                t(f"{me.display_name}: ", user(note_text)),
            )
        )
        await _tell_owner(env, me, idea, f"idea:{idea.id}:adopted:{team_id}:owner", owned)
    told_of = "Its team and yours have" if first else "Its author, whoever backed it and your team have"
    return Reply(messages=(Message(t(f"{team} has adopted #{idea.id}. {told_of} been told.")),))
