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


def test_verifier_keeps_the_first_acceptable_line_and_counts_tries():
    good = FIRST  # Truyện Kiều's first five lines: every couplet passes the checker
    bad = "một hai ba bốn năm sáu bảy"  # 7 syllables: never a lục or bát line
    calls = []

    # A fake model: for each line, two bad candidates, then the poem's next line, then bad ones.
    def propose(context, n):
        given = sum(n_asked for c, n_asked in calls if c == context)
        calls.append((context, n))
        k = context.count("\n") - 1  # lines written after the one-line prompt
        return ([bad, bad, good[k]] + [bad] * 99)[given : given + n]

    prompt = "Lời quê chắp nhặt dông dài,\n"
    poem = lg.generate_with_verifier(propose, prompt, n_lines=5, max_tries=8, batch=2)
    assert poem.lines == good and poem.accepted == [True] * 5 and poem.tries == [3] * 5
    assert calls[2][0] == prompt + good[0] + "\n" and all(n == 2 for _, n in calls)
    assert all(c.ok for c in lg.sample_checks(poem.text))


def test_verifier_rejects_lines_that_break_a_decidable_rule():
    luc, bat = FIRST[0], FIRST[1]
    assert lg.line_is_acceptable(luc, []) and lg.line_is_acceptable(bat, [luc])
    # a bát line whose 6th syllable does not rhyme with lục[6]
    assert not lg.line_is_acceptable(FIRST[3], [luc])
    assert not lg.line_is_acceptable(bat, [])  # 8 syllables where a lục is due
    assert lg.line_is_acceptable(FIRST[2], [luc, bat]) and not lg.line_is_acceptable(FIRST[4], [luc, bat])


def test_verifier_keeps_the_last_candidate_when_none_passes():
    poem = lg.generate_with_verifier(lambda c, n: ["sai luật"] * n, "", n_lines=2, max_tries=5, batch=4)
    assert poem.lines == ["sai luật"] * 2 and poem.accepted == [False, False] and poem.tries == [5, 5]
    assert not any(c.ok for c in lg.sample_checks(poem.text))
    with pytest.raises(ValueError, match="newline"):
        lg.generate_with_verifier(lambda c, n: ["x"] * n, "no newline")


def test_line_proposer_returns_n_lines_from_a_model():
    tok = CharTokenizer(KIEU)
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tok.n_vocab, block_size=32, n_layer=1, n_head=1, n_embd=8)).eval()
    lines = lg.line_proposer(model, tok, 1.0, torch.Generator().manual_seed(0), max_line_tokens=8)(
        FIRST[0] + "\n", 3
    )
    assert len(lines) == 3 and all(isinstance(x, str) and "\n" not in x for x in lines)
