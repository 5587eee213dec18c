"""Batches for the train loop: seeded caps on the data, length-grouped batch order, and padding
token ids into tensors (dynamic padding: each batch is as long as its longest member)."""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

__all__ = ["collate", "eval_batches", "half_lengths", "id_ranking", "length_grouped_batches", "sequences", "subsample",
           "subsample_parallel"]


def subsample(items: list, cap: Optional[int], rng) -> list:
    """At most `cap` items, a seeded sample kept in the original order."""
    if cap is None or len(items) <= cap:
        return list(items)
    idx = sorted(rng.choice(len(items), size=int(cap), replace=False).tolist())
    return [items[i] for i in idx]


def id_ranking(sets: Sequence[dict[str, list]], rng) -> dict[str, int]:
    """One seeded ranking of every example id found in `sets` (dicts of language or pair -> items)."""
    ids = sorted({e.id for d in sets for v in d.values() for e in v})
    return {ids[i]: r for r, i in enumerate(rng.permutation(len(ids)).tolist())}


def subsample_parallel(sets: dict[str, list], cap: Optional[int], rank: dict[str, int]) -> dict[str, list]:
    """Cap every set (a test language or language pair) at `cap` items, each keeping its best-ranked
    ids under ONE ranking (id_ranking), so parallel sets keep the SAME ids where they exist: languages
    are compared on the same items, not on different samples, and a bi-encoder evaluates each text once
    for the standard setting and every generalized pair it appears in. Items keep their order."""
    if cap is None or all(len(v) <= cap for v in sets.values()):
        return {k: list(v) for k, v in sorted(sets.items())}
    out = {}
    for k, items in sorted(sets.items()):
        keep = sorted(range(len(items)), key=lambda i: rank[items[i].id])[: int(cap)]
        out[k] = [items[i] for i in sorted(keep)]
    return out


def length_grouped_batches(lengths: Sequence[int], batch_size: int, rng, group_size: int = 64,
                           grouped: bool = True) -> list[list[int]]:
    """Shuffle, then sort chunks of `group_size` batches by length so each batch holds similar lengths
    (little padding), then shuffle the batch order. Deterministic given `rng` (numpy Generator)."""
    idx = rng.permutation(len(lengths)).tolist()
    if not grouped:
        return [idx[i : i + batch_size] for i in range(0, len(idx), batch_size)]
    chunk = max(batch_size * group_size, batch_size)
    batches: list[list[int]] = []
    for s in range(0, len(idx), chunk):
        part = sorted(idx[s : s + chunk], key=lambda i: -lengths[i])
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    order = rng.permutation(len(batches)).tolist()
    return [batches[i] for i in order]


def eval_batches(lengths: Sequence[int], max_rows: int, max_tokens: int, min_fill: float = 0.7) -> list[list[int]]:
    """Evaluation batches in descending length order: each holds at most `max_rows` rows and `max_tokens`
    padded tokens, and its shortest member is at least `min_fill` of its longest. Why: one batch of a
    whole test language is padded to its single longest text, and on short texts (UI strings, 17 tokens
    on average with a few of 64) most of the compute was padding. The batching does not change the
    predictions beyond floating-point rounding."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for i in order:
        if batches:
            cur = batches[-1]
            longest = max(1, lengths[cur[0]])
            if (len(cur) < max_rows and (len(cur) + 1) * longest <= max_tokens
                    and lengths[i] >= min_fill * longest):
                cur.append(i)
                continue
        batches.append([i])
    return batches


def sequences(f: dict) -> list:
    """The token sequences of one feature: one, or two for a bi-encoded pair."""
    return [f["input_ids"], f["pair_input_ids"]] if "pair_input_ids" in f else [f["input_ids"]]


def half_lengths(mask, half: int) -> tuple[int, int]:
    """Longest real length among the first `half` rows and among the rest (right-padded batch)."""
    return int(mask[:half].sum(1).max()), int(mask[half:].sum(1).max())


def collate(feats: Sequence[dict], pad_id: int, device, pad_multiple: int = 1) -> dict[str, Any]:
    """Pad into tensors. Bi-encoded pairs become one batch of 2B rows (B first texts, then B second
    texts), so the encoder and every embedding-level method see an ordinary batch; the head pairs them."""
    import torch

    bi = "pair_input_ids" in feats[0]
    seqs = [f["input_ids"] for f in feats] + ([f["pair_input_ids"] for f in feats] if bi else [])
    L = max(len(x) for x in seqs)
    if pad_multiple > 1:
        L = int(math.ceil(L / pad_multiple) * pad_multiple)
    B = len(seqs)
    ids = torch.full((B, L), pad_id, dtype=torch.long)
    mask = torch.zeros((B, L), dtype=torch.long)
    has_tt = "token_type_ids" in feats[0] and not bi
    tt = torch.zeros((B, L), dtype=torch.long) if has_tt else None
    for i, x in enumerate(seqs):
        n = len(x)
        ids[i, :n] = torch.tensor(x, dtype=torch.long)
        mask[i, :n] = 1
        if has_tt:
            tt[i, :n] = torch.tensor(feats[i]["token_type_ids"], dtype=torch.long)
    nb = device.type == "cuda"
    batch = {"input_ids": ids.to(device, non_blocking=nb), "attention_mask": mask.to(device, non_blocking=nb)}
    if has_tt:
        batch["token_type_ids"] = tt.to(device, non_blocking=nb)
    if bi:
        batch["pair_half"] = len(feats)
    if "label" in feats[0]:
        batch["labels"] = torch.tensor([f["label"] for f in feats], dtype=torch.long).to(device, non_blocking=nb)
    if "start_positions" in feats[0]:
        batch["start_positions"] = torch.tensor([f["start_positions"] for f in feats], dtype=torch.long).to(device)
        batch["end_positions"] = torch.tensor([f["end_positions"] for f in feats], dtype=torch.long).to(device)
    return batch
