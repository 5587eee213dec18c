"""Helpers for the end-to-end tests of the real-data path (tests/test_real_path*.py): small slices of the
real benchmark files written in the official release layouts, and tiny random encoders saved to disk
(loadable by path, no network).

Slices (`write_real_slices(root)`), every text taken from the real files:

  pawsx/x-final/<lang>/{dev_2k,test_2k}.tsv + en/train.tsv   PAWS-X official release (header id, sentence1,
                                                              sentence2, label), from the embedded copy
  xnli/XNLI-1.0/xnli.{dev,test}.tsv                           XNLI official release (language, gold_label,
                                                              sentence1, sentence2, pairID), from
                                                              ../shared/realdata/xnli (never embedded)
  xquad/xquad.<lang>.json + tydiqa/tydiqa.goldp.en.train.json SQuAD v1.1 JSON, from the embedded copies
  tatoeba/tatoeba.<xxx>-eng.{xxx,eng}                         LASER v1 aligned lines, embedded copy

Models: `make_tiny_bert` (BertModel with a pooler and a WordPiece tokenizer, so token_type_ids, the pooler
and cross-encoded pairs run) and `make_tiny_xlmr` (XLMRobertaModel with a Unigram tokenizer and XLM-R's
special tokens: no token_type_ids, "<s> a </s></s> b </s>" pairs). Both are trained on the slices' texts
only, random weights, 12 layers (as mBERT, so the fusion arms at layers 3, 6 and 9 exist) of width 32.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Optional

from xlt_claims.experiments.data.real import PAWSX_LANGS, PAWSX_LABELS, TATOEBA_CODES, XNLI_LANGS, XQUAD_LANGS
from xlt_claims.experiments.data.sources import EmbeddedSource, embedded_manifest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "realdata"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/realdata")
XNLI_SHARED = SHARED / "xnli"
HAVE_XNLI = (XNLI_SHARED / "test-labels.txt").is_file()
XNLI_SKIP = f"XNLI is CC BY-NC and never ships; its copy {XNLI_SHARED} is absent"
XNLI_NAMES = ["entailment", "neutral", "contradiction"]


def _embedded(name: str) -> EmbeddedSource:
    return EmbeddedSource(name, embedded_manifest())


def _lines(text: str) -> list[str]:
    return [ln for ln in text.split("\n") if ln.strip()]


def _tsv(path: Path, header: Optional[list[str]], rows: Iterable[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = (["\t".join(header)] if header else []) + ["\t".join(r) for r in rows]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def _balanced(rows: list[list[str]], n: int, label_of) -> list[int]:
    """Row indices: the first n // k rows of each of the k labels, in file order."""
    by: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by.setdefault(label_of(r), []).append(i)
    keep = sorted(i for ix in by.values() for i in ix[: max(1, n // len(by))])
    return keep


def write_pawsx(root: Path, n_test: int = 12, n_dev: int = 12, n_train: int = 16) -> list[str]:
    """x-final/<lang>/{dev_2k,test_2k}.tsv (+ en/train.tsv) from the embedded PAWS-X and PAWS-Wiki files."""
    src = _embedded("pawsx")
    head = ["id", "sentence1", "sentence2", "label"]
    labels = [r.split("\t") for r in _lines(src.read_text("test-labels.tsv"))[1:]]
    keep = _balanced(labels, n_test, lambda r: r[1])
    texts: list[str] = []
    for lg in PAWSX_LANGS:
        col = {"en": 1, "de": 2, "ko": 3, "zh": 4}.get(lg, 1)
        test = [r.split("\t") for r in _lines(src.read_text(f"test-{lg}.tsv"))]
        rows = [[labels[i][0], test[i][0], test[i][1], labels[i][col]] for i in keep]
        _tsv(root / "x-final" / lg / "test_2k.tsv", head, rows)
        dev = [r.split("\t") for r in _lines(src.read_text(f"dev-{lg}.tsv"))]
        drows = [[str(i + 1), *dev[i][:3]] for i in _balanced(dev, n_dev, lambda r: r[2])]
        _tsv(root / "x-final" / lg / "dev_2k.tsv", head, drows)
        texts += [t for r in rows + drows for t in r[1:3]]
    wiki = [r.split("\t") for r in _lines(src.read_text("paws-wiki-en/test.tsv"))]
    if wiki and wiki[0][0] == "id":
        wiki = wiki[1:]
    trows = [r[:4] for r in (wiki[i] for i in _balanced(wiki, n_train, lambda r: r[3]))]
    _tsv(root / "x-final" / "en" / "train.tsv", head, trows)
    return texts + [t for r in trows for t in r[1:3]]


def write_xnli(root: Path, n_premises: int = 14, n_test: int = 18) -> list[str]:
    """XNLI-1.0/xnli.{dev,test}.tsv (official columns) from ../shared/realdata/xnli (XTREME layout)."""
    head = ["language", "gold_label", "sentence1", "sentence2", "pairID"]
    gold = _lines((XNLI_SHARED / "test-labels.txt").read_text(encoding="utf-8"))
    keep = _balanced([[g] for g in gold], n_test, lambda r: r[0])
    dev_rows, test_rows, texts = [], [], []
    for lg in XNLI_LANGS:
        dev = [r.split("\t") for r in _lines((XNLI_SHARED / f"dev-{lg}.tsv").read_text(encoding="utf-8"))]
        for i in range(3 * n_premises):
            dev_rows.append([lg, dev[i][2], dev[i][0], dev[i][1], f"dev{i}"])
        test = [r.split("\t") for r in _lines((XNLI_SHARED / f"test-{lg}.tsv").read_text(encoding="utf-8"))]
        for i in keep:
            test_rows.append([lg, gold[i], test[i][0], test[i][1], f"test{i}"])
    _tsv(root / "XNLI-1.0" / "xnli.dev.tsv", head, dev_rows)
    _tsv(root / "XNLI-1.0" / "xnli.test.tsv", head, test_rows)
    return texts + [t for r in dev_rows + test_rows for t in r[2:4]]


def _squad(paragraphs: list[dict]) -> dict:
    return {"version": "1.1", "data": [{"title": "slice", "paragraphs": paragraphs}]}


def write_xquad(root: Path, n_paragraphs: int = 1, n_train: int = 48) -> list[str]:
    """xquad.<lang>.json (the first paragraphs of the first article, every language) and
    tydiqa.goldp.en.train.json (the first n_train questions) from the embedded copies."""
    texts: list[str] = []
    src = _embedded("xquad")
    for lg in XQUAD_LANGS:
        d = json.loads(src.read_text(f"xquad.{lg}.json"))
        paras = d["data"][0]["paragraphs"][:n_paragraphs]
        (root / "xquad").mkdir(parents=True, exist_ok=True)
        (root / "xquad" / f"xquad.{lg}.json").write_text(json.dumps(_squad(paras), ensure_ascii=False, indent=1),
                                                         encoding="utf-8")
        texts += [p["context"] for p in paras] + [q["question"] for p in paras for q in p["qas"]]
    d = json.loads(_embedded("tydiqa").read_text("tydiqa.goldp.en.train.json"))
    paras, n = [], 0
    for art in d["data"]:
        for p in art["paragraphs"]:
            if n >= n_train:
                break
            paras.append(p)
            n += len(p["qas"])
    (root / "tydiqa").mkdir(parents=True, exist_ok=True)
    (root / "tydiqa" / "tydiqa.goldp.en.train.json").write_text(json.dumps(_squad(paras), ensure_ascii=False),
                                                                encoding="utf-8")
    return texts + [p["context"] for p in paras] + [q["question"] for p in paras for q in p["qas"]]


def write_tatoeba(root: Path, n: int = 16) -> list[str]:
    src = _embedded("tatoeba")
    texts: list[str] = []
    for lg, code in TATOEBA_CODES.items():
        for side in (code, "eng"):
            rel = f"tatoeba.{code}-eng.{side}"
            lines = _lines(src.read_text(rel))[:n]
            (root / "tatoeba").mkdir(parents=True, exist_ok=True)
            (root / "tatoeba" / rel).write_text("\n".join(lines) + "\n", encoding="utf-8")
            texts += lines
    return texts


def write_real_slices(root: Path, xnli: bool = HAVE_XNLI) -> tuple[Path, list[str]]:
    """Every real set's slice under root (one folder per set, as `--data root` finds them); the texts."""
    root = Path(root)
    texts = write_pawsx(root / "pawsx") + write_xquad(root) + write_tatoeba(root)
    if xnli:
        texts += write_xnli(root / "xnli")
    return root, texts


def make_tiny_bert(path: Path, texts: list[str], seed: int = 0) -> str:
    """A 12-layer, 32-wide random BertModel (with its pooler) and a WordPiece tokenizer trained on `texts`."""
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    path = Path(path)
    if (path / "config.json").exists():
        return str(path)
    path.mkdir(parents=True, exist_ok=True)
    wp = BertWordPieceTokenizer(lowercase=False, strip_accents=False)
    wp.train_from_iterator(texts, vocab_size=3000, min_frequency=1, limit_alphabet=800)
    tok = BertTokenizerFast(tokenizer_object=wp._tokenizer, unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]",
                            cls_token="[CLS]", mask_token="[MASK]", do_lower_case=False, model_max_length=256)
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=12, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=256, type_vocab_size=2, pad_token_id=0)
    torch.manual_seed(seed)
    BertModel(cfg).save_pretrained(path)  # with the pooler (add_pooling_layer=True)
    tok.save_pretrained(path)
    return str(path)


def make_tiny_xlmr(path: Path, texts: list[str], seed: int = 0) -> str:
    """A 12-layer, 32-wide random XLMRobertaModel and a Unigram tokenizer with XLM-R's special tokens."""
    import torch
    from tokenizers import SentencePieceUnigramTokenizer, processors
    from transformers import XLMRobertaConfig, XLMRobertaModel, XLMRobertaTokenizerFast

    path = Path(path)
    if (path / "config.json").exists():
        return str(path)
    path.mkdir(parents=True, exist_ok=True)
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    sp = SentencePieceUnigramTokenizer()
    sp.train_from_iterator(texts, vocab_size=3000, special_tokens=specials, unk_token="<unk>")
    raw = sp._tokenizer
    raw.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", raw.token_to_id("<s>")), ("</s>", raw.token_to_id("</s>"))])
    tok = XLMRobertaTokenizerFast(tokenizer_object=raw, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                  cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
                                  model_max_length=256)
    cfg = XLMRobertaConfig(vocab_size=raw.get_vocab_size(), hidden_size=32, num_hidden_layers=12, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=260, type_vocab_size=1,
                           pad_token_id=raw.token_to_id("<pad>"), bos_token_id=raw.token_to_id("<s>"),
                           eos_token_id=raw.token_to_id("</s>"))
    torch.manual_seed(seed)
    XLMRobertaModel(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)
