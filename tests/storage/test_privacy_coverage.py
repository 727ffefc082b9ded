"""Every column that points at a person is in a subject access export: a table added later must be too."""

from __future__ import annotations

from storage.models import Base
from storage.privacy import NAMING

# Shown in the export's "person" part (teams), not as rows of their own.
SHOWN_OTHERWISE = {("memberships", "person_id")}


def test_every_column_that_names_a_person_is_exported() -> None:
    naming = {
        (table.name, column.name)
        for table in Base.metadata.tables.values()
        for column in table.columns
        if any(key.target_fullname == "people.id" for key in column.foreign_keys)
    }
    exported = {(column.class_.__table__.name, column.key) for _what, column in NAMING}

    assert naming - SHOWN_OTHERWISE == exported
