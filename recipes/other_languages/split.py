"""Split a synthesized corpus into a training corpus and a held-out one by voice, as directories of
links to its files (MFA layout), so that ``fsttopo train-align`` never sees the held-out voice:

    python recipes/other_languages/split.py --language it      # held out: the pc voice
    python recipes/other_languages/split.py --language ru      # held out: the espeak-ng voices

A voice is held out together with its speed copies (``summary.json``'s ``hold_out_together``).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

HELD_OUT = {"it": "pc", "ru": "espeak"}
"""The voice group of each language kept for the held-out score (its speakers never train)."""


def split_corpus(root: Path, held_out: str) -> dict[str, list[str]]:
    """Write ``root/train`` and ``root/test`` (speaker directories of symbolic links into
    ``root/corpus``) and return the speakers of each."""
    groups = json.loads((root / "summary.json").read_text())["hold_out_together"]
    if held_out not in groups:
        raise SystemExit(f"{root}: no voice group {held_out!r} (groups: {sorted(groups)})")
    speakers = {"test": groups[held_out], "train": [s for g, members in groups.items() if g != held_out for s in members]}
    for split, names in speakers.items():
        target = root / split
        if target.exists():
            shutil.rmtree(target)
        for speaker in names:
            (target / speaker).mkdir(parents=True)
            for file in sorted((root / "corpus" / speaker).iterdir()):
                (target / speaker / file.name).symlink_to(file.resolve())
    return speakers


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--language", choices=sorted(HELD_OUT), required=True)
    p.add_argument("--data", type=Path, default=Path("data/other_languages"))
    args = p.parse_args()
    speakers = split_corpus(args.data / args.language, HELD_OUT[args.language])
    print(json.dumps(speakers))


if __name__ == "__main__":
    main()
