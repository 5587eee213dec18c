"""Machine calibration measurements: how fast this CPU runs the bundled encoder in each precision and
thread count. Pure measurement (the engine's side): no cache, no choice, no store. The reproduce layer
(xlt_claims.reproduce.machine) caches the result per machine, chooses the setting and scales it to a
run's recipe with `run_work`.

    from xlt_claims.experiments.calibrate import calibrate
    cal = calibrate(threads=(1, 2))   # ~20-60 s on 2 cores
    cal["step_s"]["fp32"]["1"], cal["matmul_gflops"]["bf16"]["2"]

What is measured, per precision (fp32, bf16 autocast) and thread count:
  matmul_gflops   dense torch.mm throughput (the peak MFU is taken against)
  step_s          one optimizer step of the encoder + a linear head (forward, backward, fused AdamW) at
                  `batch` x `seq` tokens, word embeddings frozen as in the quick profile (best of `reps`)
  forward_s       one inference forward at the same shape (what evaluation costs per token)
  side_by_side    (once, for the precision of the fastest step) the step and the forward of `procs`
                  processes with one thread each, measured at the same time: what running that many
                  single-thread runs side by side costs each of them
bf16 is measured on the encoder only where its matmul is competitive (>= `bf16_gate` x fp32); where the
CPU has no native bf16 it is emulated and a step would take minutes, so it is recorded as skipped.
"""

from __future__ import annotations

import functools
import math
import multiprocessing
import queue as queue_mod
import time
from typing import Any, Optional, Sequence

PRECISIONS = ("fp32", "bf16")


def _dtype(precision: str):
    import torch

    return torch.bfloat16 if precision == "bf16" else torch.float32


def matmul_gflops(precision: str, threads: int, n: int = 1024, reps: int = 3) -> float:
    """Dense n x n matmul GFLOP/s with `threads` intra-op threads (best of `reps`)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        g = torch.Generator().manual_seed(0)
        a = torch.randn(n, n, generator=g).to(_dtype(precision))
        b = torch.randn(n, n, generator=g).to(_dtype(precision))
        torch.mm(a, b)
        best = math.inf
        for _ in range(reps):
            t0 = time.perf_counter()
            torch.mm(a, b)
            best = min(best, time.perf_counter() - t0)
        return 2 * n**3 / best / 1e9
    finally:
        torch.set_num_threads(before)


class _Bench:
    """The encoder, a linear head and fused AdamW on fixed random token ids."""

    def __init__(self, encoder, batch: int, seq: int) -> None:
        import torch

        self.encoder = encoder
        vocab = int(encoder.config.vocab_size)
        g = torch.Generator().manual_seed(0)
        self.ids = torch.randint(5, max(6, vocab - 1), (batch, seq), generator=g)
        self.mask = torch.ones_like(self.ids)
        self.labels = torch.randint(0, 3, (batch,), generator=g)
        self.head = torch.nn.Linear(int(encoder.config.hidden_size), 3)
        encoder.get_input_embeddings().weight.requires_grad_(False)
        params = [p for p in list(encoder.parameters()) + list(self.head.parameters()) if p.requires_grad]
        try:
            self.opt = torch.optim.AdamW(params, lr=1e-6, fused=True)
        except (RuntimeError, TypeError, ValueError):
            self.opt = torch.optim.AdamW(params, lr=1e-6, foreach=True)

    def _loss(self, ids, mask, labels, precision: str):
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            emb = self.encoder.get_input_embeddings()(ids)
            hidden = self.encoder(inputs_embeds=emb, attention_mask=mask).last_hidden_state
            return torch.nn.functional.cross_entropy(self.head(hidden[:, 0]).float(), labels)

    def step(self, precision: str) -> None:
        self.encoder.train()
        self._loss(self.ids, self.mask, self.labels, precision).backward()
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)

    def forward(self, precision: str) -> None:
        import torch

        self.encoder.eval()
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            self.encoder(inputs_embeds=self.encoder.get_input_embeddings()(self.ids), attention_mask=self.mask)
        self.encoder.train()

    def step_flops(self) -> float:
        """Matmul/attention FLOPs of one step (FlopCounterMode on a 2-row batch, scaled to the batch)."""
        from torch.utils.flop_counter import FlopCounterMode

        counter = FlopCounterMode(display=False)
        with counter:
            self._loss(self.ids[:2], self.mask[:2], self.labels[:2], "fp32").backward()
        self.opt.zero_grad(set_to_none=True)
        return counter.get_total_flops() * self.ids.shape[0] / 2


def _timed(fn, threads: int, reps: int, warm: bool = True) -> float:
    """Best wall time of fn() over `reps` (after one warm-up call when `warm`), with `threads` threads."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        if warm:
            fn()
        best = math.inf
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        return best
    finally:
        torch.set_num_threads(before)


def _side_by_side_worker(model: Optional[str], precision: str, threads: int, batch: int, seq: int, reps: int,
                         barrier, results) -> None:
    """One of the processes of `side_by_side`: load the encoder, warm up, then time the step and the
    forward with `threads` threads, starting each together with the other processes (the barrier)."""
    import torch

    from xlt_claims.experiments.models import DEFAULT_MODEL, load_encoder

    torch.set_num_threads(threads)
    try:
        encoder, _ = load_encoder(model or DEFAULT_MODEL, device="cpu")
        bench = _Bench(encoder, batch, seq)
        bench.step(precision)
        bench.forward(precision)
        barrier.wait(timeout=600)
        step = _timed(lambda: bench.step(precision), threads, reps, warm=False)
        barrier.wait(timeout=600)
        fwd = _timed(lambda: bench.forward(precision), threads, reps, warm=False)
        results.put(("ok", step, fwd))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which records it as not measured
        barrier.abort()
        results.put(("error", f"{type(exc).__name__}: {exc}", None))


def side_by_side(model: Optional[str], precision: str, procs: int = 2, threads: int = 1, *, batch: int = 16,
                 seq: int = 64, reps: int = 2, timeout_s: float = 900.0) -> dict[str, Any]:
    """Step and forward seconds of `procs` processes (`threads` threads each) running at the same time; the
    slowest process's best time is reported (it bounds a batch of runs). Fresh processes (spawn): the
    measuring process's torch threads are not theirs."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(procs)
    results = ctx.Queue()
    workers = [ctx.Process(target=_side_by_side_worker, args=(model, precision, threads, batch, seq, reps, barrier, results),
                           daemon=True) for _ in range(procs)]
    for w in workers:
        w.start()
    got = []
    try:
        for _ in workers:
            got.append(results.get(timeout=timeout_s))
    except queue_mod.Empty:
        got.append(("error", f"no result within {timeout_s:.0f} s", None))
    finally:
        for w in workers:
            w.join(timeout=5)
            if w.is_alive():
                w.terminate()
    errors = [g[1] for g in got if g[0] != "ok"]
    if errors:
        return {"procs": procs, "threads": threads, "error": errors[0]}
    return {"procs": procs, "threads": threads, "step_s": round(max(g[1] for g in got), 4),
            "forward_s": round(max(g[2] for g in got), 4)}


def calibrate(model: Optional[str] = None, *, threads: Sequence[int] = (1, 2), precisions: Sequence[str] = PRECISIONS,
              batch: int = 16, seq: int = 64, reps: int = 1, bf16_gate: float = 0.6, encoder: Any = None,
              progress: Any = None, side_by_side_procs: int = 0, side_by_side_threads: int = 1) -> dict[str, Any]:
    """Measure matmul throughput, a training step and an inference forward of the encoder for every
    precision x thread count. `encoder` may be passed in (tests); else `model` (default: the bundled
    offline encoder) is loaded on the CPU. `progress(stage, i, n)` is called between measurements."""
    import torch

    from xlt_claims.experiments.models import DEFAULT_MODEL, load_encoder

    t_all = time.perf_counter()
    threads = sorted({max(1, int(t)) for t in threads})
    out: dict[str, Any] = {"shape": {"batch": batch, "seq": seq}, "threads": threads, "matmul_gflops": {},
                           "step_s": {}, "forward_s": {}, "skipped": {}}
    todo = [(p, t) for p in precisions for t in threads]
    for i, (p, t) in enumerate(todo):
        out["matmul_gflops"].setdefault(p, {})[str(t)] = round(matmul_gflops(p, t, n=256 if p == "bf16" else 1024), 2)
    # emulated bf16 (no avx512_bf16 / AMX) is two orders of magnitude slower: measure it at the small size
    # first and go to the full size only where it competes
    for p in precisions:
        if p == "fp32":
            continue
        small32 = max(matmul_gflops("fp32", t, n=256) for t in threads)
        best_p = max(out["matmul_gflops"][p].values())
        if best_p < bf16_gate * small32:
            out["skipped"][p] = (f"{p} matmul {best_p:.1f} GFLOP/s < {bf16_gate} x fp32 {small32:.1f} GFLOP/s "
                                 "(no native support: emulated)")
        else:
            out["matmul_gflops"][p] = {str(t): round(matmul_gflops(p, t), 2) for t in threads}
    t0 = time.perf_counter()
    if encoder is None:
        encoder, _ = load_encoder(model or DEFAULT_MODEL, device="cpu")
    out["load_s"] = round(time.perf_counter() - t0, 2)
    bench = _Bench(encoder, batch, seq)
    out["step_flops"] = bench.step_flops()
    runs = [(p, t) for p in precisions if p not in out["skipped"] for t in threads]
    for i, (p, t) in enumerate(runs):
        if progress:
            progress("calibrate", i, len(runs))
        warm = t == threads[0]  # the first thread count of a precision warms its kernels for the others
        out["step_s"].setdefault(p, {})[str(t)] = round(_timed(lambda: bench.step(p), t, reps, warm), 4)
        out["forward_s"].setdefault(p, {})[str(t)] = round(_timed(lambda: bench.forward(p), t, reps, warm), 4)
    if side_by_side_procs > 1 and out["step_s"]:
        # side by side at the precision whose best step is fastest (the one a run will use)
        fastest = min(out["step_s"], key=lambda p: min(out["step_s"][p].values()))
        if progress:
            progress("calibrate", len(runs), len(runs) + 1)
        out["side_by_side"] = {fastest: side_by_side(model, fastest, side_by_side_procs, side_by_side_threads,
                                                      batch=batch, seq=seq)}
    if progress:
        progress("calibrate", len(runs) + 1, len(runs) + 1)
    out["torch"] = torch.__version__
    out["seconds"] = round(time.perf_counter() - t_all, 1)
    return out


# ------------------------------------------------------------------------------ a run's recipe
# The estimate's frozen share is K over the calibration encoder's layers (multilingual-e5-small: 12; mBERT and
# XLM-R base have 12 too); a deeper model's K / L would be smaller, so its estimate errs long.
ESTIMATE_LAYERS = 12


def run_work(task, profile: str, overrides: Optional[dict[str, Any]] = None) -> Optional[dict[str, Any]]:
    """What one run of `task` under `profile` + `overrides` computes, independent of the machine: optimizer
    steps, examples per step, the typical sequence length, and the examples evaluated (dev at every
    evaluation, every test language, every language pair). Lengths are estimated from characters
    (about 4 per token, capped at max_length) so no tokenizer is loaded. None when the settings do not
    resolve (the run itself reports why)."""
    from xlt_claims.experiments.profiles import ProfileError, resolve_profile

    try:
        cfg = resolve_profile(profile, task.name, task.task_type, overrides)
    except ProfileError:
        return None

    def cap(n: int, c: Optional[int]) -> int:
        return min(n, int(c)) if c else n

    n_train = cap(len(task.train), cfg["max_train_examples"])
    bs = int(cfg["batch_size"]) * int(cfg["grad_accum"])
    steps = max(1, n_train // bs) * int(cfg["epochs"])
    if cfg["max_steps"]:
        steps = min(steps, int(cfg["max_steps"])) if cfg["epochs"] else int(cfg["max_steps"])
    n_dev = cap(len(task.dev), cfg["max_dev_examples"])
    per_epoch = max(1, n_train // bs)
    n_evals = math.ceil(steps / int(cfg["eval_every"] or per_epoch)) if n_dev else 0
    n_test = sum(cap(len(v), cfg["max_test_examples"]) for v in task.test.values())
    n_pairs = sum(cap(len(v), cfg["max_pair_examples"]) for v in (task.test_pairs or {}).values())
    if cfg["max_pair_examples_total"]:
        n_pairs = min(n_pairs, int(cfg["max_pair_examples_total"]))
    max_len = int(cfg["max_length"])
    length = typical_tokens(task.train[:200], max_len)
    # evaluated texts are other languages: their own length (Japanese or Hindi take more tokens per character)
    evaluated = [(n_dev * n_evals, task.dev[:200])] + [
        (cap(len(v), cfg["max_test_examples"]), v[:50]) for v in task.test.values()]
    if n_pairs:
        evaluated.append((n_pairs, [e for v in (task.test_pairs or {}).values() for e in v[:10]]))
    weight = sum(n for n, items in evaluated if items)
    eval_length = (sum(n * typical_tokens(items, max_len) for n, items in evaluated if items) / weight
                   if weight else length)
    work = {"steps": steps, "batch": bs, "length": length, "eval_length": round(eval_length, 1),
            "eval_examples": n_dev * n_evals + n_test + n_pairs, "profile": profile}
    k = int(cfg.get("freeze_layers") or 0)
    if k:  # frozen bottom layers: see machine.estimate_run_s for how the estimate reads these
        work.update(frozen_fraction=round(min(1.0, k / ESTIMATE_LAYERS), 4),
                    distinct_train=min(steps * bs, n_train), repeated_dev=n_dev * max(0, n_evals - 1))
    return work


# characters per subword token by script (e5 / XLM-R SentencePiece, measured on the LOGT and PAWS-X test
# sets); anything else: 3
_CHARS_PER_TOKEN = ((0x0000, 0x058F, 4.0),  # Latin, Greek, Cyrillic, Armenian
                    (0x0F00, 0x0FFF, 5.0),  # Tibetan (Dzongkha)
                    (0x1200, 0x139F, 2.0),  # Ethiopic (Amharic)
                    (0x3040, 0x30FF, 1.5),  # kana
                    (0x3400, 0x9FFF, 1.25),  # Han
                    (0xAC00, 0xD7AF, 1.5),  # Hangul
                    (0xF900, 0xFAFF, 1.25))


@functools.lru_cache(maxsize=1 << 16)  # every arm of every experiment plans over the same task texts
def approx_tokens(text: str) -> float:
    """Subword tokens of a text without loading a tokenizer, from characters per token by script
    (within about 20% of the real count per language on the LOGT and PAWS-X test sets)."""
    if text.isascii():
        return len(text) / _CHARS_PER_TOKEN[0][2]
    n = 0.0
    for ch in text:
        o = ord(ch)
        n += 1.0 / next((c for lo, hi, c in _CHARS_PER_TOKEN if lo <= o <= hi), 3.0)
    return n


def typical_tokens(examples, max_length: int) -> float:
    """Mean token length of these examples (both texts of a pair, plus special tokens), capped at max_length."""
    lengths = [min(max_length, approx_tokens(e.text) + approx_tokens(e.text_pair or "") + 4) for e in examples]
    return max(8.0, sum(lengths) / len(lengths)) if lengths else float(min(max_length, 54))
