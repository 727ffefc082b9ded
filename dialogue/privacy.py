"""A person's rights over what is kept about them: a copy of it (subject access) and erasure."""

from __future__ import annotations

from dialogue.errors import Refusal
from dialogue.outbox import contact_key
from dialogue.ports import Repositories, Store

FORMER = "Former colleague"  # the name someone forgotten is shown under, with what they wrote


async def _person_and_contacts(tx: Repositories, handle: str) -> tuple[int, list[tuple[str, str]]]:
    person = await tx.directory.person_by_handle(handle.lstrip("@"))
    if person is None:
        raise Refusal(f"There is nobody with the handle {handle!r} in the directory.")
    identities = await tx.directory.identities(person.id)
    return person.id, [(identity.platform, contact_key(identity)) for identity in identities]


async def person_data(store: Store, handle: str) -> dict[str, object]:
    """Everything kept that names the person with ``handle``, switched off or not (see
    :meth:`dialogue.ports.PrivacyRepo.held_about`)."""
    async with store.transaction(read_only=True) as tx:
        person_id, contacts = await _person_and_contacts(tx, handle)
        return await tx.privacy.held_about(person_id, contacts)


async def forget_person(store: Store, handle: str) -> dict[str, int]:
    """Forget who the person with ``handle`` is, in one transaction (see
    :meth:`dialogue.ports.PrivacyRepo.forget`); how many rows each step changed."""
    async with store.transaction() as tx:
        person_id, contacts = await _person_and_contacts(tx, handle)
        return await tx.privacy.forget(person_id, contacts)
