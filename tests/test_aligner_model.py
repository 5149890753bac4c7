"""Aligner-Encoder models: decoder gradient, greedy decoding of a hand-set decoder, InterAligner
equal to the final loss of a truncated model, T < U + 1, batch independence, model files and
gradient alignment of the example."""

import json

import pytest
import torch

from fsttopo.align.gradient import aligner_label_scores_fn, gradient_log_norms
from fsttopo.aligner import Aligner
from fsttopo.cli import main
from fsttopo.criteria import aligner_loss, pad_token_sequences
from fsttopo.data.lexicon import Lexicon
from fsttopo.models import AlignmentModel, ModelConfig
from fsttopo.models.aligner_decoder import AlignerDecoder
from fsttopo.recognizer import Recognizer
from fsttopo.resources import example_paths
from fsttopo.training import ObjectiveConfig, save_model
from fsttopo.training.checkpoint import read_model_file
from fsttopo.training.objective import Objective

SMALL = dict(d_model=32, num_heads=2, ffn_dim=64, conv_kernel=3, dropout=0.0, frontend_channels=8)


def aligner_model(num_tokens=6, num_layers=2, seed=0, **kw):
    torch.manual_seed(seed)
    config = ModelConfig(num_tokens=num_tokens, num_layers=num_layers, aligner=True, aligner_embed_dim=8,
                         aligner_lstm_dim=16, aligner_joint_dim=16, **{**SMALL, **kw})
    return AlignmentModel(config).eval()


def test_gradcheck_through_the_decoder_float64():
    torch.manual_seed(0)
    decoder = AlignerDecoder(4, 5, embed_dim=3, lstm_dim=4, joint_dim=6).double()
    hidden = torch.randn(2, 5, 4, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([5, 3])
    targets, target_lengths = pad_token_sequences([[1, 3, 2], [4]])

    def loss(h):
        return aligner_loss(decoder(h, lengths, targets, target_lengths), targets, target_lengths)

    assert torch.autograd.gradcheck(loss, (hidden,))


def hand_set_decoder(V=4):
    """A decoder whose arg-max at frame t is the arg-max of hidden[t] (one-hot hidden, d = V)."""
    decoder = AlignerDecoder(V, V, embed_dim=2, lstm_dim=3, joint_dim=V)
    with torch.no_grad():
        decoder.joint_encoder.weight.copy_(10 * torch.eye(V))
        decoder.joint_encoder.bias.zero_()
        decoder.joint_prediction.weight.zero_()
        decoder.joint_prediction.bias.zero_()
        decoder.joint_output.weight.copy_(torch.eye(V))
        decoder.joint_output.bias.zero_()
    return decoder


def test_greedy_decoding_stops_at_eos_or_at_the_last_frame():
    frames = [[3, 1, 0, 2, 2], [2, 2, 1, 3, 3], [0, 1, 1, 1, 1], [1, 3, 2, 0, 0]]
    hidden = torch.nn.functional.one_hot(torch.tensor(frames), 4).float()
    lengths = torch.tensor([5, 3, 5, 5])  # utterance 1: no EOS within its 3 frames
    out = hand_set_decoder().greedy_decode(hidden, lengths)
    assert out.tokens == [[3, 1], [2, 2, 1], [], [1, 3, 2]]
    assert out.log_probs.shape == (4, 5, 4)
    assert out.log_probs[0, 0].argmax() == 3 and out.log_probs[0, 2].argmax() == 0
    after_eos = torch.tensor([0.0, -torch.inf, -torch.inf, -torch.inf]).expand(2, 4)
    torch.testing.assert_close(out.log_probs[0, 3:], after_eos)
    torch.testing.assert_close(out.log_probs[1, 3:, 0], torch.zeros(2))  # past the utterance's frames


def test_greedy_decoding_of_an_utterance_does_not_depend_on_its_batch():
    model = aligner_model(seed=3)
    hidden = torch.randn(3, 9, 32)
    lengths = torch.tensor([9, 6, 4])
    batch = model.aligner_decoder.greedy_decode(hidden, lengths)
    for b in range(3):
        alone = model.aligner_decoder.greedy_decode(hidden[b:b + 1, : int(lengths[b])], lengths[b:b + 1])
        assert alone.tokens == batch.tokens[b:b + 1]
        torch.testing.assert_close(alone.log_probs[0], batch.log_probs[b, : int(lengths[b])])


def words_of(sequences):
    return [[list(s)] for s in sequences]


def test_inter_aligner_on_layer_k_equals_the_final_loss_of_the_model_cut_after_layer_k():
    deep = aligner_model(num_layers=3, aligner_layers=(2,), seed=1)
    cut = aligner_model(num_layers=2, seed=2)
    cut.load_state_dict({k: v for k, v in deep.state_dict().items() if not k.startswith("encoder.conformer_layers.2.")})
    feats, lengths = torch.randn(2, 48, 80), torch.tensor([48, 40])
    words = words_of([[1, 2, 3, 4], [5, 5]])
    objective = Objective(ObjectiveConfig(criterion="aligner", inter_aligner_weight=1.0), 6)
    _, deep_stats = objective(deep(feats, lengths), words, decoder=deep.aligner_decoder)
    _, cut_stats = objective(cut(feats, lengths), words, decoder=cut.aligner_decoder)
    assert deep_stats["inter_aligner_loss"] == pytest.approx(cut_stats["loss"], rel=1e-5)
    assert deep_stats["loss"] != pytest.approx(cut_stats["loss"], rel=1e-3)


def test_aligner_criterion_combines_final_interaligner_and_interctc_per_token():
    model = aligner_model(num_layers=3, aligner_layers=(1,), inter_layers=(2,), seed=4)
    feats, lengths = torch.randn(2, 40, 80), torch.tensor([40, 36])
    words = words_of([[1, 2, 3], [4]])
    config = ObjectiveConfig(criterion="aligner", inter_weight=0.3, inter_aligner_weight=0.5)
    loss, stats = Objective(config, 6)(model(feats, lengths), words, decoder=model.aligner_decoder)
    assert loss.item() == pytest.approx(stats["loss"] + 0.3 * stats["inter_loss"] + 0.5 * stats["inter_aligner_loss"],
                                        rel=1e-5)
    out = model(feats, lengths)
    targets, n = pad_token_sequences([[1, 2, 3], [4]])
    final = aligner_loss(model.aligner_decoder(out.hidden, out.lengths, targets, n), targets, n, reduction="sum")
    assert stats["loss"] == pytest.approx(float(final) / 6, rel=1e-5)  # (3 + 1) + (1 + 1) positions
    ctc = torch.nn.functional.ctc_loss(out.inter_log_probs[0].transpose(0, 1), targets, out.lengths, n,
                                       reduction="sum")
    assert stats["inter_loss"] == pytest.approx(float(ctc) / 6, rel=1e-4)


def test_too_few_frames_for_the_tokens():
    model = aligner_model(seed=5)
    feats, lengths = torch.randn(2, 40, 80), torch.tensor([40, 12])  # 10 and 3 encoder frames
    out = model(feats, lengths)
    targets, n = pad_token_sequences([[1, 2], [1, 2, 3]])
    with pytest.raises(ValueError, match="utterance 1: 3 tokens \\+ EOS need 4 encoder frames, it has 3"):
        model.aligner_decoder(out.hidden, out.lengths, targets, n)
    objective = Objective(ObjectiveConfig(criterion="aligner"), 6)
    with pytest.warns(UserWarning, match="dropped 1 utterance.*utterance 1: 3 frames for 3 tokens"):
        _, stats = objective(out, words_of([[1, 2], [1, 2, 3]]), decoder=model.aligner_decoder)
    _, alone = objective(model(feats[:1], lengths[:1]), words_of([[1, 2]]), decoder=model.aligner_decoder)
    assert stats["loss"] == pytest.approx(alone["loss"], rel=1e-5)


def test_an_utterance_loss_does_not_depend_on_its_batch():
    model = aligner_model(seed=6)
    feats, lengths = torch.randn(3, 60, 80), torch.tensor([60, 44, 30])
    seqs = [[1, 2, 3, 4, 5], [2, 2], [3, 1, 4]]
    objective = Objective(ObjectiveConfig(criterion="aligner"), 6)
    out = model(feats, lengths)
    targets, n = pad_token_sequences(seqs)
    batch = objective.aligner_nll(model.aligner_decoder, out.hidden, out.lengths, targets, n)
    for b in range(3):
        one = model(feats[b:b + 1, : int(lengths[b])], lengths[b:b + 1])
        t, m = pad_token_sequences(seqs[b:b + 1])
        alone = objective.aligner_nll(model.aligner_decoder, one.hidden, one.lengths, t, m)
        torch.testing.assert_close(alone, batch[b:b + 1], rtol=1e-4, atol=1e-4)


def test_config_validation_and_old_configs():
    old = {k: v for k, v in ModelConfig(num_tokens=5).to_dict().items() if not k.startswith("aligner")}
    assert ModelConfig(**old).aligner is False
    with pytest.raises(ValueError, match="aligner_layers \\(InterAligner\\) need aligner=True"):
        ModelConfig(num_tokens=5, aligner_layers=(2,))
    with pytest.raises(ValueError, match="aligner_layers must lie in \\[1, 5\\]"):
        ModelConfig(num_tokens=5, aligner=True, aligner_layers=(6,))
    with pytest.raises(ValueError, match="criterion must be one of"):
        ObjectiveConfig(criterion="rnnt")


def test_model_file_round_trip_and_gradscore_ext_alignment_of_the_example(tmp_path, capsys):
    lexicon = Lexicon.from_cmudict()
    model = aligner_model(num_tokens=lexicon.num_tokens, num_layers=2, aligner_layers=(1,), inter_layers=(1,))
    path = tmp_path / "aligner.pt"
    save_model(path, model, ObjectiveConfig(criterion="aligner"), lexicon.tokens,
               align_options={"method": "gradscore-ext"})
    loaded = read_model_file(path)
    assert loaded.model.config == model.config and loaded.log_prior is None
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.model.state_dict()[key], value)
    aligner = Aligner.from_file(path)
    feats = [torch.randn(200, 80)]
    with pytest.raises(ValueError, match="Aligner-Encoder model has no frame lattice"):
        aligner.align(feats, ["hello world"], method="viterbi")
    with pytest.raises(ValueError, match="no frame posteriors to decode"):
        Recognizer.from_texts(aligner, ["hello world"])
    for method in ("gradscore", "gradscore-ext"):
        ali = aligner.align(feats, ["hello world"], method=method).alignments[0]
        assert [w.symbol for w in ali.words] == ["hello", "world"]
        assert ali.words[0].end <= ali.words[1].start + 1e-9

    audio, transcript = example_paths()[:2]
    main(["align", str(audio), str(transcript), "--model", str(path), "--method", "gradscore-ext",
          "--out", str(tmp_path / "out"), "--no-plot"])
    words = json.loads(next((tmp_path / "out").glob("*.json")).read_text())["words"]
    starts = [w["start"] for w in words]
    assert len(words) > 3 and starts == sorted(starts)
    assert all(w["start"] <= w["end"] for w in words)


def test_aligner_label_scores_are_the_teacher_forced_token_log_probs_with_or_without_cached_prediction():
    model = aligner_model(seed=7)
    with torch.no_grad():
        x, n = model.frontend(torch.randn(2, 60, 80), torch.tensor([60, 48]))
    targets = [[1, 2, 3], [4, 5]]
    tgt, tl = pad_token_sequences(targets)
    decoder = model.aligner_decoder

    def score_fn(prediction):
        return aligner_label_scores_fn(lambda h, t, m: decoder(model.encode_frames(h, n)[0], n, t, m, prediction),
                                       targets)

    with torch.no_grad():
        lp = decoder(model.encode_frames(x, n)[0], n, tgt, tl)
        cached = decoder.prediction(tgt)
    expected = torch.tensor([[float(lp[0, s, t]) for s, t in enumerate(targets[0])],
                             [float(lp[1, 0, 4]), float(lp[1, 1, 5]), 0.0]])
    torch.testing.assert_close(score_fn(None)(x).detach(), expected)
    G = gradient_log_norms(score_fn(None), x, n, tl)
    torch.testing.assert_close(gradient_log_norms(score_fn(cached), x, n, tl), G)
    torch.testing.assert_close(gradient_log_norms(score_fn(cached), x, n, tl, batched=False), G)


def test_no_label_prior_for_aligner_models():
    from fsttopo.training import estimate_log_prior

    with pytest.raises(ValueError, match="no frame posteriors"):
        estimate_log_prior(aligner_model(), [])
