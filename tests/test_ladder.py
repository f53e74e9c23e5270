"""The ladder: its stored results, its recipe's pieces, and the claims the ladder lessons assert."""

import math

import matplotlib
import pytest
import torch
import torch.nn.functional as F

import minigpt_lib as mg
from minigpt_lib import ladder

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def stored():
    return ladder.load_ladder()


def test_stored_ladder_describes_its_run(stored):
    assert list(stored["rungs"]) == ladder.RUNG_KEYS
    assert len(stored["seeds"]) >= 3
    assert stored["recipe"] == ladder.RECIPE, "the recipe changed: rerun benchmarks/ladder.py"
    for key, rung in stored["rungs"].items():
        assert len(rung["losses"]) == len(stored["seeds"]), key
        assert rung["min"] <= rung["mean"] <= rung["max"]
        assert math.isclose(rung["mean"], sum(rung["losses"]) / len(rung["losses"]))
    assert stored["date"] and stored["machine"]


def test_the_ladder_climbs_on_every_seed(stored):
    """What the lessons assert, checked on the stored benchmark: each rung from Model 3 up beats the one below."""
    rungs = stored["rungs"]
    floor = rungs["bigram"]["mean"]
    assert max(rungs["model1"]["losses"]) < floor + 0.02  # Model 1 reaches the floor
    assert min(rungs["model1"]["losses"]) > floor - 0.02  # and cannot go below it
    assert max(rungs["model2"]["losses"]) < rungs["model1"]["mean"] + 0.02  # Model 2 is no worse than Model 1
    assert rungs["model3"]["margin_below"] > 0.1  # attention: clearly below the floor
    for key in ("model4", "multihead", "gpt"):
        assert rungs[key]["margin_below"] > 0, key
        assert rungs[key]["margin_below"] == pytest.approx(ladder.checked_margin(stored, key))


def test_bigram_floor_is_the_count_table():
    floor = ladder.bigram_loss()
    tokenizer, train_ids, _ = ladder.ladder_data()
    log_p = ladder.bigram_table(train_ids, tokenizer.n_vocab, ladder.RECIPE["bigram_smoothing"])
    torch.testing.assert_close(log_p.exp().sum(dim=1), torch.ones(tokenizer.n_vocab))
    assert floor < math.log(tokenizer.n_vocab)
    # maximum likelihood on the train pairs: any other table scores the train data worse
    nll = lambda table: F.nll_loss(table[train_ids[:-1]], train_ids[1:]).item()  # noqa: E731
    other = torch.log_softmax(log_p + 0.05 * torch.randn(log_p.shape, generator=torch.Generator().manual_seed(0)), 1)
    assert nll(log_p) < nll(other)


def test_bigram_table_counts_pairs():
    ids = torch.tensor([0, 1, 0, 1, 2])
    p = ladder.bigram_table(ids, 3, smoothing=0.0).exp()
    torch.testing.assert_close(p[0], torch.tensor([0.0, 1.0, 0.0]))
    torch.testing.assert_close(p[1], torch.tensor([0.5, 0.0, 0.5]))


def test_every_rung_builds_and_starts_near_ln_v():
    x, y = ladder.eval_windows()
    V = ladder.base_config().vocab_size
    for key in ladder.RUNG_KEYS[1:]:
        torch.manual_seed(0)
        model = ladder.build_rung(key)
        with torch.no_grad():
            _, loss = model(x[:32], y[:32])
        assert abs(loss.item() - math.log(V)) < 0.3, key
    assert ladder.build_rung("model4").num_parameters() == ladder.build_rung("multihead").num_parameters()
    with pytest.raises(ValueError, match="Unknown"):
        ladder.rung_config("bigram")


def test_train_rung_is_reproducible():
    _, h1, loss1 = ladder.train_rung("model1", seed=3, progress=False, steps=3)
    _, h2, loss2 = ladder.train_rung("model1", seed=3, progress=False, steps=3)
    assert h1.train_loss == h2.train_loss and loss1 == loss2


def test_make_batch_fn():
    tokens = torch.arange(100)
    a = mg.make_batch_fn(tokens[:80], tokens[80:], batch_size=4, seq_len=8, seed=1)
    b = mg.make_batch_fn(tokens[:80], tokens[80:], batch_size=4, seq_len=8, seed=1)
    for split in ("train", "val", "train"):
        (xa, ya), (xb, yb) = a(split), b(split)
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
        assert xa.shape == (4, 8) and torch.equal(xa[:, 1:], ya[:, :-1])
    assert a("val")[0].min() >= 80
    with pytest.raises(ValueError, match="split"):
        a("test")
    with pytest.raises(ValueError, match="seq_len"):
        mg.make_batch_fn(tokens, tokens[:5], batch_size=2, seq_len=8)


def test_plot_ladder(stored):
    ax = mg.viz.plot_ladder(stored, live={"model3": stored["rungs"]["model3"]["mean"]})
    assert len(ax.get_xticklabels()) == len(ladder.RUNG_KEYS)


# --- lesson 19's task that needs several heads (minigpt_lib.tasks) ---------------------------------------------


def test_last_letter_digit_answers_by_brute_force():
    from minigpt_lib.tasks import LastLetterDigit

    task = LastLetterDigit(n_symbols=4, block_size=12)
    x, y = task.batch(64, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (64, 12)
    assert int(x.max()) <= task.query_token < task.vocab_size and int(y.max()) < task.vocab_size
    for row_x, row_y in zip(x.tolist(), y.tolist(), strict=True):
        for t, (tok, ans) in enumerate(zip(row_x, row_y, strict=True)):
            letters = [v for v in row_x[: t + 1] if v < 4]
            digits = [v - 4 for v in row_x[: t + 1] if 4 <= v < 8]
            expected = letters[-1] * 4 + digits[-1] if tok == task.query_token and letters and digits else -1
            assert ans == expected
    assert (y >= 0).sum() > 64, "enough scored positions to measure accuracy"


def test_lookup_mass_sees_a_head_that_fetches_one_answer():
    from minigpt_lib.tasks import LastLetterDigit, lookup_mass

    task = LastLetterDigit()
    x, y = task.batch(16, torch.Generator().manual_seed(1))
    letter_pos, digit_pos = task.last_positions(x)
    B, T = x.shape
    exact = torch.zeros(B, 2, T, T)  # head 0 looks at the last letter, head 1 at the last digit
    exact[:, 0].scatter_(2, letter_pos.clamp(min=0)[..., None], 1.0)
    exact[:, 1].scatter_(2, digit_pos.clamp(min=0)[..., None], 1.0)
    torch.testing.assert_close(lookup_mass(exact, task, x, y), torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    uniform = torch.ones(T, T).tril()
    uniform = (uniform / uniform.sum(-1, keepdim=True)).expand(B, 1, T, T)
    assert lookup_mass(uniform, task, x, y).max() < 0.3  # a head that looks everywhere fails the measure


def test_last_letter_digit_rejects_bad_sizes():
    from minigpt_lib.tasks import LastLetterDigit, masked_accuracy

    with pytest.raises(ValueError, match="n_symbols"):
        LastLetterDigit(n_symbols=1)
    with pytest.raises(ValueError, match="p_query"):
        LastLetterDigit(p_query=1.0)
    with pytest.raises(ValueError, match="no scored position"):
        masked_accuracy(torch.nn.Identity(), torch.zeros(1, 3, 5), torch.full((1, 3), -1))
