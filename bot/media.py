"""What a file really is: Telegram's mime type first, then the first bytes after download."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Bot
from telegram.error import BadRequest

from core.states import MediaKind

#: Telegram's getFile limit for bots on the public Bot API.
TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024

# Magic numbers: (offset, bytes, mime type, file suffix).
_SIGNATURES: tuple[tuple[int, bytes, str, str], ...] = (
    (0, b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (0, b"II*\x00", "image/tiff", ".tif"),
    (0, b"MM\x00*", "image/tiff", ".tif"),
    (8, b"WEBP", "image/webp", ".webp"),
    (4, b"ftypheic", "image/heic", ".heic"),
    (4, b"ftypheix", "image/heic", ".heic"),
    (4, b"ftypmif1", "image/heif", ".heif"),
    (4, b"ftypavif", "image/avif", ".avif"),
    (0, b"OggS", "audio/ogg", ".ogg"),
    (0, b"ID3", "audio/mpeg", ".mp3"),
    (0, b"\xff\xfb", "audio/mpeg", ".mp3"),
    (0, b"\xff\xf3", "audio/mpeg", ".mp3"),
    (0, b"fLaC", "audio/flac", ".flac"),
    (8, b"WAVE", "audio/wav", ".wav"),
    (4, b"ftypM4A", "audio/mp4", ".m4a"),
    (0, b"#!AMR", "audio/amr", ".amr"),
)
_GENERIC = {None, "", "application/octet-stream", "binary/octet-stream"}


@dataclass(frozen=True)
class Sniffed:
    """What the bytes are."""

    mime_type: str
    suffix: str

    @property
    def is_image(self) -> bool:
        """A still image we accept."""
        return self.mime_type.startswith("image/")

    @property
    def is_audio(self) -> bool:
        """Audio we accept."""
        return self.mime_type.startswith("audio/")


def sniff(data: bytes) -> Sniffed | None:
    """The image or audio type of `data` by its first bytes; None for anything else."""
    for offset, magic, mime, suffix in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return Sniffed(mime, suffix)
    return None


def acceptable_mime(mime_type: str | None) -> bool:
    """Whether Telegram's declared type is worth downloading (images but GIFs, audio, unknown)."""
    if mime_type in _GENERIC:
        return True
    assert mime_type is not None
    if mime_type == "image/gif":
        return False
    return mime_type.startswith(("image/", "audio/"))


def fits(kind: MediaKind | None, sniffed: Sniffed | None) -> bool:
    """Whether the bytes are what was sent: audio for voice/audio, an image for photos/images.

    `kind=None` (a file Telegram gave no useful type for) takes any image or audio.
    """
    if sniffed is None:
        return False
    if kind in (MediaKind.VOICE, MediaKind.AUDIO):
        return sniffed.is_audio
    if kind in (MediaKind.PHOTO, MediaKind.DOCUMENT):
        return sniffed.is_image
    return True


async def download(bot: Bot, file_id: str) -> bytes:
    """A file's bytes through getFile; Telegram's errors (BadRequest, NetworkError) propagate."""
    telegram_file = await bot.get_file(file_id)
    return bytes(await telegram_file.download_as_bytearray())


def too_big(error: BadRequest) -> bool:
    """Telegram refused the download for good: over the 20 MB limit of bots."""
    return "too big" in str(error).lower()
