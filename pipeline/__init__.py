"""Turns a submitted story into something a moderator can decide on.

Media and metadata, place, themes, duplicates and safety flags; `ingest()` is the public face.
"""

from pipeline.exif import read_metadata
from pipeline.images import process_many, process_photo
from pipeline.ingest import ingest, ingest_waiting
from pipeline.late import add_late_photos
from pipeline.places import resolve_place, search_places
from pipeline.tagging import tag_text

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
