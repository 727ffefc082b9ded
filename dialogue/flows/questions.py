"""Questions to senior managers: asked (maybe anonymously), upvoted, answered in an open thread."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from dialogue.anonymity import coarse
from dialogue.args import Args, not_understood, sounds_anonymous
from dialogue.directory import Person, Role
from dialogue.errors import Refusal
from dialogue.flows.env import Env, channel_posts, to_author
from dialogue.formatting import day, plural, shorten, zone
from dialogue.limits import (
    ANSWER_MAX,
    CHOICE_VALUE_MAX,
    FORM_QUOTE,
    MIN_LENGTH,
    QUESTION_MAX,
    REASON_MAX,
    clean_text,
    utf16_units,
)
from dialogue.messages import Choices, FieldKind, Form, FormField, Message, Option, Reply, typed_label
from dialogue.outbox import NewDelivery
from dialogue.qa import ModerationEntry, QaPost, Question, QuestionStatus
from dialogue.text import Text, lines, same_words, t, user

UPVOTE_ACTION = "question.upvote"
ANSWER_ACTION = "question.answer"
# Under words shown back by check_ask: ask them or share them as an idea, named or not, or neither.
ASK_ACTION = "question.typed"
NAMED, ANONYMOUS, AS_IDEA, AS_ANONYMOUS_IDEA, NEITHER = "named", "anon", "idea", "anon-idea", "neither"
ANSWER_FORM = "question.answer"
LIVE = (QuestionStatus.OPEN, QuestionStatus.ANSWERED)


def thread_key(question_id: int) -> str:
    """The key of a question's thread (its channel post anchors it)."""
    return f"question:{question_id}"


NOTHING_YET = "Nothing is posted until you choose."


def shown_back(
    rows: Sequence[Text | str], action: str, ref: str, options: Sequence[Option], context: str = NOTHING_YET
) -> Reply:
    """Words shown back to their writer with buttons that decide what becomes of them: nothing is kept until
    a tap, which carries the words back."""
    return Reply(
        messages=(Message(lines(*rows), choices=(Choices(action, ref, tuple(options)),), context=context),)
    )


def answer_form(question: Question) -> Form:
    """The form a manager answers with."""
    return Form(
        form=ANSWER_FORM,
        ref=str(question.id),
        title=f"Answer question #{question.id}",
        submit_label="Answer",
        fields=(
            FormField(
                name="answer",
                # The form hides the question it answers: a screen reader (or a busy leader) needs it here.
                label=f"Your answer to “{shorten(question.text, FORM_QUOTE)}” (everyone sees it)",
                kind=FieldKind.LONG_TEXT,
                max_length=ANSWER_MAX,
            ),
        ),
    )


async def get_question(env: Env, question_id: int, *, live: bool = True) -> Question:
    """The question; with ``live``, only one that is posted (not held or rejected)."""
    question = await env.tx.questions.get_question(question_id)
    if live and question is not None and await _removed(env, question):
        raise Refusal(
            f"Question #{question_id} was removed by a moderator. `questions {question_id}` says why."
        )
    if question is None or (live and question.status not in LIVE):
        where = "`questions`" if live else "`moderate list` (the ones waiting)"
        raise Refusal(
            f"There is no {'open ' if live else ''}question #{question_id}. Type {where} to see them."
        )
    return question


async def _removed(env: Env, question: Question) -> ModerationEntry | None:
    """How a question posted and then taken down by a moderator was removed (a held one rejected was never
    seen, and stays unknown to all but its asker)."""
    if question.status is not QuestionStatus.REJECTED:
        return None
    entry = await env.tx.questions.last_moderation(question.id)
    return entry if entry is not None and entry.decision == "removed" else None


def is_asker(env: Env, question: Question, person: Person) -> bool:
    """True when ``person`` asked it, named or anonymously (checked by hashing, never stored)."""
    if question.asker_id is not None:
        return question.asker_id == person.id
    return question.route is not None and env.anon.owns(question.route, person.id)


async def _post_message(env: Env, question: Question) -> Message:
    asker = "an anonymous colleague" if question.anonymous else await env.name(question.asker_id)
    to = f" to {await env.name(question.addressed_to_id)}" if question.addressed_to_id else ""
    return Message(
        lines(t(f"Question #{question.id} from {asker}{to}:"), t(user(question.text))),
        choices=(
            Choices(UPVOTE_ACTION, str(question.id), (Option(f"▲ Upvote ({question.votes})", "up"),)),
            Choices(ANSWER_ACTION, str(question.id), (Option("Answer", "answer"),)),
        ),
        anchor=thread_key(question.id),
        context="Reply in the thread to follow up. Senior managers answer here, in the open.",
    )


async def publish(env: Env, question: Question) -> None:
    """Post the question to the Q&A channel and tell the leader it is addressed to."""
    await env.send(channel_posts(env, f"question:{question.id}:post", await _post_message(env, question)))
    if question.addressed_to_id is not None:
        by = "" if question.anonymous else f" by {await env.name(question.asker_id)}"
        note = Message(
            lines(t(f"You've been asked a question (#{question.id}){by}:"), t(user(question.text))),
            context=f"Answer in the open with `answer {question.id} <your answer>`.",
        )
        await env.send(
            [
                NewDelivery(
                    key=f"question:{question.id}:addressed", person_id=question.addressed_to_id, message=note
                )
            ]
        )


async def cmd_ask(env: Env, me: Person, args: Args) -> Reply:
    """``ask [anon] [to @LEADER] TEXT``: ask senior managers a question, in the open."""
    anonymous = args.anonymous()
    addressed: Person | None = None
    if args.flag("to"):
        addressed = await env.by_handle(args.word("the leader's handle"))
        if not addressed.is_manager:  # a senior leader, or one's own manager (who answers questions too)
            leaders = ", ".join(
                f"@{p.handle}" for p in await env.tx.directory.people_with_role(Role.SENIOR_LEADER)
            )
            raise Refusal(
                f"{addressed.display_name} isn't a manager or senior leader. You can address a manager, or a "
                f"senior leader: {leaders or 'nobody yet'}."
            )
    anonymous = args.anonymous() or anonymous
    text = args.rest()
    if not anonymous and sounds_anonymous(text):
        raise Refusal(not_understood("ask", "your question"))
    return await ask(env, me, text, anonymous=anonymous, addressed=addressed)


ASK_NAMED = "Ask it with my name"
DUPLICATES_READ = 200  # open questions looked through for one asked in the same words


async def check_ask(env: Env, me: Person, typed: str, *, words: str | None = None) -> Reply:
    """Words typed in the chat that start with "ask" but read like a sentence, not a question ("Ask the
    families to tell us when nobody turns up"): shown back before anything is posted in the open under the
    person's name, with the choice of asking them, anonymously or not, sharing them as an idea, anonymously
    or not, or neither. What is shown is what any choice posts (:func:`typed_words`). The words ride in the
    buttons, so nothing is kept until a tap. ``words``: the words to ask, when ``typed`` did not start with
    "ask" (a question written under a campaign prompt)."""
    words = typed_words(typed) if words is None else clean_text(words, what="question", limit=QUESTION_MAX)
    if typed_label(typed, (Option(ASK_NAMED, ""),)) is not None:  # the button's words, typed
        raise Refusal(
            f"“{typed.strip()}” is what a button under your words says, so nothing was asked: tap it there. "
            "To ask by typing, write `ask` and your question with a question mark, or `ask anon` and your "
            "question to stay anonymous."
        )
    options = (
        Option(ASK_NAMED, f"{NAMED}:{words}"),
        Option("Ask anonymously", f"{ANONYMOUS}:{words}"),
        Option("Share as an idea", f"{AS_IDEA}:{words}"),
        Option("Share as an idea anonymously", f"{AS_ANONYMOUS_IDEA}:{words}"),
        Option("Neither", NEITHER),
    )
    asking = t("Ask this in the open, in the Q&A channel, or share it as an idea?")
    return shown_back((asking, t(user(words))), ASK_ACTION, "typed", options)


# Under words a leader typed while questions put to them wait: post them as the answer to one, or not.
TYPED_ANSWER_ACTION = "question.typed-answer"
NOT_AN_ANSWER = "none"
TYPED_ANSWERS_OFFERED = 3  # the newest questions put to them, one button each


async def check_typed_answer(env: Env, me: Person, typed: str) -> Reply | None:
    """Words a manager or leader typed in the chat that are no command, while questions put to them by
    name wait (they reply to "You've been asked a question" as to any message): shown back with a button
    to post them as the answer to each, newest first, or not; None when none waits or the words cannot be
    an answer (too long for a button, too short)."""
    if not me.is_manager:
        return None
    waiting = [
        question
        for question in await env.tx.questions.questions(statuses={QuestionStatus.OPEN}, limit=200)
        if question.addressed_to_id == me.id
    ]
    fits = all(utf16_units(f"{q.id}:{typed.strip()}") <= CHOICE_VALUE_MAX for q in waiting)
    # One word ("summary", "hlep") is more likely a slip for a command than an answer put in the open.
    if not waiting or len(typed.split()) < 2 or len(typed.strip()) < MIN_LENGTH or not fits:
        return None
    newest = sorted(waiting, key=lambda q: q.id, reverse=True)[:TYPED_ANSWERS_OFFERED]
    options = tuple(Option(f"Answer #{q.id}", f"{q.id}:{typed.strip()}") for q in newest)
    asked = [t(f"#{q.id}: ", user(shorten(q.text, 80))) for q in newest]
    rows = (
        t("Post this under your name, in the open, as your answer to a question put to you?"),
        t(user(typed.strip())),
        t("Put to you:"),
        *asked,
    )
    # "Not an answer" first: the words may be meant for anything else (a pulse just answered, anonymously),
    # and a tap on the first button must not post them in the open.
    return shown_back(rows, TYPED_ANSWER_ACTION, "typed", (Option("Not an answer", NOT_AN_ANSWER), *options))


async def answer_typed(env: Env, me: Person, value: str) -> Reply:
    """A button under words shown back by :func:`check_typed_answer`."""
    number, _, written = value.partition(":")
    if value == NOT_AN_ANSWER or not number.isdigit() or not me.is_manager:
        return Reply(messages=(Message(t("Nothing was posted.")),), replace=Message(t("Not posted.")))
    answered = await answer(env, me, await get_question(env, int(number)), written)
    return replace(answered, replace=Message(lines(t(f"Answered #{number}:"), t(user(written)))))


# Under a manager's reply in a question's thread: their answer, or a follow-up (a question back, a "+1").
THREAD_REPLY_ACTION = "question.thread-reply"
AS_ANSWER, AS_FOLLOWUP = "answer", "followup"


def answer_or_followup(question: Question, me: Person, text: str, platform: str) -> Reply | None:
    """A manager's or leader's reply in a question's thread, shown back with the choice of posting it as
    their answer or keeping it as a follow-up; None when the words are too long to ride in a button (then
    it is a follow-up, as before). Nothing reaches the asker until they choose."""
    body = text.strip()
    # The writer's id rides in the buttons: on Teams the offer sits in the channel's thread, where anyone
    # could tap it (their reply names them there already).
    if not body or utf16_units(f"{AS_FOLLOWUP}:{me.id}:{platform}:{body}") > CHOICE_VALUE_MAX:
        return None
    rows = (t(f"You replied in the thread of question #{question.id}. Is it your answer?"), t(user(body)))
    options = (
        Option("Post as my answer", f"{AS_ANSWER}:{me.id}:{platform}:{body}"),
        Option("Keep as a follow-up", f"{AS_FOLLOWUP}:{me.id}:{platform}:{body}"),
    )
    return shown_back(
        rows,
        THREAD_REPLY_ACTION,
        str(question.id),
        options,
        "An answer reaches the asker and everyone who upvoted; a senior leader's closes the question. "
        "Nothing is sent until you choose.",
    )


async def thread_reply_as(env: Env, me: Person, question_id: int, value: str) -> Reply:
    """A tap under :func:`answer_or_followup`: the reply posted as an answer or kept as a follow-up."""
    how, writer, platform, body = [*value.split(":", 3), "", "", ""][:4]
    if writer != str(me.id):
        raise Refusal("Only whoever wrote that reply can choose what it is.")
    question = await get_question(env, question_id)
    if how == AS_ANSWER and me.is_manager:
        done = await answer(env, me, question, body, in_thread_on=platform)
        return replace(
            done, replace=Message(lines(t(f"Posted as your answer to #{question.id}:"), t(user(body))))
        )
    kept = await followup(env, me, question, body, in_thread_on=platform)
    return replace(kept, replace=Message(lines(t(f"Kept as a follow-up to #{question.id}:"), t(user(body)))))


# A question's usual first words: after one of these, a leading "ask" was the command, not part of the words.
# fmt: off
_QUESTION_WORDS = frozenset({
    "how", "what", "when", "where", "why", "who", "whom", "whose", "which", "will", "would", "can", "could",
    "should", "shall", "is", "are", "was", "were", "am", "do", "does", "did", "has", "have", "had", "may",
    "might", "must", "any", "anyone", "anybody", "if",
})
# fmt: on


def typed_words(typed: str) -> str:
    """The words :func:`check_ask` shows and posts: without the leading "ask" when a question follows it
    ("ask can we have parking permits"), whole when it is part of a sentence ("Ask the families to ...")."""
    after_ask = typed.split(None, 1)[1] if len(typed.split(None, 1)) > 1 else ""
    body = clean_text(after_ask, what="question", limit=QUESTION_MAX)  # "ask" and nothing: nothing to show
    if body.split()[0].lower().strip(",.:;") in _QUESTION_WORDS:
        return body
    return clean_text(typed, what="question", limit=QUESTION_MAX)


def fits_check(typed: str) -> bool:
    """Whether :func:`check_ask` can carry ``typed`` in its buttons."""
    return utf16_units(f"{AS_ANONYMOUS_IDEA}:{typed.strip()}") <= CHOICE_VALUE_MAX


async def ask(env: Env, me: Person, text: str, *, anonymous: bool, addressed: Person | None = None) -> Reply:
    """Post a question in the open (or hold it for moderation), and tell the asker."""
    text = clean_text(text, what="question", limit=QUESTION_MAX)
    # Sent twice (a slow signal, a second tap), it was posted twice in the open; asked by two, it splits the
    # upvotes. Only posted questions are looked at: a held one must not show that it exists.
    for posted in await env.tx.questions.questions(statuses={QuestionStatus.OPEN}, limit=DUPLICATES_READ):
        if same_words(posted.text, text):
            raise Refusal(
                f"That was asked already, as #{posted.id} (`questions {posted.id}`): `upvote {posted.id}` "
                "adds your support, and you'll hear its answers."
            )
    held = anonymous and env.settings.premoderate_anonymous
    question = await env.tx.questions.add_question(
        text=text,
        at=coarse(env.now) if anonymous else env.now,
        asker_id=None if anonymous else me.id,
        route=None,
        addressed_to_id=addressed.id if addressed else None,
        status=QuestionStatus.HELD if held else QuestionStatus.OPEN,
    )
    if anonymous:
        route = env.anon.route(f"question:{question.id}", me.id)
        await env.tx.questions.set_route(question.id, route)
    if held:
        note = Message(
            lines(t(f"An anonymous question (#{question.id}) is waiting for moderation:"), t(user(text))),
            context=f"`moderate approve {question.id}` or `moderate reject {question.id} <reason>`.",
        )
        admins = await env.tx.directory.people_with_role(Role.ADMIN)
        await env.send(
            NewDelivery(key=f"question:{question.id}:held:{a.id}", person_id=a.id, message=note)
            for a in admins
        )
        return Reply(
            messages=(
                Message(
                    t(
                        f"Thanks. Your anonymous question #{question.id} will be posted once a "
                        "moderator has checked it. You'll hear either way."
                    )
                ),
            )
        )
    await publish(env, question)
    privacy = " anonymously: nobody can see it was you" if anonymous else ""
    if not env.settings.channel_platforms:
        return Reply(
            messages=(
                Message(
                    t(
                        f"Your question #{question.id} is recorded{privacy}, but no Q&A channel is set up "
                        "yet, so it is not posted: senior managers see it with `questions`. You'll be told "
                        "when it is answered."
                    )
                ),
            )
        )
    return Reply(
        messages=(
            Message(
                t(f"Your question #{question.id} is posted{privacy}. You'll be told when it is answered.")
            ),
        )
    )


PAGE = 20  # questions listed in one message


async def cmd_questions(env: Env, me: Person, args: Args) -> Reply:
    """``questions [answered] [page N]`` lists open (or answered) questions, most upvoted first, then newest;
    ``questions N`` shows question #N with its answers and follow-ups."""
    if args.peek().lstrip("#").isdigit():
        number = args.number("the question number")
        question = await env.tx.questions.get_question(number)
        # What was taken down stays visible as such, with the moderator's reason: a hard question must not
        # quietly vanish.
        if question is not None and (removal := await _removed(env, question)) is not None:
            said = f"Question #{number} was removed by a moderator on {day(removal.at, me)}, who said:"
            return Reply(messages=(Message(lines(t(said), t(user(removal.reason)))),))
        return await show_question(env, me, await get_question(env, number))
    if args.flag("mine"):
        return await _my_questions(env, me)
    if args.flag("withdraw"):
        return await withdraw(env, me, args.number("the question number"))
    which = "answered" if args.flag("answered") else "open"
    args.flag("open")
    page = args.number("the page") if args.flag("page") else 1
    if not args.empty or page < 1:
        raise Refusal(
            "Try `questions` for open ones, `questions answered`, `questions mine`, `questions page 2` for "
            "more, `questions <number>` to read one with its answers, or `questions withdraw <number>` to "
            "take back one of yours nobody has answered."
        )
    statuses = {QuestionStatus.ANSWERED} if which == "answered" else {QuestionStatus.OPEN}
    total = await env.tx.questions.count(statuses=statuses)
    found = await env.tx.questions.questions(statuses=statuses, limit=PAGE, offset=(page - 1) * PAGE)
    title = "Answered questions" if which == "answered" else "Open questions, most upvoted first"
    if not found:
        if page > 1:
            raise Refusal(f"There are only {plural(total, 'question')} {which}: no page {page}.")
        return Reply(messages=(Message(t(f"{title}: none. Ask one with `ask <your question>`.")),))
    rows: list[Text | str] = [f"{title}:"]
    for q in found:
        to = f" (to {await env.name(q.addressed_to_id)})" if q.addressed_to_id else ""
        rows.append(t(f"#{q.id} ▲{q.votes}{to} ", user(shorten(q.text)), f" — {day(q.created_at, me)}"))
    hints = ["`questions <number>` reads one with its answers", "`upvote <number>` supports one"]
    first = (page - 1) * PAGE + 1
    if total > PAGE:
        more = " answered" if which == "answered" else ""
        rows.append(f"Showing {first}–{first + len(found) - 1} of {total}.")
        if first + len(found) - 1 < total:
            hints.insert(0, f"`questions{more} page {page + 1}` for more")
    return Reply(messages=(Message(lines(*rows), context=", ".join(hints) + "."),))


MINE_READ = 500  # the newest questions looked through for one's own (anonymous ones are known by hashing)


async def my_questions(env: Env, me: Person) -> list[Question]:
    """The questions ``me`` asked, named or anonymously, newest first (held ones too: their asker knows)."""
    statuses = {QuestionStatus.OPEN, QuestionStatus.ANSWERED, QuestionStatus.HELD}
    found = await env.tx.questions.questions(statuses=statuses, limit=MINE_READ)
    return sorted((q for q in found if is_asker(env, q, me)), key=lambda q: q.id, reverse=True)


async def _my_questions(env: Env, me: Person) -> Reply:
    """``questions mine``: one's own questions with where each stands; only they see which are theirs."""
    mine = await my_questions(env, me)
    # Those a moderator took down or did not post stay listed for their asker, as such.
    moderated = await env.tx.questions.questions(statuses={QuestionStatus.REJECTED}, limit=MINE_READ)
    mine = sorted([*mine, *(q for q in moderated if is_asker(env, q, me))], key=lambda q: q.id, reverse=True)
    if not mine:
        return Reply(messages=(Message(t("Your questions: none yet. Ask one with `ask <your question>`.")),))
    rows: list[Text | str] = ["Your questions (only you see which are yours):"]
    for q in mine:
        state = {
            QuestionStatus.ANSWERED: "answered",
            QuestionStatus.HELD: "waiting for moderation",
            QuestionStatus.REJECTED: "removed by a moderator" if await _removed(env, q) else "not posted",
        }.get(q.status, "not answered yet")
        anon = " (anonymous)" if q.anonymous else ""
        rows.append(t(f"#{q.id}{anon} ▲{q.votes} ", user(shorten(q.text)), f" — {state}"))
    return Reply(
        messages=(
            Message(
                lines(*rows),
                context="`questions <number>` reads one with its answers; `followup <number> <text>` adds to "
                "it.",
            ),
        )
    )


FOLLOWUP_DAYS = 14  # an answer this recent makes words written in the chat perhaps a reply to it
TYPED_FOLLOWUP_ACTION = "question.typed-followup"


async def check_typed_followup(env: Env, me: Person, typed: str) -> Reply | None:
    """Words written in the chat after one's own question was answered ("thank you but nothing has
    changed"): shown back with the offer to add them to it as a follow-up (anonymous if it was), or not.
    None when no question of theirs has a recent answer, or the words cannot ride in a button."""
    since = env.now - timedelta(days=FOLLOWUP_DAYS)
    answered = []
    for question in await my_questions(env, me):
        posts = await env.tx.questions.posts(question.id)
        if any(p.kind == "answer" and p.at >= since for p in posts):
            answered.append(question)
    body = typed.strip()
    if not answered or len(body.split()) < 2 or utf16_units(f"{answered[0].id}:{body}") > CHOICE_VALUE_MAX:
        return None
    question = answered[0]
    anon = " (it stays anonymous)" if question.anonymous else ""
    rows = (
        t(f"Add this to your question #{question.id} as a follow-up{anon}?"),
        t(user(body)),
        t("Your question: ", user(shorten(question.text, 120))),
    )
    options = (Option("Not a follow-up", NOT_AN_ANSWER), Option("Follow up", f"{question.id}:{body}"))
    return shown_back(rows, TYPED_FOLLOWUP_ACTION, str(question.id), options)


async def followup_typed(env: Env, me: Person, value: str) -> Reply:
    """A tap under :func:`check_typed_followup`."""
    number, _, written = value.partition(":")
    if value == NOT_AN_ANSWER or not number.isdigit():
        return Reply(messages=(Message(t("Nothing was posted.")),), replace=Message(t("Not posted.")))
    added = await followup(env, me, await get_question(env, int(number)), written)
    return replace(added, replace=Message(lines(t(f"Followed up on #{number}:"), t(user(written)))))


async def show_question(env: Env, me: Person, question: Question) -> Reply:
    """A question with its thread: what staff read when the channel is far away or the answer was short."""
    asker = "an anonymous colleague" if question.anonymous else await env.name(question.asker_id)
    to = f" to {await env.name(question.addressed_to_id)}" if question.addressed_to_id else ""
    posts = await env.tx.questions.posts(question.id)
    state = "not answered yet"
    if question.status is QuestionStatus.ANSWERED:
        state = "answered"
    elif any(post.kind == "answer" for post in posts):  # a manager's answer leaves it open for a leader
        state = "open for a senior leader's answer"
    rows: list[Text | str] = [
        t(
            f"Question #{question.id} from {asker}{to}, {day(question.created_at, me)} "
            f"(▲{question.votes}), {state}:"
        ),
        t(user(question.text)),
    ]
    for post in posts:
        who = "The asker" if post.author_id is None else await env.name(post.author_id)
        verb = "answered" if post.kind == "answer" else "followed up"
        rows.append(t(f"{who} {verb} ({day(post.at, me)}): ", user(post.text)))
    return Reply(
        messages=(
            Message(
                lines(*rows),
                context=f"`upvote {question.id}` supports it; `followup {question.id} <text>` adds to it.",
            ),
        )
    )


async def withdraw(env: Env, me: Person, question_id: int) -> Reply:
    """``questions withdraw N``: the asker takes back a question nobody has answered (asked twice, once with
    the name by mistake; a typo in the open): its post says it was withdrawn, and whoever upvoted it or was
    asked it is told. Everyone else is refused alike, so an anonymous question's refusal names nobody."""
    # One refusal for a question that is not theirs, answered, or not there at all: a held anonymous
    # question's existence is not for anyone but its asker and the moderators to learn.
    question = await env.tx.questions.get_question(question_id)
    if (
        question is None
        or question.status not in (QuestionStatus.OPEN, QuestionStatus.HELD)
        or not is_asker(env, question, me)
    ):
        raise Refusal(f"Only whoever asked #{question_id} can withdraw it, and only before it is answered.")
    if any(p.kind == "answer" for p in await env.tx.questions.posts(question.id)):
        raise Refusal(
            f"#{question.id} has an answer now, so it stays; `followup {question.id} <text>` adds to it."
        )
    if not await env.tx.questions.withdraw(question.id, {QuestionStatus.OPEN, QuestionStatus.HELD}):
        raise Refusal(f"#{question.id} changed just now. Check `questions {question.id}`.")
    gone = Message(t(f"Question #{question.id} was withdrawn by whoever asked it."))
    if question.status is QuestionStatus.OPEN:  # a held one was never posted
        await _replace_post(env, question, "withdrawn", gone)
    # The leader it was put to is told even if they asked it (anonymously, of themselves): a notice missing
    # for them alone would say who asked.
    told = set(await env.tx.questions.upvoters(question.id)) - {me.id}
    if question.addressed_to_id is not None:
        told.add(question.addressed_to_id)
    await env.send(
        NewDelivery(key=f"question:{question.id}:withdrawn:{pid}", person_id=pid, message=gone)
        for pid in sorted(told)
    )
    return Reply(
        messages=(Message(t(f"Withdrawn: #{question.id} is taken down, and nobody can answer it now.")),)
    )


async def cmd_upvote(env: Env, me: Person, args: Args) -> Reply:
    """``upvote ID``: one upvote per person per question."""
    return await upvote(env, me, args.number("the question number"))


async def upvote(env: Env, me: Person, question_id: int) -> Reply:
    """Record an upvote and refresh the channel post's count."""
    question = await get_question(env, question_id)
    if is_asker(env, question, me):
        raise Refusal(f"#{question.id} is your own question, so you can't upvote it.")
    if not await env.tx.questions.add_upvote(question.id, me.id):
        raise Refusal(f"You've already upvoted #{question.id}. One upvote each.")
    fresh = await get_question(env, question.id)
    await _replace_post(env, question, f"votes:{fresh.votes}", await _post_message(env, fresh))
    return Reply(messages=(Message(t(f"Upvoted. #{question.id} now has {plural(fresh.votes, 'upvote')}.")),))


async def _replace_post(env: Env, question: Question, change: str, message: Message) -> None:
    """Update the question's channel post in place on every platform (``change`` keys the update)."""
    await env.send(
        NewDelivery(
            key=f"question:{question.id}:{change}:{platform}",
            replaces=f"question:{question.id}:post:{platform}",
            message=message,
        )
        for platform in env.settings.channel_platforms
    )


async def cmd_answer(env: Env, me: Person, args: Args) -> Reply:
    """``answer ID TEXT``: answer in the open (managers and senior leaders)."""
    question = await get_question(env, args.number("the question number"))
    if args.empty:
        return Reply(form=answer_form(question))
    text = args.rest()
    if (check := await _answered_already(env, me, question, text)) is not None:
        return check
    return await answer(env, me, question, text)


async def _answered_already(env: Env, me: Person, question: Question, text: str) -> Reply | None:
    """A question another leader has answered, shown with that answer before a second is posted: the
    overdue notice went to every senior leader, and the asker and upvoters would hear twice, perhaps two
    different things. None when nobody else has answered it."""
    if question.status is not QuestionStatus.ANSWERED:
        return None
    theirs = [
        p for p in await env.tx.questions.posts(question.id) if p.kind == "answer" and p.author_id != me.id
    ]
    body = clean_text(text, what="answer", limit=ANSWER_MAX, field="answer")
    if not theirs or utf16_units(f"{question.id}:{body}") > CHOICE_VALUE_MAX:
        return None
    last = theirs[-1]
    by = await env.name(last.author_id)
    rows = (
        t(f"#{question.id} already has {by}'s answer ({day(last.at, me)}):"),
        t(user(shorten(last.text, 300))),
        t("Add yours too? Its asker and everyone who upvoted it will hear of it."),
    )
    options = (Option("Add my answer", f"{question.id}:{body}"), Option("Don't post", NOT_AN_ANSWER))
    return shown_back(rows, TYPED_ANSWER_ACTION, "again", options)


async def answer(
    env: Env, me: Person, question: Question, text: str, *, in_thread_on: str | None = None
) -> Reply:
    """Post the answer in the question's thread and tell the asker (``in_thread_on``: as for
    :func:`followup`, the platform whose thread it was written in)."""
    body = clean_text(text, what="answer", limit=ANSWER_MAX, field="answer")
    earlier = [post for post in await env.tx.questions.posts(question.id) if post.kind == "answer"]
    await env.tx.questions.add_post(
        QaPost(question_id=question.id, kind="answer", text=body, at=env.now, author_id=me.id)
    )
    # Questions are put to senior leaders: a manager's answer is posted and heard, but the question stays
    # open (in leaders' `todo`, flagged when overdue) until a senior leader, or the one it was put to,
    # answers; a manager named in a question cannot close it by answering it.
    closes = me.is_senior_leader or question.addressed_to_id == me.id
    if closes:
        await env.tx.questions.set_status(question.id, {QuestionStatus.OPEN}, QuestionStatus.ANSWERED)
    count = len(await env.tx.questions.posts(question.id))
    reply = Message(t(f"Answer from {me.display_name}: ", user(body)), thread=thread_key(question.id))
    await env.send(channel_posts(env, f"question:{question.id}:post:{count}", reply, skip=in_thread_on))
    news = "another answer" if earlier else "an answer"
    note = _with_answer(
        f"Your question #{question.id} has {news} from {me.display_name}:",
        question,
        body,
        f"Follow up with `followup {question.id} <text>`.",
    )
    await env.send(
        [
            to_author(
                f"question:{question.id}:answered:{count}",
                note,
                person_id=question.asker_id,
                route=question.route,
            )
        ]
    )
    heard = {me.id, question.addressed_to_id, question.asker_id}
    backers = [pid for pid in await env.tx.questions.upvoters(question.id) if pid not in heard]
    backed = _with_answer(
        f"Question #{question.id}, which you upvoted, has {news} from {me.display_name}:",
        question,
        body,
        f"`questions {question.id}` shows the whole thread.",
    )
    await env.send(
        NewDelivery(key=f"question:{question.id}:answered:{count}:up:{pid}", person_id=pid, message=backed)
        for pid in backers
    )
    if question.addressed_to_id not in (None, me.id):
        # It was asked of someone else, who would otherwise answer it again not knowing.
        await env.send(
            [
                NewDelivery(
                    key=f"question:{question.id}:answered:{count}:to",
                    person_id=question.addressed_to_id,
                    message=Message(
                        lines(
                            t(f"{me.display_name} answered question #{question.id}, which was asked of you:"),
                            t(user(body)),
                        ),
                        context=f"Add to it in the open with `answer {question.id} <your answer>`.",
                    ),
                )
            ]
        )
    told = await _asker_told(env, question)
    done = f"Answered #{question.id}. It's in the thread{told}."
    if not closes and question.status is QuestionStatus.OPEN:
        done = (
            f"Your answer to #{question.id} is in the thread{told}. The question stays open for a senior "
            "leader to answer too."
        )
    elif earlier:
        first = earlier[0]
        by = "you" if first.author_id == me.id else await env.name(first.author_id)
        done = (
            f"Added your answer to #{question.id}, which {by} had answered on {day(first.at, me)}. "
            f"It's in the thread{told}."
        )
    return Reply(messages=(Message(t(done)),))


async def _asker_told(env: Env, question: Question) -> str:
    """How an answer's confirmation says the asker heard of it. An anonymous asker is always "told": that
    they can no longer be must not say they have left."""
    asker = None if question.asker_id is None else await env.tx.directory.get_person(question.asker_id)
    if asker is None or asker.active:
        return " and the asker has been told"
    return f"; {asker.display_name} is no longer in the directory, so was not told"


def _with_answer(headline: str, question: Question, body: str, context: str) -> Message:
    """News of an answer: the headline, the question quoted short, the answer whole."""
    return Message(
        lines(t(headline), t("“", user(shorten(question.text, 120)), "”"), t(user(body))), context=context
    )


async def cmd_followup(env: Env, me: Person, args: Args) -> Reply:
    """``followup ID TEXT``: continue a question's thread."""
    if not args.peek().lstrip("#").isdigit() and (mine := await my_questions(env, me)):
        # "followup thank you but still nothing": which question is plain when it is one's own latest.
        raise Refusal(
            f"Which question is it for? `followup {mine[0].id} <text>` adds to your question #{mine[0].id} "
            "(`questions mine` lists yours)."
        )
    question = await get_question(env, args.number("the question number"))
    return await followup(env, me, question, args.rest())


async def followup(
    env: Env, me: Person, question: Question, text: str, *, in_thread_on: str | None = None
) -> Reply:
    """Add a follow-up; the anonymous asker stays anonymous, and the other side is told.

    ``in_thread_on`` names the platform where it was written as a thread reply: it is already in
    that thread, so it is posted only to the other platforms' threads. A thread reply shows its writer's
    name there, so on an anonymous question it is taken as anyone's, even the asker's: stored, announced
    and answered exactly as anyone else's, so nothing, in the database either, shows it was theirs. The
    reply to it tells whoever wrote it how the asker can follow up without their name.
    """
    body = clean_text(text, what="follow-up", limit=QUESTION_MAX)
    named_in_thread = question.anonymous and in_thread_on is not None
    by_asker = not named_in_thread and is_asker(env, question, me)
    hidden = by_asker and question.anonymous
    if not hidden and in_thread_on is None and sounds_anonymous(body):
        raise Refusal(
            "That mentions being anonymous, so nothing was posted with your name. A follow-up shows your "
            "name (only an anonymous question's asker follows up without one); to stay anonymous, ask it "
            "as a question of your own with `ask anon <question>`."
        )
    await env.tx.questions.add_post(
        QaPost(
            question_id=question.id,
            kind="followup",
            text=body,
            at=coarse(env.now) if hidden else env.now,
            author_id=None if hidden else me.id,
            by_asker=by_asker,
        )
    )
    count = len(await env.tx.questions.posts(question.id))
    who = "The asker" if hidden else me.display_name
    post = Message(t(f"{who} followed up: ", user(body)), thread=thread_key(question.id))
    await env.send(channel_posts(env, f"question:{question.id}:post:{count}", post, skip=in_thread_on))
    note = Message(
        lines(
            t(f"New follow-up on question #{question.id} from {who.lower() if hidden else who}:"),
            t(user(body)),
        )
    )
    # Whoever answered hears how their answer lands, from the asker or anyone else: not their own words,
    # except from an anonymous asker, who may have answered too (left out, they would be the asker); a named
    # asker hears as the asker, below.
    skipped = {question.asker_id} | (set() if hidden else {me.id})
    answerers = {
        p.author_id
        for p in await env.tx.questions.posts(question.id)
        if p.kind == "answer" and p.author_id is not None and p.author_id not in skipped
    }
    await env.send(
        NewDelivery(key=f"question:{question.id}:followup:{count}:{pid}", person_id=pid, message=note)
        for pid in sorted(answerers)
    )
    if not by_asker:
        await env.send(
            [
                to_author(
                    f"question:{question.id}:followup:{count}:asker",
                    note,
                    person_id=question.asker_id,
                    route=question.route,
                )
            ]
        )
    if named_in_thread:
        return Reply(
            messages=(
                Message(
                    t(
                        f"Follow-up added to #{question.id}. A reply in the thread shows your name: to "
                        "follow up on a question you asked anonymously, write "
                        f"`followup {question.id} <text>` in your chat with me instead."
                    )
                ),
            )
        )
    return Reply(messages=(Message(t(f"Follow-up added to #{question.id}.")),))


OVERDUE_SHOWN = 5  # questions listed in one overdue notice; the rest are in `todo`


async def flag_overdue(env: Env) -> int:
    """Tell the addressed leader (or every senior leader) about questions unanswered for too long, once: one
    notice a leader for all the questions that came due together, most upvoted first."""
    before = env.now - timedelta(days=env.settings.overdue_days)
    flagged = [q for q in await env.tx.questions.overdue(before) if await env.tx.questions.mark_flagged(q.id)]
    if not flagged:
        return 0
    leaders = [p.id for p in await env.tx.directory.people_with_role(Role.SENIOR_LEADER)]
    answerers = {p.id for p in await env.tx.directory.people_with_role(Role.MANAGER)} | set(leaders)
    due: dict[int, list[Question]] = {}
    for question in flagged:
        # Put to someone who has since left (or answers no more): every senior leader, or nobody would hear.
        for pid in [question.addressed_to_id] if question.addressed_to_id in answerers else leaders:
            due.setdefault(pid, []).append(question)
    # Each question is flagged once, so the lowest of this sweep's ids keys its notices uniquely.
    first = min(q.id for q in flagged)
    # A manager's answer leaves a question open for a senior leader: "waited for an answer" would be untrue.
    answered = {q.id for q in flagged if any(p.kind == "answer" for p in await env.tx.questions.posts(q.id))}
    await env.send(
        [
            NewDelivery(
                key=f"question:{first}:overdue:{pid}",
                person_id=pid,
                message=_overdue_note(env, qs, answered),
                not_before=working_time(env.now, person) if (person := await env.person(pid)) else None,
            )
            for pid, qs in due.items()
        ]
    )
    return len(flagged)


def working_time(now: datetime, person: Person) -> datetime:
    """``now``, or, when it falls on a Saturday or Sunday where ``person`` is, 08:00 on their Monday: a
    reminder to a leader waits for the working week (five days after Monday's questions is a Saturday)."""
    local = now.astimezone(zone(person.time_zone))
    if local.weekday() < 5:
        return now
    monday = (local + timedelta(days=7 - local.weekday())).replace(hour=8, minute=0, second=0, microsecond=0)
    return monday.astimezone(UTC)


HELD_TOO_LONG = timedelta(days=1)  # a held question's asker was told "you'll hear either way"


async def remind_moderators(env: Env) -> int:
    """Tell the admins, once per question, about anonymous questions held for moderation over a day: one
    notice for those that came due together."""
    held = [
        q
        for q in await env.tx.questions.held_waiting(env.now - HELD_TOO_LONG)
        if await env.tx.questions.mark_flagged(q.id)
    ]
    if not held:
        return 0
    waited = (
        "has waited over a day for moderation; its asker is"
        if len(held) == 1
        else ("have waited over a day for moderation; their askers are")
    )
    note = Message(
        t(f"{plural(len(held), 'anonymous question')} {waited} waiting to hear."),
        context="`moderate list` shows them; `moderate approve <n>` or `moderate reject <n> <reason>`.",
    )
    first = min(q.id for q in held)
    await env.send(
        NewDelivery(key=f"question:{first}:held-reminder:{admin.id}", person_id=admin.id, message=note)
        for admin in await env.tx.directory.people_with_role(Role.ADMIN)
    )
    return len(held)


def _overdue_note(env: Env, due: list[Question], answered: set[int]) -> Message:
    """The overdue notice; ``answered``: the questions a manager answered, which wait for a senior leader."""
    days = env.settings.overdue_days
    if len(due) == 1:
        (question,) = due
        waited = (
            f"has a manager's answer and has waited {days} days for a senior leader's"
            if question.id in answered
            else f"has waited {days} days for an answer"
        )
        return Message(
            lines(t(f"Question #{question.id} {waited} (▲{question.votes}):"), t(user(question.text))),
            context=f"Answer in the open with `answer {question.id} <your answer>`"
            + (f"; `questions {question.id}` reads the manager's." if question.id in answered else "."),
        )
    ranked = sorted(due, key=lambda q: (-q.votes, q.id))
    awaited = "a senior leader's answer" if any(q.id in answered for q in due) else "an answer"
    rows: list[Text | str] = [
        f"{len(due)} questions have waited {days} days for {awaited}, most upvoted first:"
    ]
    rows += [
        t(
            f"• #{q.id} (▲{q.votes}): ",
            user(shorten(q.text)),
            " (a manager answered)" if q.id in answered else "",
            f" → `answer {q.id} <answer>`",
        )
        for q in ranked[:OVERDUE_SHOWN]
    ]
    if len(due) > OVERDUE_SHOWN:
        rows.append(f"• and {len(due) - OVERDUE_SHOWN} more → `todo`")
    return Message(lines(*rows), context="Answer in the open; `questions <number>` reads one in full.")


async def cmd_moderate(env: Env, me: Person, args: Args) -> Reply:
    """``moderate [list | approve ID | reject ID REASON | remove ID REASON | log]`` (admins)."""
    sub = args.word("what to do").lower() if not args.empty else "list"
    if sub == "list":
        held = sorted(
            await env.tx.questions.questions(statuses={QuestionStatus.HELD}, limit=50), key=lambda q: q.id
        )
        if not held:
            return Reply(messages=(Message(t("No questions are waiting for moderation.")),))
        rows = [
            t(
                f"#{q.id} ({day(q.created_at, me)})",
                f" to {await env.name(q.addressed_to_id)}: " if q.addressed_to_id else " ",
                user(q.text),
            )
            for q in held
        ]
        return Reply(
            messages=(
                Message(
                    lines("Waiting for moderation:", *rows),
                    context="`moderate approve <n>` or `moderate reject <n> <reason>` (the oldest first).",
                ),
            )
        )
    if sub == "log":
        entries = await env.tx.questions.moderation_log(limit=50)
        if not entries:
            return Reply(messages=(Message(t("The moderation log is empty.")),))
        rows = [
            t(
                f"{day(e.at, me)} #{e.question_id} {e.decision} by {await env.name(e.admin_id)}",
                *((": ", user(e.reason)) if e.reason else ()),  # an approval may come without a note
            )
            for e in entries
        ]
        return Reply(messages=(Message(lines("Moderation log, newest first:", *rows)),))
    if sub == "remove":
        return await _remove(
            env, me, await get_question(env, args.number("the question number")), args.rest()
        )
    if sub in ("approve", "reject"):
        question = await get_question(env, args.number("the question number"), live=False)
        if question.status is not QuestionStatus.HELD:
            raise Refusal(f"#{question.id} isn't waiting for moderation.")
        reason = args.rest().strip()
        if sub == "reject":
            reason = clean_text(reason, what="reason", limit=REASON_MAX)
        elif len(reason) > REASON_MAX:
            raise Refusal(f"Please keep the note under {REASON_MAX} characters.")
        status = QuestionStatus.OPEN if sub == "approve" else QuestionStatus.REJECTED
        # Posted now: dated (coarsely) from today, so its wait for an answer starts now and its day does not
        # tell when its asker wrote it.
        posted_at = coarse(env.now) if sub == "approve" else None
        if not await env.tx.questions.set_status(
            question.id, {QuestionStatus.HELD}, status, posted_at=posted_at
        ):
            raise Refusal(f"#{question.id} was moderated by someone else just now.")
        decision = "approved" if sub == "approve" else "rejected"
        await env.tx.questions.add_moderation(
            ModerationEntry(
                question_id=question.id, admin_id=me.id, decision=decision, reason=reason, at=env.now
            )
        )
        if sub == "approve":
            await publish(env, await get_question(env, question.id))
            note = Message(t(f"Your anonymous question #{question.id} was approved and is now posted."))
        else:
            note = Message(
                lines(
                    t(f"Your anonymous question #{question.id} wasn't posted. The moderator said:"),
                    t(user(reason)),
                )
            )
        await env.send(
            [to_author(f"question:{question.id}:{decision}", note, person_id=None, route=question.route)]
        )
        return Reply(messages=(Message(t(f"#{question.id} {decision}. The asker has been told.")),))
    raise Refusal(
        "Try `moderate`, `moderate approve <n>`, `moderate reject <n> <reason>`, "
        "`moderate remove <n> <reason>` (a posted question) or `moderate log`."
    )


async def _remove(env: Env, me: Person, question: Question, reason: str) -> Reply:
    """Take a posted question down (a personal attack, a name that should not be there): its channel post
    says it was removed, nobody can upvote, answer or follow it up, and its asker is told why."""
    reason = clean_text(reason, what="reason", limit=REASON_MAX)
    if not await env.tx.questions.set_status(question.id, LIVE, QuestionStatus.REJECTED):
        raise Refusal(f"#{question.id} was moderated by someone else just now.")
    await env.tx.questions.add_moderation(
        ModerationEntry(
            question_id=question.id, admin_id=me.id, decision="removed", reason=reason, at=env.now
        )
    )
    await _replace_post(
        env, question, "removed", Message(t(f"Question #{question.id} was removed by a moderator."))
    )
    note = Message(
        lines(t(f"Your question #{question.id} was taken down by a moderator, who said:"), t(user(reason)))
    )
    await env.send(
        [
            to_author(
                f"question:{question.id}:removed", note, person_id=question.asker_id, route=question.route
            )
        ]
    )
    # Whoever upvoted, answered or was asked it hears too: it must not vanish from under them unseen.
    answerers = {p.author_id for p in await env.tx.questions.posts(question.id) if p.kind == "answer"}
    following = {*await env.tx.questions.upvoters(question.id), *answerers, question.addressed_to_id}
    told = sorted(pid for pid in following - {me.id, question.asker_id} if pid is not None)
    gone = Message(
        lines(t(f"Question #{question.id} was removed by a moderator, who said:"), t(user(reason)))
    )
    await env.send(
        NewDelivery(key=f"question:{question.id}:removed:{pid}", person_id=pid, message=gone) for pid in told
    )
    return Reply(
        messages=(
            Message(
                t(
                    f"#{question.id} removed: its post now says so, and the asker"
                    f"{', and whoever upvoted, answered or was asked it,' if told else ''} has been told. "
                    f"`questions {question.id}` shows anyone your reason."
                )
            ),
        )
    )
