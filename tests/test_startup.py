"""What start-up saves computes the same as what it replaces: the encoder without a padding mask,
the cached CMUdict, the features; and the modules `fsttopo align` needs leave the slow ones out."""

import torch

from fsttopo.aligner import Aligner, compute_features
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
