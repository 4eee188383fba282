"""Offline text to speech with espeak-ng (Debian package ``espeak-ng``): a 22050 Hz mono 16-bit WAV,
written in milliseconds. No network, no model download."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from kroma_kit.errors import ProviderError, ProviderNotConfigured

MAX_TEXT_CHARS = 4096


def espeak_binary() -> str:
    found = shutil.which("espeak-ng") or shutil.which("espeak")
    if not found:
        raise ProviderNotConfigured("Offline speech needs espeak-ng: apt-get install espeak-ng (or set "
                                    "copilot.tts_backend = 'openai').", provider="espeak")
    return found


def speak_to_wav(text: str, out: Path, *, voice: str = "en-us", words_per_minute: int = 160) -> Path:
    """Synthesise ``text`` into ``out`` (a WAV file)."""
    if not text.strip():
        raise ProviderError("espeak: nothing to say (empty text).", provider="espeak")
    out.parent.mkdir(parents=True, exist_ok=True)
    # On stdin, not argv: a text starting with '-' would be read as an option, and a NUL cannot be
    # passed at all (texts come from remote clients through the API).
    spoken = "".join(ch if ch >= " " or ch in "\n\t" else " " for ch in text[:MAX_TEXT_CHARS])
    done = subprocess.run([espeak_binary(), "-v", voice, "-s", str(words_per_minute), "-w", str(out), "--stdin"],
                          input=spoken, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0 or not out.is_file() or out.stat().st_size <= 44:
        raise ProviderError(f"espeak-ng failed ({done.returncode}): {done.stderr.strip()[:200] or 'no audio'} "
                            f"(voice {voice}).", provider="espeak")
    return out
