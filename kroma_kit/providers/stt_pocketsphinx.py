"""Offline speech to text with pocketsphinx (its US English model ships inside the wheel; nothing is
downloaded). A JSGF grammar of the commands is tried first: on synthetic or clean command speech
it is near exact, where the free English model is not (ml-offline.md §4.3). When the grammar finds
nothing (out-of-grammar speech), the free model gives its best guess, marked ``mode="free"``.

Audio must be 16 kHz mono signed 16-bit PCM (see :mod:`kroma_kit.copilot.audio`). ``dither`` is on:
espeak output holds long runs of exact zeros that otherwise derail the decoder.
"""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from kroma_kit.errors import ProviderNotConfigured


@dataclass(frozen=True)
class Transcript:
    text: str
    mode: str  # grammar | free | none
    score: float | None = None


def _decoder_class():
    try:
        from pocketsphinx import Decoder
    except ImportError:
        raise ProviderNotConfigured("Offline speech recognition needs the PyPI package 'pocketsphinx' "
                                    "(pip install pocketsphinx).", provider="pocketsphinx") from None
    return Decoder


@lru_cache(maxsize=1)
def dictionary_words() -> frozenset[str]:
    """Every word the bundled pronunciation dictionary knows (a grammar with others fails to load)."""
    from pocketsphinx import get_model_path

    path = Path(get_model_path()) / "en-us" / "cmudict-en-us.dict"
    with open(path, encoding="utf-8", errors="replace") as handle:
        return frozenset(line.split(" ", 1)[0] for line in handle if line.strip())


def known_word(word: str) -> bool:
    return word.lower() in dictionary_words()


_FREE_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _free_decoder():
    return _decoder_class()(dither=True, loglevel="FATAL")


class PocketsphinxSTT:
    """One decoder per grammar; reuse the object for many utterances."""

    code = "pocketsphinx"

    def __init__(self, grammar: str | None = None) -> None:
        decoder_class = _decoder_class()
        self._decoder = None
        if grammar:
            with tempfile.NamedTemporaryFile("w", suffix=".gram", delete=False, encoding="utf-8") as handle:
                handle.write(grammar)
                path = handle.name
            try:
                self._decoder = decoder_class(jsgf=path, dither=True, loglevel="FATAL")
            finally:
                Path(path).unlink(missing_ok=True)

    @staticmethod
    def _decode(decoder, pcm: bytes) -> tuple[str, float | None]:
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        return (hyp.hypstr.strip(), hyp.prob) if hyp is not None and hyp.hypstr else ("", None)

    def transcribe(self, pcm: bytes, *, accept=None) -> Transcript:
        """Grammar first; the free model when the grammar hears nothing or ``accept(text)`` rejects
        its (possibly partial) path."""
        if self._decoder is not None:
            text, score = self._decode(self._decoder, pcm)
            if text and (accept is None or accept(text)):
                return Transcript(text, "grammar", score)
        with _FREE_LOCK:
            text, score = self._decode(_free_decoder(), pcm)
        return Transcript(text, "free" if text else "none", score)
