"""Model FLOP utilisation of a training step: achieved FLOP/s of forward+backward+optimizer on the offline
encoder (batch x seq of the quick profile by default) divided by this machine's measured dense matmul
FLOP/s (torch.mm on square matrices, fp32 and bf16). FLOPs of the step are counted by
torch.utils.flop_counter.FlopCounterMode (matmuls/attention only: the standard MFU numerator).

    python benchmarks/bench_mfu.py [--device auto] [--batch 32] [--seq 64] [--steps 5] [--frozen/--trainable]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def matmul_peak(device: str, dtype, n: int, iters: int) -> float:
    import torch

    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(2):
        torch.mm(a, b)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    best = float("inf")
    for _ in range(iters):
        t0 = time.perf_counter()
        torch.mm(a, b)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0 = torch default)")
    ap.add_argument("--model", default="offline:multilingual-e5-small")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--trainable-embeddings", action="store_true")
    ap.add_argument("--matmul-n", type=int, default=0)
    a = ap.parse_args()

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from xlt_claims.experiments.models import load_encoder, mean_pool, resolve_device
    from xlt_claims.experiments.models.runtime import autocast_context, autocast_dtype, device_description

    if a.threads:
        torch.set_num_threads(a.threads)
    device = resolve_device(a.device)
    dev_type = torch.device(device).type
    print("machine:", json.dumps(device_description(device)))
    n = a.matmul_n or (8192 if dev_type == "cuda" else 2048)
    iters = 20 if dev_type == "cuda" else 5
    peak32 = matmul_peak(device, torch.float32, n, iters)
    peak16 = matmul_peak(device, torch.bfloat16, n, iters)
    print(f"measured dense matmul ({n}x{n}): fp32 {peak32 / 1e9:.1f} GFLOP/s, bf16 {peak16 / 1e9:.1f} GFLOP/s")

    encoder, tok = load_encoder(a.model, device=device)
    encoder.train()
    if not a.trainable_embeddings:
        encoder.get_input_embeddings().weight.requires_grad_(False)
    head = torch.nn.Linear(encoder.config.hidden_size, 7).to(device)
    params = [p for p in list(encoder.parameters()) + list(head.parameters()) if p.requires_grad]
    try:
        opt = torch.optim.AdamW(params, lr=1e-5, fused=True)
    except (RuntimeError, TypeError, ValueError):
        opt = torch.optim.AdamW(params, lr=1e-5, foreach=True)
    amp = autocast_dtype(dev_type, a.precision)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 200_000, (a.batch, a.seq), generator=g).to(device)
    ids[:, 0], ids[:, -1] = 0, 2
    mask = torch.ones_like(ids)
    labels = torch.randint(0, 7, (a.batch,), generator=g).to(device)

    def step():
        with autocast_context(dev_type, enabled=amp is not None, dtype=amp):
            emb = encoder.get_input_embeddings()(ids)
            out = encoder(inputs_embeds=emb, attention_mask=mask)
            logits = head(mean_pool(out.last_hidden_state, mask))
            loss = torch.nn.functional.cross_entropy(logits.float(), labels)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    counter = FlopCounterMode(display=False)
    with counter:
        step()
    flops = counter.get_total_flops()
    times = []
    for _ in range(a.steps):
        if dev_type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        step()
        if dev_type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    t = statistics.median(times)
    achieved = flops / t
    peak = peak16 if amp is not None else peak32
    print(f"train step: batch {a.batch} x seq {a.seq}, autocast {amp}, word embeddings "
          f"{'trainable' if a.trainable_embeddings else 'frozen'}, {sum(p.numel() for p in params) / 1e6:.1f}M trainable")
    print(f"  FLOPs/step {flops / 1e9:.1f} GFLOP (FlopCounterMode), median step {t * 1000:.0f} ms over {a.steps} "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}), tokens/s {a.batch * a.seq / t:.0f}")
    print(f"  achieved {achieved / 1e9:.1f} GFLOP/s = MFU {100 * achieved / peak:.1f}% of measured "
          f"{'bf16' if amp is not None else 'fp32'} matmul peak ({100 * achieved / peak32:.1f}% of fp32 peak)")


if __name__ == "__main__":
    main()
