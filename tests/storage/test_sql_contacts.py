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
            assert gone is not None and not gone.reachable
            # Reinstalling the app brings a fresh reference, and with it the person back.
            fresh = {**REFERENCE, "conversation": {"id": "a:2"}}
            await tx.contacts.save_contact(Contact("teams", key, fresh), at=at(2))
        async with restarted.transaction() as tx:
            back = await tx.contacts.contact("teams", key)
            assert back is not None and back.reachable and back.data["conversation"] == {"id": "a:2"}
            assert await tx.contacts.contact("slack", key) is None
    finally:
        await restarted.close()


async def test_contacts_are_listed_by_key_prefix_and_only_while_reachable(store: SqlStore) -> None:
    async with store.transaction() as tx:
        for key in ("team:t1:19:ops_1", "team:t1:19:care", "team:t2:19:x", "user:t1:amira", "team:t1%"):
            await tx.contacts.save_contact(Contact("teams", key, {"k": key}), at=at(0))
        await tx.contacts.save_contact(Contact("slack", "team:t1:elsewhere", {}), at=at(0))
        await tx.contacts.set_reachable("teams", "team:t1:19:care", False, at=at(1))

    async with store.transaction() as tx:
        listed = [contact.key for contact in await tx.contacts.contacts("teams", prefix="team:t1:")]
        wildcard = [contact.key for contact in await tx.contacts.contacts("teams", prefix="team:t1%")]
        everything = await tx.contacts.contacts("teams")

    assert listed == ["team:t1:19:ops_1"]  # the removed team is left out, as are other tenants and platforms
    assert wildcard == ["team:t1%"]  # % and _ in a prefix are plain characters
    assert len(everything) == 4


async def test_a_batch_of_contacts_is_found_by_platform_and_key_together(store: SqlStore) -> None:
    ben = Identity("teams", "tenant-1", "29:ben")
    async with store.transaction() as tx:
        await tx.contacts.save_contact(Contact("teams", contact_key(AMIRA), REFERENCE), at=at(0))
        await tx.contacts.save_contact(Contact("teams", contact_key(ben), {"b": 1}), at=at(0))
        await tx.contacts.set_reachable("teams", contact_key(ben), False, at=at(1))
        await tx.contacts.save_contact(Contact("slack", "channel:qa", {"c": 1}), at=at(0))

    async with store.transaction(read_only=True) as tx:
        found = await tx.contacts.contacts_for(
            {("teams", contact_key(AMIRA)), ("teams", contact_key(ben)), ("slack", contact_key(AMIRA))}
            | {("teams", "user:nobody:29:x")}
        )
        assert await tx.contacts.contacts_for(set()) == {}

    # Only existing pairs: Amira has no Slack contact, though Slack and her key each exist on their own.
    assert set(found) == {("teams", contact_key(AMIRA)), ("teams", contact_key(ben))}
    assert found["teams", contact_key(AMIRA)].data == REFERENCE
    assert not found["teams", contact_key(ben)].reachable  # reported, so the sender stops at once


async def test_keeping_a_contact_writes_only_what_changed(store: SqlStore) -> None:
    key = contact_key(AMIRA)

    async def kept() -> Contact | None:
        async with store.transaction() as tx:
            return await tx.contacts.contact("teams", key)

    async with store.transaction() as tx:
        await tx.contacts.keep_contact(Contact("teams", key, REFERENCE), at=at(0))
    assert await kept() == Contact("teams", key, REFERENCE, True, at(0))

    # The same reference again, as at nearly every turn: nothing is written.
    async with store.transaction() as tx:
        await tx.contacts.keep_contact(Contact("teams", key, dict(REFERENCE)), at=at(60))
    assert await kept() == Contact("teams", key, REFERENCE, True, at(0))

    # A new conversation replaces the old one.
    fresh = {**REFERENCE, "conversation": {"id": "a:2"}}
    async with store.transaction() as tx:
        await tx.contacts.keep_contact(Contact("teams", key, fresh), at=at(120))
    assert await kept() == Contact("teams", key, fresh, True, at(120))

    # Someone marked unreachable who talks to the bot again is reachable again, with the same reference.
    async with store.transaction() as tx:
        assert await tx.contacts.set_reachable("teams", key, False, at=at(180))
        await tx.contacts.keep_contact(Contact("teams", key, fresh), at=at(240))
    assert await kept() == Contact("teams", key, fresh, True, at(240))


async def test_a_contact_keeps_only_the_hour_it_was_saved(store: SqlStore) -> None:
    # A Teams reference is saved with someone's very first message: to the microsecond, its time would tie
    # an anonymous first message (kept to the hour) to the person.
    key = contact_key(AMIRA)
    async with store.transaction() as tx:
        await tx.contacts.save_contact(Contact("teams", key, REFERENCE), at=at(55.7))
        await tx.contacts.keep_contact(Contact("teams", "user:t:other", REFERENCE), at=at(42.1))
    async with store.transaction() as tx:
        kept = [await tx.contacts.contact("teams", k) for k in (key, "user:t:other")]
    assert [contact.updated_at if contact else None for contact in kept] == [at(0), at(0)]
