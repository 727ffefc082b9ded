"""What people say to a bot that is not a command, an answer or an idea: "thanks", "stop", "who sees this?".

Between visits, on a phone, people reply to a message as they would to a colleague. Such words must not
be saved as a pulse answer or offered as an idea, and each deserves a plain answer.
"""

from __future__ import annotations

import re

from dialogue.messages import Message
from dialogue.text import t

# Only words that acknowledge: "great" or "perfect" can be an answer to "How was your week?".
THANKS = {
    "thanks", "thank you", "thankyou", "thx", "ta", "cheers", "ok", "okay", "k", "noted", "will do",
    "ok thanks", "ok thank you", "okay thanks", "okay thank you", "thanks very much", "thank you very much",
    "many thanks", "thanks a lot", "cheers thanks", "👍", "🙏",
}  # fmt: skip
OK = {"ok", "okay", "k", "noted", "will do", "👍"}  # acknowledgements, not thanks
STOP = {"stop", "unsubscribe", "opt out", "optout", "leave me alone", "no more messages"}
PRIVACY = {
    "who can see this", "who sees this", "is this anonymous", "am i anonymous", "is it anonymous",
    "who reads this", "privacy", "is this private",
}  # fmt: skip
_SPACES = re.compile(r"\s+")


def small_talk(text: str, min_group_size: int) -> Message | None:
    """The bot's answer to ``text`` if it is small talk (see the module), else None."""
    said = _SPACES.sub(" ", text.strip().lower()).strip("!.?, ")
    if said in THANKS:
        # "ok" to news of a declined idea is no thanks: "You're welcome" would read as a shrug.
        if said in OK:
            return Message(t("👍 Type `help` any time to see what you can do."))
        return Message(t("👍 You're welcome. Type `help` any time to see what you can do."))
    if said in STOP:
        return Message(
            t(
                "Answering is always up to you: leave any message unanswered and nothing follows up but one"
                " reminder for a pulse. To stop getting messages altogether, ask your organisation's admin"
                " (whoever set up this bot) to switch you off."
            )
        )
    if said in PRIVACY:
        k = min_group_size
        return Message(
            t(
                f"Pulse and check-in answers are anonymous: managers see results only for groups of {k} or"
                f" more, and written answers only once {k} people write some. Ideas and questions show your"
                " name unless you start them with `anon`, e.g. `idea anon ...` or `ask anon ...`."
            )
        )
    return None
