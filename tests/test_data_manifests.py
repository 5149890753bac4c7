import numpy as np
import pytest
import soundfile
from lhotse import Recording, RecordingSet, SupervisionSet, load_manifest
from lhotse.supervision import AlignmentItem

from fsttopo.data import alignment_items, cut_alignment, cuts_from_manifests, item_spans, make_supervision

WORDS = [("hello", 0.25, 0.7), ("big", 0.7, 1.05), ("world", 1.31, 1.9)]
PHONES = [("hh", 0.25, 0.33), ("ah", 0.33, 0.41), ("l", 0.41, 0.52), ("ow", 0.52, 0.7),
          ("b", 0.7, 0.8), ("ih", 0.8, 0.95), ("g", 0.95, 1.05),
          ("w", 1.31, 1.45), ("er", 1.45, 1.62), ("l", 1.62, 1.75), ("d", 1.75, 1.9)]


@pytest.fixture
def recording(tmp_path):
    path = tmp_path / "utt1.wav"
    soundfile.write(str(path), np.zeros(32000, dtype=np.int16), 16000)  # 2.0 s
    return Recording.from_file(path, recording_id="utt1")


def test_alignment_items_round_trip():
    items = alignment_items(WORDS)
    assert [(i.symbol, i.start) for i in items] == [(w, s) for w, s, _ in WORDS]
    assert item_spans(items) == WORDS


@pytest.mark.parametrize("spans, message", [
    ([("", 0.0, 1.0)], "empty symbol"),
    ([("a", 0.5, 0.4)], "start <= end"),
    ([("a", -0.1, 0.4)], "start <= end"),
    ([("a", 0.0, float("nan"))], "start <= end"),
    ([("a", 0.5, 0.6), ("b", 0.4, 0.7)], "before span 0"),
])
def test_alignment_items_errors(spans, message):
    with pytest.raises(ValueError, match=message):
        alignment_items(spans)


def test_supervision_jsonl_round_trip(tmp_path, recording):
    supervision = make_supervision(recording, "hello big world", WORDS, PHONES, speaker="spk",
                                   custom={"speed": 1.0})
    path = tmp_path / "supervisions.jsonl.gz"
    SupervisionSet.from_segments([supervision]).to_file(path)
    [loaded] = load_manifest(path)
    assert loaded.text == "hello big world"
    assert loaded.duration == 2.0 and loaded.start == 0.0
    assert loaded.custom == {"speed": 1.0}
    assert item_spans(loaded.alignment["word"]) == WORDS
    assert item_spans(loaded.alignment["phone"]) == PHONES
    assert all(isinstance(i, AlignmentItem) for i in loaded.alignment["phone"])


def test_supervision_without_phones(recording):
    supervision = make_supervision(recording, "hello big world", WORDS)
    assert set(supervision.alignment) == {"word"}


def test_supervision_errors(recording):
    with pytest.raises(ValueError, match="!= text"):
        make_supervision(recording, "hello world", WORDS)
    with pytest.raises(ValueError, match="after the audio"):
        make_supervision(recording, "hello", [("hello", 1.5, 2.5)])


def test_cut_alignment_subtracts_cut_start(tmp_path, recording):
    supervision = make_supervision(recording, "hello big world", WORDS, PHONES)
    cuts = cuts_from_manifests(RecordingSet.from_recordings([recording]),
                               SupervisionSet.from_segments([supervision]))
    [cut] = cuts
    assert cut.id == "utt1" and cut.start == 0.0 and cut.duration == 2.0
    assert item_spans(cut_alignment(cut, "word")) == WORDS

    # A cut from 0.5 s to 1.5 s of the recording: times shift by -0.5 and are clipped to [0, 1].
    part = cut.truncate(offset=0.5, duration=1.0)
    assert part.start == 0.5
    assert part.supervisions[0].alignment["word"][0].start == 0.25  # Lhotse keeps recording time
    words = item_spans(cut_alignment(part, "word"))
    assert [w for w, _, _ in words] == ["hello", "big", "world"]
    np.testing.assert_allclose([s for _, s, _ in words], [0.0, 0.2, 0.81])
    np.testing.assert_allclose([e for _, _, e in words], [0.2, 0.55, 1.0])
    phones = item_spans(cut_alignment(part, "phone"))
    # hh, ah end before 0.5 s; l (0.41-0.52) is clipped; the last l (1.62-1.75) starts after 1.5 s.
    assert [p for p, _, _ in phones] == ["l", "ow", "b", "ih", "g", "w", "er"]
    np.testing.assert_allclose(phones[0][1:], (0.0, 0.02))
    np.testing.assert_allclose(phones[1][1:], (0.02, 0.2))
    np.testing.assert_allclose(phones[-1][1:], (0.95, 1.0))

    # The same after a round trip through a cut manifest.
    path = tmp_path / "cuts.jsonl.gz"
    cuts.subset(cut_ids=[]).from_cuts([part]).to_file(path)
    [loaded] = load_manifest(path)
    assert item_spans(cut_alignment(loaded, "word")) == words


def test_cut_alignment_errors(recording):
    supervision = make_supervision(recording, "hello big world", WORDS)
    [cut] = cuts_from_manifests(RecordingSet.from_recordings([recording]),
                                SupervisionSet.from_segments([supervision]))
    with pytest.raises(ValueError, match="'phone'"):
        cut_alignment(cut, "phone")
    with pytest.raises(ValueError, match="MonoCut"):
        cut_alignment(cut.pad(duration=3.0), "word")


def test_cuts_need_supervisions(recording):
    with pytest.raises(ValueError, match="no supervision"):
        cuts_from_manifests(RecordingSet.from_recordings([recording]), SupervisionSet.from_segments([]))


def test_feature_cuts_keep_their_order_whatever_the_number_of_jobs(tmp_path):
    # Lhotse's workers return their shares one after another (0, 2, 4, ..., then 1, 3, ...); the
    # seeded draws over a split (babble, augmented copies) follow the cut order, so it must not move
    from fsttopo.data.manifests import compute_fbank

    rng = np.random.default_rng(0)
    recordings, supervisions = [], []
    for i in range(6):
        path = tmp_path / f"utt{i}.wav"
        soundfile.write(path, (0.1 * rng.standard_normal(1600 * (i + 2))).astype(np.float32), 16000)
        recording = Recording.from_file(path, recording_id=f"utt{i}")
        recordings.append(recording)
        supervisions.append(make_supervision(recording, "a word", [("a", 0.0, 0.05), ("word", 0.05, 0.1)]))
    cuts = cuts_from_manifests(RecordingSet.from_recordings(recordings), SupervisionSet.from_segments(supervisions))
    one = compute_fbank(cuts, tmp_path / "one")
    two = compute_fbank(cuts, tmp_path / "two", num_jobs=2)
    assert [c.id for c in one] == [c.id for c in two] == [f"utt{i}" for i in range(6)]
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a.load_features(), b.load_features())
