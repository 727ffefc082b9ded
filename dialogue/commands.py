"""One command grammar for every platform: names, usage, who may run them, and help."""

from __future__ import annotations

import difflib
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from dialogue.args import Args, says_anonymous
from dialogue.directory import Person
from dialogue.errors import Refusal
from dialogue.flows import away, campaigns, home, ideas, questions, quiet, survey_commands
from dialogue.flows.env import Env
from dialogue.flows.surveys import waiting_named
from dialogue.ideas import parse_status
from dialogue.messages import Message, Reply
from dialogue.smalltalk import privacy_answer
from dialogue.text import lines, t

Handler = Callable[[Env, Person, Args], Awaitable[Reply]]


def anyone(_: Person) -> bool:
    """Every person may run it."""
    return True


def managers(person: Person) -> bool:
    """Managers and senior leaders."""
    return person.is_manager


def leaders(person: Person) -> bool:
    """Senior leaders (and admins, who set check-ins up)."""
    return person.is_senior_leader or person.is_admin


def admins(person: Person) -> bool:
    """Admins."""
    return person.is_admin


@dataclass(frozen=True)
class CommandSpec:
    """A command: how to use it, what it does and who may run it."""

    name: str
    usage: str
    summary: str
    run: Handler
    allowed: Callable[[Person], bool] = anyone
    who: str = ""  # who may run it, for the refusal ("managers")


PRIVACY_TOPICS = {"anon", "anonymous", "anonymity", "anonymously", "privacy", "private", "confidential"}


async def _help(env: Env, me: Person, args: Args) -> Reply:
    topic = args.rest().strip().lower().lstrip("/")
    if topic in PRIVACY_TOPICS:  # "help anon": what is hidden and what is not, before writing anonymously
        named = [survey.name for survey in await waiting_named(env, me)]
        return Reply(messages=(privacy_answer(env.settings.min_group_size, named),))
    return help_reply(me, topic)


COMMANDS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec("help", "help [command]", "what you can do here, or all one command can do", _help),
        CommandSpec(
            "idea",
            "idea [anon] <your idea>",
            "share an improvement idea (anon keeps you anonymous)",
            ideas.cmd_idea,
        ),
        CommandSpec(
            "ideas",
            "ideas [mine|owned|all|<status>|<number>] [page <n>] | ideas withdraw <number>",
            "see ideas, or one in full; withdraw your own while new",
            ideas.cmd_ideas,
        ),
        CommandSpec(
            "todo",
            "todo",
            "what waits for you: pulses to answer; for managers and leaders, what to answer or decide",
            home.cmd_todo,
        ),
        CommandSpec(
            "away",
            "away until <the day you're back> | away off",
            "on leave: no pulses, check-ins or idea campaigns until you're back",
            away.cmd_away,
        ),
        CommandSpec(
            "quiet",
            "quiet <from>-<to> | quiet off",
            "the hours, in your own time, when messages you did not ask for wait",
            quiet.cmd_quiet,
        ),
        CommandSpec("vote", "vote <idea number>", "support an idea (one vote each)", ideas.cmd_vote),
        CommandSpec("comment", "comment <idea number> <text>", "comment on an idea", ideas.cmd_comment),
        CommandSpec(
            "ask",
            "ask [anon] [to @leader] <question>",
            "ask senior managers a question, in the open",
            questions.cmd_ask,
        ),
        CommandSpec(
            "questions",
            "questions [answered|mine] [page <n>] | questions <number> | questions withdraw <number>",
            "open questions, most upvoted first; one question with its answers",
            questions.cmd_questions,
        ),
        CommandSpec(
            "upvote", "upvote <question number>", "support a question (one upvote each)", questions.cmd_upvote
        ),
        CommandSpec(
            "followup",
            "followup <question number> <text>",
            "continue a question's thread",
            questions.cmd_followup,
        ),
        CommandSpec(
            "status",
            "status <idea number> <new status> <reason>",
            "move an idea on: under_review, piloting, implemented, spread or declined",
            ideas.cmd_status,
            managers,
            "managers",
        ),
        CommandSpec(
            "owner",
            "owner <idea number> @handle",
            "name who carries an idea through",
            ideas.cmd_owner,
            managers,
            "managers",
        ),
        CommandSpec(
            "adopt",
            "adopt <idea number> <how your team will use it>",
            "take up another team's implemented idea",
            ideas.cmd_adopt,
            managers,
            "managers",
        ),
        CommandSpec(
            "answer",
            "answer <question number> <answer>",
            "answer a question in the open",
            questions.cmd_answer,
            managers,
            "managers and senior leaders",
        ),
        CommandSpec(
            "pulse",
            "pulse list | send <name> | results <name> | results run <run> | close <name> "
            "| reply <run> <text>",
            "run pulse surveys, read their results and reply (“you said, we did”)",
            survey_commands.cmd_pulse,
            managers,
            "managers",
        ),
        CommandSpec(
            "campaign",
            "campaign list | send <name> | ideas <name>",
            "list idea campaigns, send one's prompt now, or read the ideas it brought in",
            campaigns.cmd_campaign,
            managers,
            "managers",
        ),
        CommandSpec(
            "checkin",
            "checkin list | send <name> | results <name> | results run <run> | close <name> "
            "| reply <run> <text>",
            "run check-ins and reply to their digest (“you said, we did”)",
            survey_commands.cmd_checkin,
            leaders,
            "senior leaders",
        ),
        CommandSpec(
            "moderate",
            "moderate [list | approve <n> | reject <n> <reason> | remove <n> <reason> | log]",
            "moderate anonymous questions, take down a posted one, read the moderation log",
            questions.cmd_moderate,
            admins,
            "admins",
        ),
    )
}


# What the help list shows of each command: the form people use most, written out. The notation of a
# usage ("idea [anon] <your idea>") is read aloud as "left bracket anon right bracket..." and puzzles
# many on a phone; `help <command>` still gives every form.
EXAMPLES: dict[str, str] = {
    "help": "help ideas",
    "idea": "idea Text people when a visit will be late",
    "ideas": "ideas",
    "todo": "todo",
    "away": "away until 4 Jan",
    "quiet": "quiet 22:00-07:00",
    "vote": "vote 12",
    "comment": "comment 12 We tried this on nights",
    "ask": "ask Will weekend rotas be published a month ahead?",
    "questions": "questions",
    "upvote": "upvote 3",
    "followup": "followup 3 Which teams does that cover?",
    "status": "status 12 review Let's try this on the east patch",
    "owner": "owner 12 @ben",
    "adopt": "adopt 12 We'll try it in Housing from March",
    "answer": "answer 3 Yes, from January",
    "pulse": "pulse results Monday pulse",
    "campaign": "campaign list",
    "checkin": "checkin list",
    "moderate": "moderate list",
}


def lookup(word: str) -> CommandSpec | None:
    """The command named by ``word`` (a leading ``/`` and a trailing ``:`` are allowed: "Idea: ..."), or
    None."""
    return COMMANDS.get(word.lower().lstrip("/").rstrip(":"))


def unmistakable(words: Sequence[str]) -> bool:
    """Whether ``words`` can only be a command: a command word alone, or followed by a number or by one of
    the words its usage names ("pulse list", "ask anon ...", "vote 12").

    Prose can start with a command word too ("Ask the rota team first", "Help with paperwork"); while the
    bot waits for someone's written answer such text is the answer, not a command.
    """
    spec = lookup(words[0]) if words else None
    if spec is None:
        return False
    if len(words) == 1:
        return True
    second = words[1].lower()
    if says_anonymous(" ".join(words[1:])):  # "ask anon: ...", "idea (anon) ..."
        return True
    if second == "to":  # "ask to @helen ..." names a leader; "Ask to be moved to days" is prose
        return len(words) > 2 and words[2].startswith("@")
    if spec.name == "ideas" and (parse_status(second) or parse_status(" ".join(words[1:3]))):
        return True  # "ideas new", "ideas under review": what `todo` suggests
    if spec.name == "help" and lookup(second) is not None:  # "help todo"
        return True
    return second.lstrip("#").isdigit() or second in _KEYWORDS[spec.name]


def close_command(word: str) -> str | None:
    """The command a one-word slip was probably meant to be ("hlep" -> "help", "tood" -> "todo"), if any."""
    found = difflib.get_close_matches(word.lower(), list(COMMANDS), n=1, cutoff=0.75)
    return found[0] if found else None


def runs_while_writing(words: Sequence[str]) -> bool:
    """Whether ``words`` are a command even while the bot waits for someone's written words: unmistakable,
    and either short ("questions answered", "vote 12") or a command that ends in words of its own
    ("comment 12 ...", "checkin reply 4 ..."). "Questions answered quicker by managers" and "help 2 more
    carers on the rota" are answers."""
    spec = lookup(words[0]) if words else None
    if spec is None or not unmistakable(words):
        return False
    return len(words) <= SHORT_COMMAND or spec.name in _ENDS_IN_WORDS


SHORT_COMMAND = 3  # words
# Commands one of whose forms ends in a placeholder for words: "idea [anon] <your idea>", "pulse ... | reply
# <run> <text>" (not "questions [answered]" or "help [command]").
_ENDS_IN_WORDS = {
    name
    for name, spec in COMMANDS.items()
    for form in re.sub(r"\[[^\]]*\]", "", spec.usage).split("|")
    # "vote <idea number>" and "questions <number>" end in one word, not in words of their own
    if (end := re.search(r"<([^>]*)>\s*$", form)) and not re.fullmatch(r"n|.*number", end[1])
}


# The fixed words of each command's usage: "pulse list | send <name>" -> {"list", "send"}.
_KEYWORDS = {
    name: set(re.findall(r"(?<![@\w])[a-z_]+", re.sub(r"<[^>]*>", "", spec.usage))) - {name}
    for name, spec in COMMANDS.items()
}


def help_reply(me: Person, topic: str = "") -> Reply:
    """Help listing only what the caller may do, or one command in detail (the list when ``topic`` names
    no command)."""
    spec = lookup(topic.split()[0]) if topic.split() else None
    if spec is not None:
        note = "" if spec.allowed(me) else f" (only {spec.who} can use this)"
        rows = [t(f"`{spec.usage}`{note}"), t(spec.summary.capitalize() + ".")]
        if spec.name in ("pulse", "checkin") and not spec.allowed(me):  # what staff do with one
            rows.append(t("To answer one, tap the buttons on its question, or type your answer (4, yes...)."))
        return Reply(messages=(Message(lines(*rows)),))
    rows = [t(f"`{EXAMPLES[each.name]}` — {each.summary}") for each in COMMANDS.values() if each.allowed(me)]
    # "help me with rotas" asks for help, not for a command called "me": the whole list answers it;
    # "help me" too, as people say it.
    typo = len(topic.split()) == 1 and topic.strip().lower() != "me"
    hello = f"Hello {me.display_name}. " + (f"There is no command {topic!r}; here" if typo else "Here")
    return Reply(
        messages=(
            Message(
                lines(t(hello + " is what you can do, with an example of each:"), *rows),
                context=(
                    "`help` and a command's name shows all it can do, e.g. `help ideas`; `help anon` says "
                    "what is anonymous and what is not. Reply to a prompt by just typing. Numbers like 12 "
                    "and #12 both work."
                ),
            ),
        )
    )


async def run_command(env: Env, me: Person, text: str) -> Reply:
    """Parse and run one command line, checking the caller's role first."""
    parts = text.split(maxsplit=1)  # at any whitespace: a tab after the command word too
    word, rest = [*parts, "", ""][:2]
    spec = lookup(word)
    if spec is None:
        raise Refusal(f"I don't know the command {word!r}. Type `help` to see what you can do.")
    if not spec.allowed(me):
        raise Refusal(f"Sorry, only {spec.who} can use `{spec.name}`. Type `help` to see what you can do.")
    return await spec.run(env, me, Args(rest, usage=spec.usage))
