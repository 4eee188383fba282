"""Audio in: accept WAV, FLAC, OGG and MP3 up to the configured size and length, and turn them into
16 kHz mono signed 16-bit PCM for the recogniser. sox (Debian ``sox`` + ``libsox-fmt-mp3``) does the
decoding and resampling, with dither (ml-offline.md §4.2); a WAV already in that shape is read with
the standard library alone."""

from __future__ import annotations

import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

from kroma_kit.errors import InputError, ProviderNotConfigured

FORMATS = {".wav": "wav", ".flac": "flac", ".ogg": "ogg", ".mp3": "mp3"}
RATE = 16000


@dataclass(frozen=True)
class AudioClip:
    pcm: bytes          # 16 kHz mono s16le
    seconds: float
    source_format: str


def check_audio_file(path: Path, *, max_bytes: int) -> str:
    """The format of ``path``; refuses a missing, empty, oversized or unsupported file."""
    if not path.is_file():
        raise InputError(f"Audio file not found: {path}")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{path.name}: unsupported audio format '{path.suffix}'. Use WAV, FLAC, OGG or MP3.")
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{path.name} is empty.")
    if size > max_bytes:
        raise InputError(f"{path.name} is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB "
                         "(copilot.max_audio_bytes).")
    return fmt


def _plain_wav(path: Path) -> bytes | None:
    try:
        with wave.open(str(path), "rb") as clip:
            if (clip.getframerate(), clip.getnchannels(), clip.getsampwidth()) == (RATE, 1, 2):
                return clip.readframes(clip.getnframes())
    except (wave.Error, EOFError):
        return None
    return None


def load_pcm16k(path: Path, *, max_bytes: int, max_seconds: float) -> AudioClip:
    """Decode and resample; refuses audio longer than ``max_seconds`` and files sox cannot read."""
    fmt = check_audio_file(path, max_bytes=max_bytes)
    pcm = _plain_wav(path) if fmt == "wav" else None
    if pcm is None:
        sox = shutil.which("sox")
        if not sox:
            raise ProviderNotConfigured("Converting audio needs sox: apt-get install sox libsox-fmt-mp3.",
                                        provider="sox")
        done = subprocess.run([sox, "-q", str(path), "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer",
                               "-L", "-t", "raw", "-"], capture_output=True, timeout=120, check=False)
        if done.returncode != 0:
            raise InputError(f"{path.name} is not readable {fmt} audio: "
                             f"{done.stderr.decode(errors='replace').strip()[:200]}")
        pcm = done.stdout
    seconds = len(pcm) / 2 / RATE
    if seconds > max_seconds:
        raise InputError(f"{path.name} lasts {seconds:.1f} s; the limit is {max_seconds:g} s "
                         "(copilot.max_audio_seconds).")
    if seconds < 0.1:
        raise InputError(f"{path.name} holds no audible audio ({seconds:.2f} s).")
    return AudioClip(pcm, seconds, fmt)
