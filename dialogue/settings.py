"""Settings of the core, with the defaults a new organisation gets."""

from __future__ import annotations

from dataclasses import dataclass

from dialogue.quiet import QuietHours


@dataclass(frozen=True)
class DialogueSettings:
    """Knobs of the conversation flows."""

    min_group_size: int = 5  # results for smaller groups are withheld
    overdue_days: int = 5  # unanswered questions are flagged after this many days
    premoderate_anonymous: bool = False  # hold anonymous questions for an admin
    qa_channel: str = "qa"  # logical name of the channel questions are posted to
    channel_platforms: tuple[str, ...] = ()  # platforms that have the Q&A channel
    campaign_open_hours: int = 168  # a campaign prompt takes replies for a week
    quiet_hours: QuietHours | None = None  # everyone's, unless they set their own (dialogue.quiet)
