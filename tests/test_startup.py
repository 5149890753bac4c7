"""What start-up saves computes the same as what it replaces: the encoder without a padding mask,
the cached CMUdict, the features; and the modules `fsttopo align` needs leave the slow ones out."""

import numpy as np
import pytest
import soundfile
import torch

from fsttopo.aligner import Aligner, compute_features
from fsttopo.data.features import lhotse_fbank
from fsttopo.resources import default_model_path, example_paths

WAV, TXT, _ = example_paths()


def test_encoder_without_padding_equals_the_all_false_mask():
    model = Aligner.from_file(default_model_path()).model
    feats = compute_features(WAV)[None]
    with torch.no_grad():
        x, lengths = model.frontend(feats, torch.tensor([feats.shape[1]]))
        hidden = model.encode_frames(x, lengths)[0]
        mask = torch.zeros(x.shape[:2], dtype=torch.bool)
        y = x.transpose(0, 1)
        for layer in model.encoder.conformer_layers:
            y = layer(y, mask)
    torch.testing.assert_close(hidden, y.transpose(0, 1), rtol=0, atol=1e-6)


def _recordings() -> dict[str, np.ndarray]:
    speech, rate = soundfile.read(WAV, dtype="float32")
    assert rate == 16000
    noise = np.random.default_rng(0).standard_normal(8001).astype(np.float32)
    return {"example": speech, "odd length": speech[:12345],
            "silence, quiet, noise, speech, clipped": np.concatenate(
                [np.zeros(16000, np.float32), 1e-4 * speech, 1e-6 * noise, speech, np.full(500, 0.999, np.float32)]),
            "one window": speech[4000:4400], "three frames": speech[4000:4480], "loud noise": 0.5 * noise}


@pytest.mark.parametrize("name", list(_recordings()))
def test_features_equal_lhotse_fbank(name):
    from lhotse import Fbank, FbankConfig

    samples = _recordings()[name]
    ref = Fbank(FbankConfig(num_mel_bins=80)).extract(samples, 16000)
    ours = lhotse_fbank(samples)
    assert ours.shape == ref.shape and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-4)


def test_audio_shorter_than_one_window_is_named():
    with pytest.raises(ValueError, match="shorter than one 25 ms feature window"):
        lhotse_fbank(np.zeros(399, np.float32))


def test_compute_features_of_the_example_equal_the_stored_features():
    from lhotse import FbankConfig

    from fsttopo.data.manifests import LevelNormalizedFbank

    ref = LevelNormalizedFbank(FbankConfig(num_mel_bins=80)).extract(_recordings()["example"], 16000)
    np.testing.assert_allclose(compute_features(WAV).numpy(), ref, rtol=1e-5, atol=1e-4)


def test_the_align_path_imports_no_lhotse_matplotlib_or_sympy():
    import subprocess
    import sys

    code = ("import sys\nimport fsttopo.cli, fsttopo.files, fsttopo.aligner, fsttopo.data.export, fsttopo.training\n"
            "print(*sorted(m for m in ('lhotse', 'matplotlib', 'sympy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == []


def test_aligning_a_short_file_loads_no_numba_or_matplotlib(tmp_path):
    import subprocess
    import sys

    # Numba's import and its compiled kernels' registries are most of a short file's start-up: the
    # forward-backward of one small utterance runs in torch, the long-form search is imported late
    code = ("import sys\nfrom fsttopo import cli\n"
            f"cli.main(['align', {str(WAV)!r}, {str(TXT)!r}, '--out', {str(tmp_path)!r}, '--no-plot'])\n"
            "print('loaded:', *sorted(m for m in ('numba', 'matplotlib', 'scipy', 'lhotse') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1].split() == ["loaded:"]
    assert (tmp_path / f"{WAV.stem}.json").exists()


def test_cached_cmudict_equals_the_parsed_text(tmp_path, monkeypatch):
    from fsttopo.data.lexicon import _cmudict_first_pronunciations, _parse_cmudict

    monkeypatch.setenv("FSTTOPO_CACHE_DIR", str(tmp_path))
    parsed = _parse_cmudict()
    built = _cmudict_first_pronunciations.__wrapped__()  # builds the cache file
    assert len(list(tmp_path.glob("cmudict-*.marshal"))) == 1
    monkeypatch.setattr("fsttopo.data.lexicon._parse_cmudict", lambda: pytest.fail("parsed again"))
    read = _cmudict_first_pronunciations.__wrapped__()
    assert built == parsed and read == parsed and len(parsed) > 100_000
    assert read["hello"] == ("hh", "ah", "l", "ow")


def test_file_cache_rebuilds_for_a_changed_source_or_a_damaged_file(tmp_path, monkeypatch):
    import os

    from fsttopo.data.file_cache import cached_from_file

    monkeypatch.setenv("FSTTOPO_CACHE_DIR", str(tmp_path / "cache"))
    source = tmp_path / "words.txt"
    source.write_text("a b\n")
    parse = lambda: {line.split()[0]: tuple(line.split()[1:]) for line in source.read_text().splitlines()}  # noqa: E731
    assert cached_from_file("words", source, parse) == {"a": ("b",)}
    assert cached_from_file("words", source, lambda: pytest.fail("built again")) == {"a": ("b",)}
    source.write_text("a b\nc d e\n")
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 10**9))
    assert cached_from_file("words", source, parse) == {"a": ("b",), "c": ("d", "e")}
    assert cached_from_file("words", source, parse, version=2) == {"a": ("b",), "c": ("d", "e")}
    for cached in (tmp_path / "cache").iterdir():
        cached.write_bytes(b"\x00damaged")
    assert cached_from_file("words", source, parse) == {"a": ("b",), "c": ("d", "e")}


def test_file_cache_that_cannot_be_written_builds_every_time(tmp_path, monkeypatch):
    from fsttopo.data.file_cache import cached_from_file

    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setenv("FSTTOPO_CACHE_DIR", str(blocker / "cache"))  # no directory can be made there (even as root)
    source = tmp_path / "words.txt"
    source.write_text("a b\n")
    assert cached_from_file("words", source, lambda: {"a": ("b",)}) == {"a": ("b",)}
    assert cached_from_file("words", source, lambda: {"a": ("c",)}) == {"a": ("c",)}
