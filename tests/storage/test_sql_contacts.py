"""Contacts (Teams conversation references) survive restarts, are replaced by fresher ones, and can be
marked unreachable when someone removes the app."""

from __future__ import annotations

from dialogue.events import Identity
from dialogue.outbox import Contact, contact_key
from storage import SqlStore
from tests.storage.helpers import at

AMIRA = Identity("teams", "tenant-1", "29:amira")
REFERENCE = {
    "conversation": {"id": "a:1"},
    "serviceUrl": "https://smba.example/emea/",
    "user": {"id": "29:amira"},
}


async def test_a_contact_is_kept_replaced_and_marked_unreachable(database_url: str, store: SqlStore) -> None:
    key = contact_key(AMIRA)
    async with store.transaction() as tx:
        assert await tx.contacts.contact("teams", key) is None
        assert not await tx.contacts.set_reachable("teams", key, False, at=at(0))
        await tx.contacts.save_contact(Contact("teams", key, REFERENCE), at=at(0))

    restarted = SqlStore(database_url)  # another process, or the same one after a restart
    try:
        async with restarted.transaction() as tx:
            found = await tx.contacts.contact("teams", key)
            assert found is not None and found.data == REFERENCE and found.reachable
            assert await tx.contacts.set_reachable("teams", key, False, at=at(1))
        async with restarted.transaction() as tx:
            gone = await tx.contacts.contact("teams", key)
            assert gone is not None and not gone.reachable and gone.updated_at == at(1)
            # Reinstalling the app brings a fresh reference, and with it the person back.
            fresh = {**REFERENCE, "conversation": {"id": "a:2"}}
            await tx.contacts.save_contact(Contact("teams", key, fresh), at=at(2))
        async with restarted.transaction() as tx:
            back = await tx.contacts.contact("teams", key)
            assert back is not None and back.reachable and back.data["conversation"] == {"id": "a:2"}
            assert await tx.contacts.contact("slack", key) is None
    finally:
        await restarted.close()
