import pytest
import torch

from minigpt_lib import (
    CompactVocab,
    SlidingWindowDataset,
    get_batch,
    gpt2_tokenizer,
    load_corpus,
    train_val_split,
)
from minigpt_lib._files import SHA256, sha256_of, verified_path
from minigpt_lib.data import CORPORA


@pytest.mark.parametrize("name", list(CORPORA))
def test_corpora_are_shipped_and_verified(name):
    path = verified_path(CORPORA[name])
    assert sha256_of(path) == SHA256[CORPORA[name]]
    assert len(load_corpus(name)) > 100_000


def test_corpus_facts():
    assert len(load_corpus("timemachine")) == 179_693
    assert len(load_corpus("tinyshakespeare").encode()) == 1_115_394
    assert len(load_corpus("truyen_kieu").splitlines()) == 3_254
    assert len(gpt2_tokenizer().encode(load_corpus("timemachine"))) == 45_261


def test_unknown_corpus():
    with pytest.raises(ValueError, match="Choose one of"):
        load_corpus("wikipedia")


def test_split():
    t = torch.arange(100)
    train, val = train_val_split(t, 0.1)
    assert len(train) == 90 and len(val) == 10
    assert torch.equal(torch.cat([train, val]), t)
    with pytest.raises(ValueError):
        train_val_split(t, 1.5)


def test_sliding_windows():
    t = torch.arange(20)
    ds = SlidingWindowDataset(t, seq_len=5, stride=3)
    assert len(ds) == 5  # starts 0, 3, 6, 9, 12 (each needs 6 tokens)
    for i in range(len(ds)):
        x, y = ds[i]
        assert torch.equal(x, t[3 * i : 3 * i + 5])
        assert torch.equal(y, x + 1)
    with pytest.raises(IndexError):
        ds[len(ds)]
    with pytest.raises(ValueError, match="too few"):
        SlidingWindowDataset(torch.arange(5), seq_len=5)


def test_random_batches_are_shifted_windows():
    t = torch.arange(1000)
    g = torch.Generator().manual_seed(0)
    x, y = get_batch(t, batch_size=8, seq_len=16, generator=g)
    assert x.shape == y.shape == (8, 16)
    assert torch.equal(y, x + 1)
    x2, _ = get_batch(t, 8, 16, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, x2)


def test_compact_vocab():
    ids = torch.tensor([50256, 7, 7, 123, 50256])
    cv = CompactVocab(ids)
    assert cv.size == 3
    compact = cv.compact(ids)
    assert compact.tolist() == [2, 0, 0, 1, 2]
    assert torch.equal(cv.expand(compact), ids)
    with pytest.raises(ValueError, match="does not occur"):
        cv.compact([8])
    assert CompactVocab(gpt2_tokenizer().encode(load_corpus("timemachine"))).size == 6_018
