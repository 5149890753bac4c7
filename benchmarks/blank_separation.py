"""Speed of the blank-separated output layer vs. a full softmax (paper A.6, Table 15).

Setup of Table 15: batch 10, sequence length 1000, vocabulary 10,000 (blank included), hidden
dimension 512, a random fixed alignment with 90% blank frames, and the features arranged so that
the model puts p(blank) > 0.5 on 90% of the frames. Only the final linear layer (hidden ->
vocabulary) and the (log-)softmax are timed:

- greedy decode, labels only: full = ``argmax(linear(h))``; blank-separated = blank logit for every
  frame, label logits only where ``p(blank) <= 0.5``;
- greedy decode with probabilities: full = ``max(log_softmax(linear(h)))``;
- framewise training (forward + backward, gradients for ``h`` and the layer): full =
  ``cross_entropy(linear(h), alignment)``; blank-separated = label logits and softmax only on
  non-blank frames of the alignment.

Run: ``python benchmarks/blank_separation.py`` (CPU, plus CUDA when available). The paper reports
2.2x, 3.0x and 6.5x on an NVIDIA A10.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch
import torch.nn.functional as F

from fsttopo.criteria import BlankSeparatedOutput


def timed(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Median wall time of ``fn`` in milliseconds (after one warm-up call)."""
    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def setup(device: torch.device, B: int, T: int, V: int, D: int, blank_share: float, seed: int = 0):
    """Features [B,T,D], a layer with p(blank) > 0.5 on ``blank_share`` of them, an alignment [B,T]."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    layer = BlankSeparatedOutput(D, V, blank=0).to(device)
    h = torch.randn(B, T, D, generator=g).to(device)
    with torch.no_grad():
        z_blank = h @ layer.linear.weight[0]
        # shift the blank bias so that exactly ``blank_share`` of the frames have z_blank > 0
        layer.linear.bias[0] = -torch.quantile(z_blank.flatten().cpu(), 1.0 - blank_share).item()
    is_blank = torch.rand(B, T, generator=g) < blank_share
    alignment = torch.where(is_blank, 0, torch.randint(1, V, (B, T), generator=g)).to(device)
    return layer, h, alignment


def run(device: torch.device, args: argparse.Namespace) -> list[tuple[str, float, float]]:
    layer, h, alignment = setup(device, args.batch, args.time, args.vocab, args.hidden, args.blank_share)
    linear = layer.linear  # the full-softmax baseline uses the very same weights

    @torch.inference_mode()
    def full_labels():
        return linear(h).argmax(-1)

    @torch.inference_mode()
    def full_probs():
        return linear(h).log_softmax(-1).max(-1)

    @torch.inference_mode()
    def sep_labels():
        return layer.greedy_decode(h)

    @torch.inference_mode()
    def sep_probs():
        return layer.greedy_decode(h, with_log_probs=True)

    x = h.clone().requires_grad_()

    def full_train():
        layer.zero_grad(set_to_none=True)
        x.grad = None
        F.cross_entropy(linear(x).flatten(0, 1), alignment.flatten()).backward()

    def sep_train():
        layer.zero_grad(set_to_none=True)
        x.grad = None
        layer.framewise_ce(x, alignment).backward()

    with torch.no_grad():
        skipped = float((h @ linear.weight[0] + linear.bias[0] > 0).float().mean())
    print(f"  frames with p(blank) > 0.5 (no label logits in the fast decode): {100 * skipped:.1f}%, "
          f"blank frames in the alignment: {100 * float((alignment == 0).float().mean()):.1f}%")
    rows = []
    for name, full, sep in [("Greedy decode only labels", full_labels, sep_labels),
                            ("Greedy decode with probs.", full_probs, sep_probs),
                            ("Framewise training", full_train, sep_train)]:
        t_full = timed(full, device, args.repeats)
        t_sep = timed(sep, device, args.repeats)
        rows.append((name, t_full, t_sep))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="auto: CPU, and CUDA too when available")
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--time", type=int, default=1000)
    parser.add_argument("--vocab", type=int, default=10_000)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--blank-share", type=float, default=0.9)
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per entry (median)")
    args = parser.parse_args()

    devices = {"cpu": ["cpu"], "cuda": ["cuda"],
               "auto": ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])}[args.device]
    for dev in devices:
        device = torch.device(dev)
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else \
            f"CPU, {torch.get_num_threads()} threads"
        print(f"\n{name}: batch {args.batch}, length {args.time}, vocabulary {args.vocab}, "
              f"hidden {args.hidden}, {100 * args.blank_share:.0f}% blank; median of {args.repeats}")
        rows = run(device, args)
        print(f"| {'Type of computation':<27} | {'Blank sep.':<10} | {'Time [ms]':>10} | {'Speedup':>7} |")
        print(f"|{'-' * 29}|{'-' * 12}|{'-' * 12}|{'-' * 9}|")
        for label, t_full, t_sep in rows:
            print(f"| {label:<27} | {'No':<10} | {t_full:>10.1f} | {'-':>7} |")
            print(f"| {'':<27} | {'Yes':<10} | {t_sep:>10.1f} | {t_full / t_sep:>6.1f}x |")


if __name__ == "__main__":
    main()
