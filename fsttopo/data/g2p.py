"""Offline grapheme-to-phoneme conversion for words outside the lexicon: eSpeak NG -> ARPAbet.

Choice: eSpeak NG's English rules and exception lists (the PyPI package ``espeakng-loader`` ships
``libespeak-ng`` and its data as a wheel, so nothing is downloaded at run time), called through
ctypes ``espeak_TextToPhonemes`` with the ``en-us`` voice, its IPA output mapped onto the 39
CMUdict phones (:data:`fsttopo.data.lexicon.PHONES`) by :data:`IPA_TO_ARPABET`. Measured on 2000
CMUdict words held out at random (``recipes/g2p/evaluate.py``, seed 0, letters-only words; another
2000 words served to tune the mapping): phone error rate 10.3 %, word error rate 41.3 %. Most word
errors are CMUdict's conventions for unstressed vowels (``ah`` where eSpeak says ``ih``) and names.

The other option, letter-to-phone rules learned from CMUdict (``recipes/g2p/letter_model.py``: EM
letter-phone alignment, widest-context lookup, a 0.9 MB table), scores 9.4 % / 41.5 % on the same
words: a tie, on test words drawn from the very list it is fit to (mostly names). eSpeak was kept:
it is not fit to CMUdict's word list, its rules and exception lists cover ordinary English and new
words as well as names, and there is no trained file to rebuild and ship. Its cost is a native
library (a 21 MB wheel).

eSpeak is one C library with global state: calls are serialized by a lock, and results are cached
per word (the conversion is deterministic).
"""

from __future__ import annotations

import ctypes
import threading
from functools import lru_cache

__all__ = ["IPA_TO_ARPABET", "EspeakG2P", "ipa_to_arpabet", "default_g2p"]

IPA_TO_ARPABET: dict[str, tuple[str, ...]] = {
    # diphthongs and affricates first: the longest symbol that matches is taken
    "tʃ": ("ch",), "dʒ": ("jh",), "aɪ": ("ay",), "aʊ": ("aw",), "eɪ": ("ey",), "oʊ": ("ow",), "ɔɪ": ("oy",),
    "n̩": ("ah", "n"), "l̩": ("ah", "l"),  # syllabic consonants: CMUdict writes the schwa ("button")
    "ɑ": ("aa",), "æ": ("ae",), "ʌ": ("ah",), "ə": ("ah",), "ɐ": ("ah",), "ɔ": ("ao",), "ɛ": ("eh",),
    "ɚ": ("er",), "ɜ": ("er",), "ɪ": ("ih",), "ᵻ": ("ih",), "i": ("iy",), "ʊ": ("uh",), "u": ("uw",),
    "o": ("ow",), "e": ("eh",), "a": ("ae",),
    "ɹ": ("r",), "r": ("r",), "ɾ": ("t",), "ʔ": ("t",),  # flap and glottal stop: CMUdict writes t
    "ɫ": ("l",), "x": ("k",), "ç": ("hh",), "ʍ": ("w",), "ɡ": ("g",), "g": ("g",), "j": ("y",),
    "θ": ("th",), "ð": ("dh",), "ʃ": ("sh",), "ʒ": ("zh",), "ŋ": ("ng",), "h": ("hh",),
    "p": ("p",), "b": ("b",), "t": ("t",), "d": ("d",), "k": ("k",), "f": ("f",), "v": ("v",),
    "s": ("s",), "z": ("z",), "m": ("m",), "n": ("n",), "l": ("l",), "w": ("w",),
}
"""eSpeak NG's en-us IPA symbols -> CMUdict phones (lowercase, no stress)."""
_IGNORED = set("ˈˌː‿- \u0329\u0361")  # stress, length, linking, word breaks, combining marks
_ESPEAK_AUDIO_SYNCHRONOUS = 0x02  # espeak_Initialize output mode: no audio device needed
_ESPEAK_CHARS_UTF8 = 1
_ESPEAK_PHONEMES_IPA = 0x02


def ipa_to_arpabet(ipa: str) -> list[str]:
    """CMUdict phones of an eSpeak NG IPA string (``"hˈæflˈaɪf"`` -> ``hh ae f l ay f``).

    An r-coloured vowel followed by ``ɹ`` keeps one ``er`` (eSpeak ``hˈɜːɹi``, CMUdict ``HH ER IY``).
    ValueError names a symbol outside :data:`IPA_TO_ARPABET`.
    """
    phones: list[str] = []
    i = 0
    while i < len(ipa):
        if ipa[i] in _IGNORED:
            i += 1
            continue
        symbol = ipa[i:i + 2] if ipa[i:i + 2] in IPA_TO_ARPABET else ipa[i]
        if symbol not in IPA_TO_ARPABET:
            raise ValueError(f"eSpeak phoneme {symbol!r} (in {ipa!r}) has no ARPAbet phone")
        for phone in IPA_TO_ARPABET[symbol]:
            if not (phone == "r" and phones and phones[-1] == "er"):
                phones.append(phone)
        i += len(symbol)
    return phones


_LOCK = threading.Lock()  # the library has one global state (its voice): one caller at a time


@lru_cache(maxsize=1)
def _espeak() -> ctypes.CDLL:
    """``libespeak-ng`` of ``espeakng-loader``, initialized once (no audio output)."""
    try:
        import espeakng_loader
    except ImportError as err:
        raise ImportError("G2P needs the package 'espeakng-loader' (pip install espeakng-loader)") from err
    lib = ctypes.cdll.LoadLibrary(espeakng_loader.get_library_path())
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
    lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
    data = espeakng_loader.get_data_path()
    if lib.espeak_Initialize(_ESPEAK_AUDIO_SYNCHRONOUS, 0, data.encode(), 0) < 0:
        raise RuntimeError(f"espeak_Initialize failed with the data at {data!r}")
    return lib


class EspeakG2P:
    """Pronunciations from eSpeak NG (``espeakng-loader``), as CMUdict phones.

    Args:
        voice: eSpeak voice whose rules are used (``"en-us"``: CMUdict is American English).
    """

    def __init__(self, voice: str = "en-us") -> None:
        self.voice = voice
        self._phones = lru_cache(maxsize=65536)(self._convert)

    def _convert(self, word: str) -> tuple[str, ...]:
        with _LOCK:
            lib = _espeak()
            # set on every call (cheap): another EspeakG2P may have switched the global voice
            if lib.espeak_SetVoiceByName(self.voice.encode()) != 0:
                raise ValueError(f"eSpeak has no voice {self.voice!r}")
            buffer = ctypes.create_string_buffer(word.encode())
            pointer = ctypes.c_void_p(ctypes.addressof(buffer))
            pieces = []
            while pointer.value:  # one call per clause; the pointer moves past what was read
                pieces.append(lib.espeak_TextToPhonemes(ctypes.byref(pointer), _ESPEAK_CHARS_UTF8,
                                                        _ESPEAK_PHONEMES_IPA).decode())
        phones = ipa_to_arpabet(" ".join(pieces))
        if not phones:
            raise ValueError(f"eSpeak gives no phones for {word!r}")
        return tuple(phones)

    def __call__(self, word: str) -> list[str]:
        """CMUdict phones of ``word`` (case-insensitive). ValueError for a word without letters
        (eSpeak would spell out symbols or digits: normalize the text first)."""
        if not any(c.isalpha() for c in word):
            raise ValueError(f"cannot guess a pronunciation for {word!r}: it has no letters")
        return list(self._phones(word.lower()))


@lru_cache(maxsize=1)
def default_g2p() -> EspeakG2P:
    """The shared en-us :class:`EspeakG2P` (its cache serves every aligner of the process)."""
    return EspeakG2P()
