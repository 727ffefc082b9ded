"""What people say to a bot that is not a command, an answer or an idea: "thanks", "stop", "who sees this?".

Between visits, on a phone, people reply to a message as they would to a colleague. Such words must not
be saved as a pulse answer or offered as an idea, and each deserves a plain answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dialogue.messages import Message
from dialogue.text import t

# Only words that acknowledge: "great" or "perfect" can be an answer to "How was your week?". Thanks in the
# languages many care and health staff also speak are thanks too (Polish, Romanian, Urdu, Welsh...).
THANKS = {
    "thanks", "thank you", "thankyou", "thank u", "thanku", "thx", "tnx", "thnx", "ty", "ta", "cheers",
    "ok", "okay", "k", "noted", "will do", "ok thanks", "ok thank you", "okay thanks", "okay thank you",
    "thanks very much", "thank you very much", "many thanks", "thanks a lot", "cheers thanks", "ta very much",
    "no thanks", "no thank you", "no thank u", "no ty", "🙏",
    "dziękuję", "dziekuje", "dzięki", "dzieki", "mulțumesc", "multumesc", "mersi", "shukriya", "شکریہ",
    "شكرا", "gracias", "obrigado", "obrigada", "merci", "grazie", "diolch",
}  # fmt: skip
OK = {"ok", "okay", "k", "noted", "will do"}  # acknowledgements, not thanks
SORRY = {"sorry", "sory", "soz", "apologies", "my mistake", "my bad", "oops", "wrong chat"}
GREETINGS = {
    "hi", "hello", "hey", "hiya", "morning", "good morning", "afternoon", "good afternoon", "evening",
    "good evening", "hello how are you", "hi how are you", "hello how are u", "hi how are u", "how are you",
    "how are u", "hi there", "hello there", "what is this", "what's this", "whats this", "how do i use this",
    "how does this work", "what do i do", "what can i do", "help me", "i need help",
    "dzień dobry", "dzien dobry", "cześć", "czesc", "bună", "buna", "bună ziua", "buna ziua", "salaam",
    "salam", "assalamualaikum", "hola", "bonjour", "shwmae", "bore da", "helo",
}  # fmt: skip
STOP = {"stop", "unsubscribe", "opt out", "optout", "leave me alone", "no more messages", "stop messages"}
PRIVACY = {
    "who can see this", "who sees this", "is this anonymous", "am i anonymous", "is it anonymous",
    "who reads this", "privacy", "is this private", "is it private", "is this confidential", "confidential",
    "who sees my answers", "who sees my answer", "who can see my answers", "who can see my answer",
    "who reads my answers", "can my manager see", "can my manager see this", "can my manager see what i say",
    "can my manager see my answers", "does my manager see this", "does my manager see my answers",
    "can my boss see this", "is my name on it", "is my name shown", "will they know it was me",
    "will my manager know", "is my name on this",
}  # fmt: skip
PAUSE = {
    "pause", "mute", "snooze", "pause messages", "pause notifications", "mute notifications", "quiet hours",
    "do not disturb", "dnd", "off sick", "i'm off sick", "im off sick", "i am off sick",
}  # fmt: skip
# "I'm on leave", "on maternity leave until 4 March": the words say how to be left out meanwhile.
_LEAVE_KIND = r"(?:(?:annual|maternity|paternity|parental|sick|study|long[- ]term sick) )?"
# Short, and said of oneself: "I'm on leave next week and nobody covers my visits" can answer a question.
_ON_LEAVE = re.compile(
    rf"(?:i'?m |i am |im |i will be |i'll be )?(?:going )?on {_LEAVE_KIND}(?:leave|holiday|holidays|vacation)"
    r"(?: (?:until|till|til|to|back on|back) (?P<back>.{1,30})| (?:next|this) week| from \S+(?: \S+)?"
    r"| for (?:a|\d+) (?:days?|weeks?|months?)| today| tomorrow)?"
)
# "Can my manager see what I write?", said any way: asked while a written answer waits, it was kept as the
# (perhaps signed) answer. A short question about who sees or knows, or whether it is anonymous.
_PRIVACY_ASKED = re.compile(
    r"(?:can|could|does|do|will|would|is|are|who|how|am)\b.{0,60}?\b(?:anonymous|anonymously|anon|"
    r"private|confidential|my name|it was me|who i am|"
    r"(?:see|sees|read|reads|know|knows) (?:this|it|what|my|that|who))\b"
)
# Emoji people send as a nod, in any skin tone: thumbs up, OK, folded hands, hearts, smiles, a tick.
_NOD_EMOJI = "👍👌🙏❤💙💚💜😊🙂😀☺✅"
_NODS = re.compile(f"^(?:[{_NOD_EMOJI}][\U0001f3fb-\U0001f3ff\ufe0f]*)+$")
_SPACES = re.compile(r"\s+")


def _said(text: str) -> str:
    return _SPACES.sub(" ", text.strip().lower()).strip("!.?, ")


def is_stop(text: str) -> bool:
    """Whether ``text`` asks the bot to stop: nothing should then be asked for in the same breath."""
    return _said(text) in STOP


def is_greeting(text: str) -> bool:
    """Hello, or "what is this?": answered with what the bot can do."""
    return _said(text) in GREETINGS


def is_privacy_question(text: str) -> bool:
    """ "Is this anonymous?", "can my manager see what I write?": answered with what is and is not seen."""
    said = _said(text).replace("’", "'")
    return said in PRIVACY or (len(said.split()) <= 12 and _PRIVACY_ASKED.match(said) is not None)


def small_talk(text: str, min_group_size: int, *, named: Sequence[str] = ()) -> Message | None:
    """The bot's answer to ``text`` if it is small talk (see the module), else None. ``named``: the surveys
    that are not anonymous waiting for the person, if any, which a question about privacy is likely about."""
    said = _said(text)
    if said in THANKS or _NODS.match(said):
        # "ok" to news of a declined idea is no thanks: "You're welcome" would read as a shrug.
        if said in OK or (not said.isascii() and said not in THANKS):
            return Message(t("👍 Type `help` any time to see what you can do."))
        return Message(t("👍 You're welcome. Type `help` any time to see what you can do."))
    if said in SORRY:
        return Message(t("No problem at all. Type `help` any time to see what you can do."))
    if said in STOP:
        return Message(
            t(
                "Answering is always up to you: leave any message unanswered and nothing follows up but one"
                " reminder for a pulse or check-in. Away for a while? `away until <the day you're back>`"
                " leaves you out until then. To stop getting messages altogether, ask your organisation's"
                " admin (whoever set up this bot) to switch you off."
            )
        )
    if said in PAUSE:
        return Message(
            t(
                "No messages at night, or by day after a night shift? `quiet 22:00-07:00` (your hours) holds "
                "back what you did not ask for until they end. Away for a while? `away until 4 Jan` leaves "
                "you out of pulses, check-ins and idea campaigns until then."
            )
        )
    leave = _ON_LEAVE.fullmatch(said.replace("’", "'"))
    if leave:
        back = leave["back"] or "4 Jan"
        return Message(
            t(
                "Away for a while? Write the day you're back, e.g. `away until ",
                back,
                "`: pulses, check-ins and idea campaigns leave you out until then. `away off` when you're "
                "back sooner.",
            )
        )
    if is_privacy_question(text):
        return privacy_answer(min_group_size, named)
    if said and not any(c.isalnum() for c in said):  # emoji or marks alone, not a nod
        return Message(t("I can only read words, I'm afraid. Type `help` to see what you can do."))
    return None


def privacy_answer(k: int, named: Sequence[str] = ()) -> Message:
    """What is anonymous and what is not (``k``: the minimum group size); ``named``: the surveys that are not
    anonymous waiting for the person, which a question about privacy is likely about."""
    # Told "answers are anonymous" while a named pulse waited, staff wrote what they would not sign.
    warning = "".join(
        f"“{name}”, waiting for you, is NOT anonymous: your answers to it carry your name. " for name in named
    )
    return Message(
        t(
            warning,
            "Pulse and check-in answers are anonymous unless one says “not anonymous” when it comes: "
            f"managers see results only for groups of {k} or more, and written answers only once {k} "
            "people write some. Ideas and questions show your name unless you start them with `anon` "
            "(`idea anon ...`, `ask anon ...`); an anonymous idea still shows your team if it has "
            f"{k} or more people besides its managers. Your chat app keeps its own record of what you "
            "send here, which your organisation's IT can search.",
        )
    )
