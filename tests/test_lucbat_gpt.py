"""Lesson 33's library part: the poem's split, the baselines, sampling and scoring couplets, the shipped models."""

import pytest
import torch

from minigpt_lib import GPT, CharTokenizer, GPTConfig, load_corpus
from minigpt_lib import lucbat_gpt as lg

KIEU = load_corpus("truyen_kieu")
FIRST = KIEU.splitlines()[:5]


def test_split_is_at_a_couplet_boundary():
    train, val = lg.split_poem()
    assert train + val == KIEU
    assert len(train.splitlines()) % 2 == 0 and train.endswith("\n")
    assert 0.08 < len(val.splitlines()) / len(KIEU.splitlines()) < 0.12


def test_bigram_is_a_distribution_over_next_characters():
    tok = CharTokenizer(KIEU)
    bigram = lg.CharBigram(tok, KIEU[:5000])
    torch.testing.assert_close(bigram.log_probs.exp().sum(1), torch.ones(tok.n_vocab))
    idx = torch.tensor([tok.encode("Trăm năm")])
    logits, loss = bigram(idx[:, :-1], idx[:, 1:])
    assert logits.shape == (1, idx.size(1) - 1, tok.n_vocab) and loss.item() > 0


def test_poem_index_counts_copies_whatever_case_and_punctuation():
    index = lg.PoemIndex("\n".join(FIRST))
    assert index.is_verbatim("trăm năm trong cõi người ta")
    assert not index.is_verbatim("Trăm năm trong cõi người")
    assert index.longest_copied_run("xyz trăm năm trong cõi abc") == 4
    assert index.ngram_overlap("Trăm năm trong cõi người ta") == 1.0
    assert index.ngram_overlap("ta người cõi trong năm trăm") == 0.0


def test_a_sample_is_checked_on_its_first_two_couplets():
    good = "\n".join(FIRST) + "\n"
    checks = lg.sample_checks(good)
    assert len(checks) == lg.COUPLETS_PER_SAMPLE and all(c.ok for c in checks)
    short = "\n".join(FIRST[:3]) + "\nunfinished"
    checks = lg.sample_checks(short)
    assert checks[0].ok and not checks[1].ok and checks[1].broken == {"length"}
    scores = lg.score_samples([good, short], lg.PoemIndex())
    assert scores["pass_rate"] == 0.75 and scores["verbatim_line_share"] == 1.0
    assert list(scores["ladder"]) == list(lg.RULES) and scores["ladder"]["next_rhyme"] == 0.75


def test_sampling_continues_every_prompt():
    tok = CharTokenizer(KIEU)
    model = GPT(GPTConfig(vocab_size=tok.n_vocab, block_size=256, n_layer=1, n_head=1, n_embd=8))
    prompts = lg.couplet_prompts(KIEU, 3, seed=0)
    assert all(p.endswith("\n") and len(p.splitlines()) == 4 for p in prompts)
    outs = lg.sample_continuations(model, tok, prompts, temperature=1.0, seed=0)
    assert len(outs) == 3 and all(len(o) == 180 for o in outs)  # 180 new characters: room for 5 lines
    assert outs == lg.sample_continuations(model, tok, prompts, temperature=1.0, seed=0), (
        "seeded: reproducible"
    )


@pytest.mark.parametrize("kind", lg.KINDS)
def test_shipped_models_load_and_match_their_tokenizer(kind):
    model, tok, info = lg.load_model(kind)
    assert model.config.vocab_size == tok.n_vocab and info["tokenizer"] == kind
    train, _ = lg.split_poem()
    assert tok.encode(KIEU[:300]) == lg.make_tokenizer(kind, train).encode(KIEU[:300])
    assert tok.decode(tok.encode(KIEU[:300])) == KIEU[:300]


def test_stored_results_cover_models_and_baselines():
    results = lg.stored_results()
    assert {"char", "bpe", "bigram", "untrained", "truyen_kieu_val"} <= set(results["models"])
    for kind in lg.KINDS:
        assert [str(t) for t in results["temperatures"]] == [
            k for k in results["models"][kind] if k != "info"
        ]
    with pytest.raises(ValueError, match="Unknown model kind"):
        lg.load_model("word")
