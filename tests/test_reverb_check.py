"""Reverberant recordings are flagged (fsttopo/inference/reverb_check.py): the shipped example dry and
in synthetic rooms (the training chain's impulse responses), the warning of `fsttopo align`. The
align-dir list is tested with the other conditions' lists (tests/test_noise_check.py)."""

import numpy as np
import soundfile

from fsttopo import cli
from fsttopo.aligner import compute_features
from fsttopo.inference.recording_check import recording_conditions
from fsttopo.inference.reverb_check import REVERBERANT_ABOVE, reverb_asymmetry, reverb_warning
from fsttopo.resources import example_paths
from fsttopo.training.augment import apply_rir, room_impulse_response

WAV, TXT, _ = example_paths()
SPEECH, SR = soundfile.read(WAV, dtype="float32")


def reverberant_copy(path, rt60: float = 0.8, seed: int = 1):
    """The example in a synthetic room of ``rt60`` seconds, written as a 16-bit file at ``path``."""
    room = apply_rir(SPEECH, room_impulse_response(SR, rt60, np.random.default_rng(seed)))
    soundfile.write(path, room / max(1.0, float(np.abs(room).max())), SR, subtype="PCM_16")
    return path


def test_the_example_is_dry_and_a_reverberant_copy_is_flagged(tmp_path):
    dry = compute_features(SPEECH, SR)
    assert reverb_asymmetry(dry) is None and reverb_warning(dry, "rec") is None and recording_conditions(dry) == {}
    # a small room (RT60 0.3 s: 1.74-1.79 on this example) is not flagged either
    assert reverb_asymmetry(compute_features(apply_rir(SPEECH, room_impulse_response(SR, 0.3, np.random.default_rng(0))), SR)) is None
    room = compute_features(str(reverberant_copy(tmp_path / "room.wav")), SR)
    asymmetry = reverb_asymmetry(room)
    assert asymmetry is not None and asymmetry > REVERBERANT_ABOVE  # 2.85
    assert recording_conditions(room) == {"reverb_asymmetry": asymmetry}
    message = reverb_warning(room, "rec")
    assert message.startswith("rec looks reverberant") and f"{asymmetry:.2f} times more slowly" in message
    assert "--model robust" in message


def test_align_warns_once_about_a_reverberant_recording(tmp_path, capsys):
    cli.main(["align", str(reverberant_copy(tmp_path / "big hall.wav")), str(TXT), "--out", str(tmp_path / "a"),
              "--no-plot", "--model", "default"])  # --model auto gives it the robust model
    err = capsys.readouterr().err
    assert err.count("looks reverberant") == 1 and "warning: big hall looks reverberant" in err
