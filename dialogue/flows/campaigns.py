"""Idea campaigns: a prompt tied to a strategic priority, sent to an audience, answered in chat."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from dialogue.args import Args
from dialogue.directory import Person
from dialogue.errors import Refusal
from dialogue.flows.away import is_away
from dialogue.flows.env import Env
from dialogue.flows.ideas import idea_form, idea_line
from dialogue.flows.surveys import audience_people, in_time, local_send_time, prompt_key
from dialogue.formatting import plural, run_day, when
from dialogue.ideas import Campaign, IdeaStatus
from dialogue.messages import Choices, Message, Option, Reply
from dialogue.names import best_match
from dialogue.outbox import NewDelivery
from dialogue.surveys import Occurrence, OccurrenceKind
from dialogue.text import lines, t, user

SHARE_ACTION = "idea.form"
CAMPAIGN_IDEAS_SHOWN = 30  # a phone screen's worth; `ideas <n>` reads the rest one by one
CAMPAIGN_IDEAS_COUNTED = 5000  # counted by status; far more than a campaign brings in


def prompt_message(campaign: Campaign, occurrence: Occurrence, person: Person) -> Message:
    """The campaign prompt: reply in chat, or press the button for a form."""
    return Message(
        lines(
            t("💡 ", user(campaign.name), " — priority: ", user(campaign.priority)),
            t(user(campaign.prompt)),
            t("Reply here with your idea (start with “anon” to stay anonymous), or press the button."),
        ),
        choices=(Choices(SHARE_ACTION, f"campaign:{occurrence.id}", (Option("Share an idea", "share"),)),),
        context=f"Open until {when(occurrence.closes_at, person)}.",
    )


async def start_campaign(
    env: Env, campaign: Campaign, *, key: str, schedule_id: int | None, wall: datetime | None = None
) -> tuple[Occurrence, int] | None:
    """Send a campaign's prompt to its audience; None when the run with ``key`` exists already.

    ``wall`` (naive) makes it a local-time run, as for surveys.
    """
    people = [
        p
        for p in await audience_people(env, campaign.audience)
        if in_time(wall, p, env.now) and not is_away(p, env.now)
    ]
    send_at = {p.id: max(env.now, local_send_time(wall, p)) if wall else env.now for p in people}
    last = max(send_at.values(), default=env.now)
    occurrence = await env.tx.surveys.add_occurrence(
        key=key,
        kind=OccurrenceKind.CAMPAIGN,
        target_id=campaign.id,
        opens_at=env.now,
        closes_at=last + timedelta(hours=env.settings.campaign_open_hours),
        remind_at=None,
        schedule_id=schedule_id,
        wall_day=wall.date() if wall else None,
    )
    if occurrence is None:
        return None
    await env.send(
        NewDelivery(
            key=prompt_key(occurrence.id, p.id),
            person_id=p.id,
            not_before=env.quiet_until(p, send_at[p.id]),
            group=f"occurrence:{occurrence.id}",
            message=prompt_message(campaign, occurrence, p),
            keep_time=True,  # the quiet hours are in not_before, from the people at hand
        )
        for p in people
    )
    for person in people:  # a written answer someone is in the middle of keeps its place; the prompt waits
        await env.tx.conversations.set_awaiting(
            person.id, f"campaign:{occurrence.id}", at=env.now, keep=("item:", "checkin-reply:")
        )
    return occurrence, len(people)


async def open_form(env: Env, ref: str) -> Reply:
    """The "Share an idea" button: open the idea form for that campaign."""
    prompt = ""
    if ref.startswith("campaign:") and ref.split(":")[1].isdigit():
        occurrence = await env.tx.surveys.get_occurrence(int(ref.split(":")[1]))
        campaign = await env.tx.ideas.get_campaign(occurrence.target_id) if occurrence else None
        if occurrence is None or campaign is None or occurrence.closed:
            raise Refusal("That campaign has closed, but ideas are always welcome: use `idea <your idea>`.")
        prompt = campaign.prompt[:150]
    return Reply(form=idea_form(ref, prompt))


async def cmd_campaign(env: Env, me: Person, args: Args) -> Reply:
    """``campaign list | send NAME | ideas NAME`` (managers)."""
    sub = args.word("what to do, e.g. `campaign list`").lower()
    if sub == "list":
        campaigns = await env.tx.ideas.campaigns()
        if not campaigns:
            return Reply(messages=(Message(t("No campaigns are set up yet.")),))
        rows = []
        brought = await env.tx.ideas.ideas_per_campaign()
        for each in campaigns:
            runs = await env.tx.surveys.occurrences(kind=OccurrenceKind.CAMPAIGN, target_id=each.id, limit=1)
            last = f"last sent {run_day(runs[0], me)}" if runs else "never sent"
            ideas = plural(brought.get(each.id, 0), "idea")
            rows.append(t(f"#{each.id} ", user(each.name), " — ", user(each.priority), f" ({last}; {ideas})"))
        return Reply(messages=(Message(lines("Campaigns:", *rows)),))
    if sub == "ideas":
        return await _campaign_ideas(env, await _named_campaign(env, args.rest()))
    if sub == "send":
        campaign = await _named_campaign(env, args.rest())
        latest = await env.tx.surveys.occurrences(
            kind=OccurrenceKind.CAMPAIGN, target_id=campaign.id, limit=1
        )
        if latest and not latest[0].closed:  # its prompt again would only repeat itself
            raise Refusal(
                f"“{campaign.name}” is already out, taking ideas until {when(latest[0].closes_at, me)}. "
                "You can send it again once it has closed."
            )
        started = await start_campaign(
            env, campaign, key=f"manual:campaign:{campaign.id}:{env.now.isoformat()}", schedule_id=None
        )
        if started is None:
            raise Refusal("That was just sent. Please wait a moment before sending again.")
        occurrence, count = started
        return Reply(
            messages=(
                Message(
                    t(
                        "Sent “",
                        user(campaign.name),
                        f"” to {plural(count, 'person', 'people')}; "
                        f"it takes replies until {when(occurrence.closes_at, me)}.",
                    )
                ),
            )
        )
    raise Refusal(
        f"I don't know `campaign {sub}`. "
        "Try `campaign list`, `campaign send <name>` or `campaign ideas <name>`."
    )


async def _named_campaign(env: Env, typed: str) -> Campaign:
    """The campaign a manager named, by number, exact name or a close match."""
    name = typed.strip().strip("\"'“”")
    if not name:
        raise Refusal("Which campaign? `campaign list` shows them.")
    campaign: Campaign | None = None
    if name.lstrip("#").isdigit():
        campaign = await env.tx.ideas.get_campaign(int(name.lstrip("#")))
    campaign = campaign or await env.tx.ideas.campaign_by_name(name)
    if campaign is None:
        campaign = best_match(name, await env.tx.ideas.campaigns(), lambda each: each.name, "campaign")
    if campaign is None:
        raise Refusal(f"There is no campaign called {name!r}. `campaign list` shows them.")
    return campaign


async def _campaign_ideas(env: Env, campaign: Campaign) -> Reply:
    """The ideas a campaign brought in, most votes first, with how many stand at each status."""
    found = await env.tx.ideas.ideas(campaign_id=campaign.id, limit=CAMPAIGN_IDEAS_COUNTED)
    if not found:
        return Reply(messages=(Message(t("“", user(campaign.name), "” has brought in no ideas yet.")),))
    statuses = Counter(idea.status for idea in found)
    tally = ", ".join(f"{statuses[status]} {status.label}" for status in IdeaStatus if statuses[status])
    shown = plural(len(found), "idea")
    if len(found) > CAMPAIGN_IDEAS_SHOWN:
        shown += f", the {CAMPAIGN_IDEAS_SHOWN} with most votes shown"
    return Reply(
        messages=(
            Message(
                lines(
                    t("Ideas from “", user(campaign.name), f"” ({shown}; {tally}):"),
                    *(idea_line(idea) for idea in found[:CAMPAIGN_IDEAS_SHOWN]),
                ),
                context="`ideas <number>` shows one in full. An anonymous idea from a small audience is "
                "listed under no campaign, so as not to narrow down its author.",
            ),
        )
    )


async def close_campaign(env: Env, occurrence: Occurrence) -> None:
    """Close a campaign run once: prompts say so in place, and replies stop counting as ideas for it."""
    if not await env.tx.surveys.close(occurrence.id, at=env.now):
        return
    closed = Message(
        t("This idea campaign has closed. Thank you! Ideas are always welcome with `idea <your idea>`.")
    )
    keys = await env.tx.outbox.keys_in_group(f"occurrence:{occurrence.id}")
    await env.send(
        NewDelivery(key=f"{key}:closed", replaces=key, message=closed)
        for key in keys
        if not key.endswith(":closed")
    )
    for person in await env.tx.directory.people():
        await env.tx.conversations.clear_awaiting(person.id, f"campaign:{occurrence.id}")
