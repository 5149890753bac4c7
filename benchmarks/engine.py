"""Engine benchmark: full_sum forward+backward vs torch's ctc_loss, viterbi vs a loop over
torchaudio's forced_align (batch size 1 only), state_posteriors vs the differentiable soft-DP
(``soft_dp_align``, tau = 1: the same posteriors, plain torch), on the CTC topology.

Default sizes are the issue's: B=16, T=500, S=100, V=500. Prints a Markdown table with the ratio
ours / peer (below 1 means we are faster). Usage: python benchmarks/engine.py [--device cuda]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
import torchaudio.functional as AF

import fsttopo
from fsttopo.align import soft_dp_align


def timeit(fn, device: torch.device, repeats: int) -> float:
    fn()  # warm-up (Numba compilation, CUDA context, allocator)
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--frames", type=int, default=500)
    p.add_argument("--labels", type=int, default=100)
    p.add_argument("--vocab", type=int, default=500)
    p.add_argument("--repeats", type=int, default=10)
    args = p.parse_args()
    device = torch.device(args.device)
    B, T, S, V = args.batch, args.frames, args.labels, args.vocab
    torch.manual_seed(0)
    logits = torch.randn(B, T, V, device=device, requires_grad=True)
    targets = torch.randint(1, V, (B, S), device=device)
    lengths = torch.full((B,), T, device=device)
    graphs = fsttopo.ctc_graph(targets.tolist())

    def ours_full_sum(backend="auto"):
        def run():
            ll = fsttopo.full_sum(logits.log_softmax(-1), lengths, graphs, backend=backend)
            (-ll.sum()).backward()
        return run

    def torch_ctc():
        loss = torch.nn.functional.ctc_loss(logits.log_softmax(-1).transpose(0, 1), targets, lengths,
                                            torch.full((B,), S, device=device), reduction="sum")
        loss.backward()

    lp = logits.detach().log_softmax(-1)

    def ours_viterbi(backend="auto"):
        return lambda: fsttopo.viterbi(lp, lengths, graphs, backend=backend)

    def ours_state_posteriors(backend="auto"):
        return lambda: fsttopo.state_posteriors(lp, lengths, graphs, backend=backend)

    def soft_dp():
        with torch.no_grad():
            soft_dp_align(lp, lengths, graphs, tau=1.0)

    def forced_align_loop():
        for b in range(B):
            AF.forced_align(lp[b:b + 1], targets[b:b + 1], blank=0)

    rows = []
    peer_fs = timeit(torch_ctc, device, args.repeats)
    peer_v = timeit(forced_align_loop, device, args.repeats)
    backends = ["numba", "torch"] if device.type == "cpu" else ["torch"]
    for be in backends:
        t = timeit(ours_full_sum(be), device, args.repeats)
        rows.append((f"full_sum fwd+bwd ({be})", t, "torch ctc_loss fwd+bwd", peer_fs))
    for be in backends:
        t = timeit(ours_viterbi(be), device, args.repeats)
        rows.append((f"viterbi ({be})", t, f"forced_align loop x{B}", peer_v))

    peer_sp = timeit(soft_dp, device, args.repeats)
    for be in backends:
        t = timeit(ours_state_posteriors(be), device, args.repeats)
        rows.append((f"state_posteriors ({be})", t, "soft_dp_align, tau 1, no grad", peer_sp))

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"device: {device} ({name}), torch threads {torch.get_num_threads()}, "
          f"B={B} T={T} S={S} V={V}, median of {args.repeats}")
    print("| operation | ours [ms] | peer | peer [ms] | ours / peer |")
    print("| --- | ---: | --- | ---: | ---: |")
    for op, t, peer, tp in rows:
        print(f"| {op} | {t:.1f} | {peer} | {tp:.1f} | {t / tp:.2f} |")


if __name__ == "__main__":
    main()
