import pytest
import tiktoken
import tiktoken_ext.openai_public as openai_public

from minigpt_lib import CharTokenizer, gpt2_tokenizer
from minigpt_lib._files import SHA256, sha256_of, verified_path
from minigpt_lib.tokenizer import ENDOFTEXT_ID, GPT2_PATTERN, load_ranks

SAMPLES = [
    "Hello, world! It's GPT-2's tokenizer.",
    "Trăm năm trong cõi người ta, chữ tài chữ mệnh khéo là ghét nhau.",
    "Tiếng Việt có dấu: ắ ằ ẳ ẵ ặ, Đ đ, ươ ƯƠ",
    "emoji 🚀🔥👩‍👩‍👧 and CJK 漢字 かな",
    "def f(x):\n    return x ** 2  # code\n\n\n\tindent\r\n",
    "   leading and trailing spaces   ",
    "numbers 1234567890 3.14159 1e-5",
    "",
]


def test_ranks_file_is_the_published_one():
    path = verified_path("gpt2.tiktoken")
    assert sha256_of(path) == SHA256["gpt2.tiktoken"]
    # tiktoken's own expected hash for r50k_base (the GPT-2 ranks) is this file's sha256.
    assert "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930" == SHA256["gpt2.tiktoken"]
    ranks = load_ranks()
    assert len(ranks) == 50256
    assert sorted(ranks.values()) == list(range(50256))


def test_vocabulary_and_special_token():
    enc = gpt2_tokenizer()
    assert enc.n_vocab == 50257
    assert enc.eot_token == ENDOFTEXT_ID == 50256
    assert enc.encode("<|endoftext|>", allowed_special="all") == [50256]
    with pytest.raises(ValueError):
        enc.encode("<|endoftext|>")  # special tokens are refused unless allowed, as in tiktoken


def test_pattern_is_tiktokens():
    assert GPT2_PATTERN == openai_public.r50k_pat_str


def reference_encoding(tmp_path, monkeypatch) -> tiktoken.Encoding:
    """tiktoken's own r50k_base (= gpt2 ranks), loaded from its cache directory filled with our file."""
    import hashlib
    import shutil

    url = "https://openaipublic.blob.core.windows.net/encodings/r50k_base.tiktoken"
    shutil.copy(verified_path("gpt2.tiktoken"), tmp_path / hashlib.sha1(url.encode()).hexdigest())
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    return tiktoken.Encoding(**openai_public.r50k_base())


@pytest.mark.parametrize("text", SAMPLES)
def test_encodes_exactly_like_tiktoken(text, tmp_path, monkeypatch):
    ref = reference_encoding(tmp_path, monkeypatch)
    enc = gpt2_tokenizer()
    assert enc.encode(text) == ref.encode(text)
    assert enc.decode(enc.encode(text)) == text


def test_known_ids():
    # Ids published with GPT-2 (also what tiktoken.get_encoding("gpt2") gives).
    assert gpt2_tokenizer().encode("Hello world") == [15496, 995]


def test_corpora_round_trip():
    from minigpt_lib import load_corpus

    enc = gpt2_tokenizer()
    text = load_corpus("truyen_kieu")[:5000]
    assert enc.decode(enc.encode(text)) == text


def test_char_tokenizer():
    tok = CharTokenizer.from_text("hello world")
    assert tok.n_vocab == len(set("hello world"))
    assert tok.decode(tok.encode("lower hello")[:0]) == ""
    assert tok.decode(tok.encode("hello")) == "hello"
    with pytest.raises(ValueError, match="not in this tokenizer"):
        tok.encode("xyz")
    with pytest.raises(ValueError, match="outside"):
        tok.decode([999])
    with pytest.raises(ValueError, match="empty"):
        CharTokenizer("")
