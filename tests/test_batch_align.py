"""align_loaded, the batch step shared by align-dir and align-cuts: items in their order, an
unreadable item fails alone with its reason, the others equal aligning them on their own, each
with the conditions of its features and those its loader measured on the samples."""

import numpy as np
import soundfile

from fsttopo.aligner import Aligner, compute_features
from fsttopo.batch_align import Failure, align_loaded
from fsttopo.resources import default_model_path, example_paths

WAV, TXT, _ = example_paths()


def test_an_unreadable_item_fails_alone_and_the_order_is_kept():
    aligner = Aligner.from_file(default_model_path())
    speech, sr = soundfile.read(WAV, dtype="float32")
    text = TXT.read_text().strip()
    noisy = speech + 0.05 * np.random.default_rng(0).standard_normal(speech.shape[0]).astype(np.float32)
    items = {"a": (compute_features(speech, sr), {}), "b": "the samples cannot be read",
             "c": (compute_features(noisy, sr), {"clipped_percent": 4.2})}
    out = align_loaded(aligner, list(items), items.get, [text] * 3, ["a", "b", "c"], {}, "unreadable-audio")
    assert out[1] == (Failure("unreadable-audio", "the samples cannot be read"), {})
    alone = aligner.align([items["a"][0]], [text], ["a"]).alignments[0]
    assert out[0][0].utterance_id == "a" and out[2][0].utterance_id == "c"
    # batched with another utterance: the same boundaries up to float rounding (docs/robustness.md)
    np.testing.assert_allclose([(w.start, w.end) for w in out[0][0].words], [(w.start, w.end) for w in alone.words],
                               atol=1e-6)
    assert out[0][1] == {} and list(out[2][1]) == ["noisy_db", "clipped_percent"]  # only the noisy copy
    assert out[2][1]["noisy_db"] < 15.0 and out[2][1]["clipped_percent"] == 4.2
