"""Conversation references read back from what we keep (adapters/teams/references.py): the same models
msrest's deserialiser makes, for every kind of activity a reference is kept from."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botbuilder.schema import Activity, ConversationReference

from adapters.teams import references
from adapters.teams.bot import reference_data
from tests.teams.activities import TeamsActivities, make_member, make_team

TEAMS = TeamsActivities()
AMIRA = make_member("Amira Haddad")
TEAM = make_team("Adult Social Care", ["Referrals"])

ACTIVITIES: dict[str, Callable[[], dict[str, Any]]] = {
    "personal message": lambda: TEAMS.personal_message("I have an idea", sender=AMIRA),
    "channel message": lambda: TEAMS.channel_message("Hello", sender=AMIRA, team=TEAM),
    "card tap": lambda: TEAMS.card_action("pulse", {"answer": "4"}, sender=AMIRA, message_id="1:42"),
    "bot added": lambda: TEAMS.bot_added(by=AMIRA),
    "bot added to a team": lambda: TEAMS.bot_added(by=AMIRA, team=TEAM),
}


@pytest.mark.parametrize("name", list(ACTIVITIES))
def test_a_kept_reference_reads_back_as_msrest_reads_it(name: str) -> None:
    kept = json.loads(json.dumps(reference_data(Activity().deserialize(ACTIVITIES[name]()))))  # as stored

    quick = references._model(ConversationReference, kept)  # the quick walk itself, no way round it
    assert quick == references.reference_from(kept) == ConversationReference().deserialize(kept)
    assert quick.conversation.id and quick.service_url == TEAMS.service_url
    assert quick.bot.id.startswith("28:")


def test_what_the_quick_walk_does_not_know_is_read_the_msrest_way() -> None:
    odd = {
        "conversation": {"id": "a:1x", "tenantId": "t"},  # msrest's key is tenantID: it drops this one
        "bot": {"id": "28:bot", "properties": {"colour": ["green"]}},
        "serviceUrl": "https://smba.trafficmanager.net/uk/",
    }
    with pytest.raises(references.Unplain):
        references._model(ConversationReference, odd)
    assert references.reference_from(odd) == ConversationReference().deserialize(odd)
    assert references.reference_from(odd).conversation.tenant_id is None
