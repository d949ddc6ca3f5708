"""Turns a submitted story into something a moderator can decide on.

Media and metadata, place, themes, duplicates and safety flags; `ingest()` is the public face.

The names are imported on first use (PEP 562): `pesisir media process` and the photo worker
processes it starts need `pipeline.images` alone, not the database, tagging and place code the
rest of the face pulls in (about a second of start-up on a small machine).
"""

import importlib
import typing

if typing.TYPE_CHECKING:
    from pipeline.exif import read_metadata
    from pipeline.images import process_many, process_photo
    from pipeline.ingestion import ingest, ingest_waiting
    from pipeline.late import add_late_photos
    from pipeline.places import resolve_place, search_places
    from pipeline.tagging import tag_text

#: Each exported name and the module that defines it.
_WHERE = {
    "add_late_photos": "pipeline.late",
    "ingest": "pipeline.ingestion",
    "ingest_waiting": "pipeline.ingestion",
    "process_many": "pipeline.images",
    "process_photo": "pipeline.images",
    "read_metadata": "pipeline.exif",
    "resolve_place": "pipeline.places",
    "search_places": "pipeline.places",
    "tag_text": "pipeline.tagging",
}

__all__ = [
    "add_late_photos",
    "ingest",
    "ingest_waiting",
    "process_many",
    "process_photo",
    "read_metadata",
    "resolve_place",
    "search_places",
    "tag_text",
]


def __getattr__(name: str) -> typing.Any:
    """Import an exported name's module on first use."""
    if name not in _WHERE:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
