"""``quiet``: the hours someone wants no messages they did not ask for (a night worker sleeps by day)."""

from __future__ import annotations

from dialogue.args import Args
from dialogue.directory import Person
from dialogue.errors import Refusal
from dialogue.flows.env import Env
from dialogue.messages import Message, Reply
from dialogue.quiet import NONE, parse_quiet, quiet_for
from dialogue.text import t

EXAMPLE = "`quiet 22:00-07:00` (a night worker: `quiet 09:00-16:00`)"
OFF_WORDS = {"off", "none", "no"}
DEFAULT_WORDS = {"default", "usual", "reset"}


async def cmd_quiet(env: Env, me: Person, args: Args) -> Reply:
    """``quiet <start>-<end>``: one's own quiet hours; ``quiet off``: none; ``quiet default``: the
    organisation's; ``quiet``: which apply."""
    said = args.rest().strip()
    word = said.lower()
    if not said:
        return Reply(messages=(_which(env, me.quiet_hours),))
    if word in OFF_WORDS:
        own: str | None = NONE
    elif word in DEFAULT_WORDS:
        own = None
    else:
        try:
            own = str(parse_quiet(said))
        except ValueError as exc:
            raise Refusal(f"I can't set that: {exc}. Write the hours, e.g. {EXAMPLE}.") from None
    await env.tx.directory.set_quiet_hours(me.id, own)
    return Reply(messages=(_which(env, own),))


def _which(env: Env, own: str | None) -> Message:
    quiet = quiet_for(own, env.settings.quiet_hours)
    whose = "your own" if own else "your organisation's"
    if quiet is None:
        said = "You have no quiet hours: messages come whenever they are sent."
    else:
        said = (
            f"Your quiet hours are {quiet} ({whose}, in your own time): pulses, reminders, idea campaigns "
            "and news that come then wait until they end. The next question after you answer one comes "
            "at once."
        )
    default = env.settings.quiet_hours
    choices = f"Set yours with {EXAMPLE}, or `quiet off`"
    if own:
        choices = "Change them with `quiet <from>-<to>`, or `quiet off`"
    if default is not None and own is not None:
        choices += f", or `quiet default` for your organisation's ({default})"
    return Message(t(said), context=choices + ".")
