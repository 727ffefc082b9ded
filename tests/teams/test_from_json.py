"""botbuilder's models made from JSON by the quick walk (adapters/teams/from_json.py): the same models
msrest's deserialiser makes, for every kind of activity Teams posts and every reference we keep; and the
references written back as msrest writes them (connector.as_json)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ConversationReference
from msrest.exceptions import DeserializationError

from adapters.teams import connector, from_json
from adapters.teams.bot import profile, reference_data
from tests.teams.activities import TeamsActivities, make_member, make_team

TEAMS = TeamsActivities()
AMIRA = make_member("Amira Haddad")
TEAM = make_team("Adult Social Care", ["Referrals"])

ACTIVITIES: dict[str, Callable[[], dict[str, Any]]] = {
    "personal message": lambda: TEAMS.personal_message("I have an idea", sender=AMIRA),
    "channel message": lambda: TEAMS.channel_message("Hello", sender=AMIRA, team=TEAM),
    "card tap": lambda: TEAMS.card_action("pulse", {"answer": "4"}, sender=AMIRA, message_id="1:42"),
    "card tap in a channel": lambda: TEAMS.card_action(
        "idea.act", {"ref": "7"}, sender=AMIRA, message_id="1:43", team=TEAM
    ),
    "bot added": lambda: TEAMS.bot_added(by=AMIRA),
    "bot added to a team": lambda: TEAMS.bot_added(by=AMIRA, team=TEAM),
    "member added": lambda: TEAMS.member_added(make_member("Ben Okafor"), team=TEAM),
    "app installed": lambda: TEAMS.installation_update("add", by=AMIRA),
    "app removed from a team": lambda: TEAMS.installation_update("remove", by=AMIRA, team=TEAM),
}


@pytest.mark.parametrize("name", list(ACTIVITIES))
def test_an_activity_reads_as_msrest_reads_it(name: str) -> None:
    body = ACTIVITIES[name]()
    by_msrest = Activity().deserialize(body)

    quick = from_json._model(Activity, body)  # the quick walk itself, no way round it
    assert quick == from_json.activity_from(body) == by_msrest
    assert quick.serialize() == by_msrest.serialize()
    assert quick.timestamp is not None and quick.timestamp == by_msrest.timestamp
    # Keys botbuilder's models do not name are kept as msrest keeps them: Teams' "tenantId" of the
    # conversation, the client's time zone in an entity.
    assert quick.conversation.additional_properties == by_msrest.conversation.additional_properties != {}
    assert profile(quick) == profile(by_msrest)


def test_the_time_zone_the_client_sends_reaches_the_profile() -> None:
    body = TEAMS.personal_message("hello", sender=AMIRA)
    assert body["entities"], "the tap must carry the client's entity"
    assert profile(from_json._model(Activity, body)).time_zone == TEAMS.timezone


@pytest.mark.parametrize("name", list(ACTIVITIES))
def test_a_kept_reference_is_written_and_read_back_as_msrest_does(name: str) -> None:
    activity = from_json.activity_from(ACTIVITIES[name]())
    data = reference_data(activity)
    assert data == dict(_reference_by_msrest(activity).serialize())
    assert connector._QUICK._plain(_reference_by_msrest(activity), "ConversationReference") == data

    kept = json.loads(json.dumps(data))  # as stored
    quick = from_json._model(ConversationReference, kept)
    assert quick == from_json.reference_from(kept) == ConversationReference().deserialize(kept)
    assert quick.conversation.id and quick.service_url == TEAMS.service_url
    assert quick.bot.id.startswith("28:")


def _reference_by_msrest(activity: Activity) -> ConversationReference:
    reference = TurnContext.get_conversation_reference(activity)
    reference.activity_id = None
    return reference


def test_what_the_quick_walk_does_not_know_is_read_the_msrest_way() -> None:
    odd = {
        "conversation": {"id": 42, "tenantId": "t"},  # a number where a string belongs: msrest makes it one
        "bot": {"id": "28:bot", "properties": {"colour": ["green"]}},
        "serviceUrl": "https://smba.trafficmanager.net/uk/",
    }
    with pytest.raises(from_json.Unplain):
        from_json._model(ConversationReference, odd)
    assert from_json.reference_from(odd) == ConversationReference().deserialize(odd)
    assert from_json.reference_from(odd).conversation.id == "42"


def test_an_activity_msrest_refuses_is_refused_the_same_way() -> None:
    body = TEAMS.personal_message("hello", sender=AMIRA) | {"timestamp": "yesterday at noon"}
    with pytest.raises(DeserializationError):
        Activity().deserialize(body)
    with pytest.raises(DeserializationError):
        from_json.activity_from(body)
