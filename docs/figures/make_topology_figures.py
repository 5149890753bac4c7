"""Reproduce the paper's Figures 3 and 4: HMM and CTC label topologies for the characters of "foo bar".

Writes ``hmm_foo_bar.dot`` / ``ctc_foo_bar.dot`` (and ``ctc_no_forced_blank_foo_bar.dot``) next to
this script and renders each to PNG when Graphviz's ``dot`` is on the PATH.
"""

import shutil
import subprocess
from pathlib import Path

import fsttopo

HERE = Path(__file__).parent
CHARS = ["<sil>", "f", "o", "b", "a", "r"]  # label 0 is silence (HMM) / blank (CTC)
SYMBOLS = dict(enumerate(CHARS))
SYMBOLS_CTC = {**SYMBOLS, 0: "<b>"}
WORDS = [[CHARS.index(c) for c in w] for w in ("foo", "bar")]


def main() -> None:
    graphs = {
        "hmm_foo_bar": (fsttopo.hmm_graph([WORDS], silence=0, transitions=fsttopo.Transitions())[0], SYMBOLS,
                        "HMM label topology, 'foo bar' (Transitions 0.5/0.5 speech, 0.96/0.04 silence)"),
        "ctc_foo_bar": (fsttopo.ctc_graph([sum(WORDS, [])])[0], SYMBOLS_CTC, "CTC label topology, 'foo bar'"),
        "ctc_no_forced_blank_foo_bar": (fsttopo.ctc_graph([sum(WORDS, [])], forced_blank=False)[0], SYMBOLS_CTC,
                                        "CTC without forced blank, 'foo bar'"),
    }
    have_dot = shutil.which("dot") is not None
    for name, (fsa, symbols, title) in graphs.items():
        path = HERE / f"{name}.dot"
        path.write_text(fsa.to_dot(symbols=symbols, title=title))
        if have_dot:
            subprocess.run(["dot", "-Tpng", "-Gdpi=80", str(path), "-o", str(path.with_suffix(".png"))], check=True)
        print(f"wrote {path}" + (" (+ .png)" if have_dot else ""))


if __name__ == "__main__":
    main()
