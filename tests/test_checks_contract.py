"""The contract every registered checker keeps (like Hugging Face's common model tests, run over every model).

For each checker in ``minigpt_lib.checks.REGISTRY``: the reference solution passes; a stub's NotImplementedError
passes through; any other exception (a non-stub NotImplementedError included) becomes ❌ naming it; an infinite
loop becomes ❌ within the deadline; inputs changed in place are reported; the global RNGs are untouched; every
declared mistake has a Vietnamese message and a mutant (written as a learner would) that triggers it.
A new checker needs a row in ``CASES`` (its solution and mutants, usually imported from its test module).
"""

from __future__ import annotations

import copy
import random
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field

import nbformat
import numpy as np
import pytest
import test_checks_architecture as arch
import test_checks_attention as att
import test_checks_bpe as bpe
import test_checks_building_blocks as bb
import test_checks_gpt2_weights as gw
import test_checks_lucbat as lbt
import test_checks_models as mod
import test_checks_parameters as par
import test_checks_softmax_sampling as ss
import test_checks_timing as tm
import test_checks_tokens as tok
import torch
from nbclient import NotebookClient
from torch import nn

from minigpt_lib import checks
from minigpt_lib.checks import engine

STUB = checks.STUB_MESSAGE


@dataclass
class Case:
    solution: Callable
    mutants: dict[str, Callable]
    adapt: Callable[[Callable], Callable] = field(
        default=lambda body: body
    )  # a body -> what the checker takes


def as_layernorm_class(body):
    """A class whose constructor runs ``body`` (for the checker of lesson 09, which takes a class)."""

    class Learner(nn.Module):
        def __init__(self, n_features, eps=1e-5):
            super().__init__()
            body(n_features, eps)

    return Learner


def pair(body):
    """For the checkers that take two functions (lessons 16 and 19): the same body for both."""
    return (body, body)


CASES: dict[str, Case] = {
    "check_linear_as_embedding": Case(
        bb.linear_as_embedding,
        {
            "not_embedding": bb.lae_returns_weight,
            "no_transpose": bb.lae_no_transpose,
            "ignores_bias": bb.lae_ignores_bias,
        },
    ),
    "check_gelu_tanh_grad": Case(
        bb.gelu_tanh_grad,
        {
            "no_product_rule": bb.gelu_no_product_rule,
            "constant_du_dx": bb.gelu_constant_du,
            "no_tanh_derivative": bb.gelu_no_tanh_derivative,
            "exact_gelu_derivative": bb.gelu_exact,
        },
    ),
    "check_layer_norm_module": Case(
        bb.MyLayerNorm,
        {
            "wrong_parameters": bb.LNPlainTensors,
            "wrong_init": bb.LNWrongInit,
            "unbiased_variance": bb.LNUnbiased,
            "eps_outside_sqrt": bb.LNEpsOutside,
            "no_eps": bb.LNNoEps,
            "no_affine": bb.LNNoAffine,
            "wrong_axis": bb.LNAxis0,
        },
        as_layernorm_class,
    ),
    "check_temperature_for_entropy": Case(
        ss.make_temperature(),
        {
            "not_a_float": ss.make_temperature(as_tensor=True),
            "multiplies_instead_of_divides": ss.make_temperature(op=lambda z, t: z * t, inverted=True),
            "search_inverted": ss.make_temperature(inverted=True),
            "entropy_in_bits": ss.make_temperature(bits=True),
            "returns_log_t": ss.make_temperature(log_t=True),
        },
    ),
    "check_sample_by_cdf": Case(
        ss.make_cdf(),
        {
            "uses_multinomial": ss.make_cdf(multinomial=True),
            "not_a_tensor": lambda w, n, generator=None: ss.make_cdf()(w, n, generator).tolist(),
            "wrong_shape_or_dtype": lambda w, n, generator=None: ss.make_cdf()(w, n, generator).float(),
            "not_normalized": ss.make_cdf(normalize=False),
            "off_by_one": ss.make_cdf(shift=1),
            "ignores_generator": ss.make_cdf(use_generator=False),
            "out_of_range": lambda w, n, generator=None: ss.make_cdf()(w, n, generator) * 0 + w.numel(),
            "zero_weight_chosen": lambda w, n, generator=None: ss.make_cdf()(
                w + 0.05, n, generator
            ),  # smoothed
            "wrong_frequencies": lambda w, n, generator=None: ss.make_cdf()((w > 0).double(), n, generator),
        },
    ),
    "check_sample_token": Case(
        ss.make_sample_token(),
        {
            "greedy_not_handled": ss.make_sample_token(greedy=False),
            "multiplies_instead_of_divides": ss.make_sample_token(multiply=True),
            "top_p_before_top_k": ss.make_sample_token(p_first=True),
            "ignores_generator": ss.make_sample_token(use_generator=False),
        },
    ),
    "check_stable_log_softmax": Case(
        ss.stable_log_softmax,
        {
            "no_max_subtraction": ss.lsm_no_max,
            "wrong_axis": ss.lsm_dim0,
            "global_max": ss.lsm_global_max,
            "log_of_softmax": ss.lsm_log_of_softmax,
            "forgot_log": ss.lsm_forgot_log,
        },
    ),
    "check_model2_num_params": Case(
        par.model2_num_params,
        {
            "unembedding_always_counted": lambda V, d, L, tied: 2 * V * d + L * d + 2 * d,
            "unembedding_never_counted": lambda V, d, L, tied: V * d + L * d + 2 * d,
            "missing_layernorm": lambda V, d, L, tied: V * d * (1 if tied else 2) + L * d,
            "layernorm_gamma_only": lambda V, d, L, tied: V * d * (1 if tied else 2) + L * d + d,
            "missing_position_embeddings": lambda V, d, L, tied: V * d * (1 if tied else 2) + 2 * d,
        },
    ),
    "check_window_average_matrix": Case(
        att.window_average_matrix,
        {
            "window_off_by_one": att.window_wide,
            "divides_by_w": att.window_by_w,
            "not_normalized": att.window_band,
            "looks_at_future": att.window_triu,
        },
    ),
    "check_recency_weights": Case(
        att.make_recency(),
        {
            "sign_flipped": att.make_recency(sign=1.0),
            "mask_after_softmax": att.make_recency(mask="after"),
            "softmax_wrong_axis": att.make_recency(dim=0),
            "mask_future": att.make_recency(mask=None),
        },
    ),
    "check_soft_lookup": Case(
        att.soft_lookup,
        {
            "no_scaling": att.lookup_no_scale,
            "wrong_scale": att.lookup_scale_d,
            "wrong_return_order": att.lookup_swapped,
            "returns_scores": att.lookup_scores,
        },
    ),
    "check_causal_attention": Case(
        att.good_attention,
        {
            "no_scaling": att.no_scaling,
            "wrong_scale": att.scale_by_d,
            "mask_diagonal": att.mask_diagonal,
            "mask_inverted": att.mask_inverted,
            "mask_future": att.mask_one_future,
            "softmax_wrong_axis": att.softmax_rows_wrong,
            "mask_after_softmax": att.zero_after_softmax,
            "wrong_transpose": att.q_times_k,
        },
    ),
    "check_time_gpt2": Case(
        tm.make_timer(),
        {
            "no_warmup": tm.make_timer(warmup=0),
            "no_synchronize": tm.make_timer(sync="none"),
            "synchronize_on_cpu": tm.make_timer(sync="always_cuda"),
            "mean_not_median": tm.make_timer(summary=__import__("statistics").mean),
            "min_not_median": tm.make_timer(summary=min),
            "grad_enabled": tm.make_timer(no_grad=False),
            "wrong_repeats": tm.make_timer(timed=5),
            "not_a_number": tm.make_timer(result="list"),
            "wrong_values": tm.make_timer(result="milliseconds"),
        },
    ),
    "check_param_count": Case(
        par.count_by_formula,
        {
            "tied_head_counted_twice": lambda c: par.count_by_formula(c) + c.vocab_size * c.n_embd,
            "missing_biases": lambda c: par.count_by_formula(c) - 9 * c.n_embd * c.n_layer,
            "missing_layernorm": lambda c: par.count_by_formula(c) - (2 * c.n_layer + 1) * 2 * c.n_embd,
            "missing_position_embeddings": lambda c: par.count_by_formula(c) - c.block_size * c.n_embd,
        },
    ),
    "check_component_counts": Case(
        par.counts_by_formula,
        {
            "wrong_keys": lambda c: {k: v for k, v in par.counts_by_formula(c).items() if k != "layernorm"},
            "embeddings_without_positions": par.changed(embeddings=lambda c: -c.block_size * c.n_embd),
            "tied_head_counted_twice": par.changed(embeddings=lambda c: c.vocab_size * c.n_embd),
            "layernorm_bias_as_attention_bias": par.changed(
                attention_biases=lambda c: c.n_layer * c.n_embd, layernorm=lambda c: -c.n_layer * c.n_embd
            ),
            "attention_without_output_projection": par.changed(
                attention_weights=lambda c: -c.n_layer * c.n_embd**2,
                attention_biases=lambda c: -c.n_layer * c.n_embd,
            ),
            "mlp_without_expansion": par.changed(mlp_weights=lambda c: -6 * c.n_layer * c.n_embd**2),
            "mlp_biases_wrong": par.changed(mlp_biases=lambda c: -c.n_layer * c.n_embd),
            "layernorm_missing_final_or_beta": par.changed(layernorm=lambda c: -2 * c.n_embd),
        },
    ),
    "check_qkv_split": Case(
        gw.split_right,
        {
            "wrong_axis": lambda w: w.chunk(3, dim=1),
            "transposed": lambda w: tuple(m.T for m in gw.split_right(w)),
            "wrong_order": lambda w: gw.split_right(w)[::-1],
        },
    ),
    "check_query_ablation": Case(
        gw.make_ablation(),
        {
            "modified_original_model": gw.make_ablation(copy_model=False),
            "returned_original": lambda model, block, gen: model,
            "not_a_model": gw.make_ablation(return_value="none"),
            "nothing_changed": lambda model, block, gen: copy.deepcopy(model),
            "ablated_keys_instead": gw.make_ablation(rows="k"),
            "ablated_values_instead": gw.make_ablation(rows="v"),
            "changed_keys_or_values": gw.make_ablation(rows="cols"),
            "wrong_block": lambda model, block, gen: gw.make_ablation()(model, 0, gen),
            "changed_other_parameters": gw.make_ablation(touch_other=True),
            "forgot_bias": gw.make_ablation(bias=False),
            "statistics_of_fused_weight": gw.make_ablation(stats="fused"),
            "wrong_statistics": gw.make_ablation(stats="standard"),
            "not_reproducible": gw.make_ablation(use_generator=False),
        },
    ),
    "check_bpe_merge_step": Case(bpe.solution, dict(bpe.MUTANTS)),
    "check_bt_pattern": Case(lbt.bt_solution, dict(lbt.BT_MUTANTS)),
    "check_copied_line_share": Case(lbt.copied_solution, dict(lbt.COPIED_MUTANTS)),
    "check_token_pieces": Case(tok.token_pieces, tok.PIECES_MUTANTS),
    "check_attention_weights": Case(att.attention_weights, att.WEIGHTS_MUTANTS),
    "check_next_token_logits": Case(mod.next_token_logits, mod.NEXT_LOGITS_MUTANTS),
    "check_pre_post_ln": Case((mod.pre_ln_sublayer, mod.post_ln_sublayer), mod.PRE_POST_MUTANTS, pair),
    "check_block_param_count": Case(par.block_param_count, par.BLOCK_MUTANTS),
    "check_model4_params": Case(par.count_model4_params, par.MODEL4_MUTANTS),
    "check_split_merge_heads": Case((att.split_heads, att.merge_heads), att.SPLIT_MERGE_MUTANTS, pair),
    "check_my_time_it": Case(tm.make_my_time_it(), tm.MY_TIME_IT_MUTANTS),
    "check_head_flop_share": Case(par.head_flop_share, par.HEAD_SHARE_MUTANTS),
    "check_hf_to_ours": Case(gw.hf_to_ours, gw.HF_MUTANTS),
    "check_mlp_exact_gelu": Case(arch.mlp_exact_gelu, arch.MLP_MUTANTS),
    "check_repeat_kv": Case(arch.repeat_kv, arch.REPEAT_KV_MUTANTS),
}

NAMES = sorted(checks.REGISTRY, key=lambda n: (checks.REGISTRY[n].lesson, checks.REGISTRY[n].exercise))


def run_check(name: str, learner) -> checks.CheckResult:
    function = checks.REGISTRY[name].function
    return function(*learner) if isinstance(learner, tuple) else function(learner)


def test_every_registered_checker_has_a_case():
    assert set(CASES) == set(checks.REGISTRY), "add a row to CASES for every new checker"


def test_registry_numbers_are_unique():
    seen = [(i.lesson, i.exercise) for i in checks.REGISTRY.values()]
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes(name):
    result = run_check(name, CASES[name].solution)
    assert result.passed, result.message
    assert str(result).startswith("✅") and result.checker == name


def _raising(error: BaseException):
    def body(*args, **kwargs):
        raise error

    return body


@pytest.mark.parametrize("name", NAMES)
def test_stub_passes_through(name):
    with pytest.raises(NotImplementedError, match="Bài tập"):
        run_check(name, CASES[name].adapt(_raising(NotImplementedError(STUB))))


@pytest.mark.parametrize(
    "error",
    [
        AttributeError("'list' object has no attribute 'shape'"),
        ValueError("boom"),
        NotImplementedError("Cannot copy out of meta tensor; no data!"),  # not a stub: PyTorch's meta device
        NotImplementedError(),  # a learner's own bare NotImplementedError is not the stub either
    ],
    ids=["AttributeError", "ValueError", "meta-NotImplementedError", "bare-NotImplementedError"],
)
@pytest.mark.parametrize("name", NAMES)
def test_other_exceptions_become_a_named_failure(name, error):
    result = run_check(name, CASES[name].adapt(_raising(error)))
    assert not result.passed and result.mistake == "exception", (result.mistake, result.message)
    assert type(error).__name__ in result.message and str(result).startswith("❌")


def _loops_forever(*args, **kwargs):
    while True:
        pass


@pytest.mark.parametrize("name", NAMES)
def test_infinite_loop_fails_at_the_deadline(name, monkeypatch):
    monkeypatch.setattr(engine, "DEADLINE_S", 0.2)
    result = run_check(name, CASES[name].adapt(_loops_forever))
    assert not result.passed and result.mistake == "timeout", (result.mistake, result.message)
    assert "vòng lặp" in result.message


def _zero_in_place(obj) -> bool:
    """Zero every float tensor and module parameter reachable in ``obj``; True if anything changed."""
    changed = False
    with torch.no_grad():
        if isinstance(obj, torch.Tensor) and obj.is_floating_point() and obj.numel() and bool(obj.any()):
            obj.zero_()
            changed = True
        elif isinstance(obj, nn.Module):
            for p in obj.parameters():
                changed |= _zero_in_place(p)
        elif isinstance(obj, (list, tuple)):
            for x in obj:
                changed |= _zero_in_place(x)
    return changed


@pytest.mark.parametrize("name", NAMES)
def test_changing_the_inputs_in_place_is_not_passed(name):
    """A learner who zeroes what it was given (after computing the right answer) never gets ✅ for it."""
    changed = []

    def vandal(solution):
        def learner(*args, **kwargs):
            answer = solution(*args, **kwargs)
            changed.append(_zero_in_place(list(args) + list(kwargs.values())))
            return answer

        return learner

    if name == "check_layer_norm_module":
        pytest.skip("the learner's class receives only n_features and eps")
    solution = CASES[name].solution
    result = run_check(
        name, tuple(map(vandal, solution)) if isinstance(solution, tuple) else vandal(solution)
    )
    if any(changed):
        assert not result.passed, result.message
    else:
        assert result.passed, result.message  # nothing mutable was handed over


def _rng_states():
    return (torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy())


def _same_states(a, b):
    return torch.equal(a[0], b[0]) and a[1] == b[1] and np.array_equal(a[2], b[2])


@pytest.mark.parametrize("name", NAMES)
def test_global_rng_is_untouched(name):
    def draws(*args, **kwargs):
        torch.rand(3), random.random(), np.random.rand(2)
        return CASES[name].solution(*args, **kwargs)

    for learner in (
        CASES[name].solution,
        draws if name != "check_layer_norm_module" else CASES[name].solution,
    ):
        before = _rng_states()
        run_check(name, learner)
        assert _same_states(before, _rng_states())


@pytest.mark.parametrize("name", NAMES)
def test_every_declared_mistake_has_a_message_and_a_mutant(name):
    declared = checks.REGISTRY[name].mistakes
    assert set(CASES[name].mutants) == set(declared), f"{name}: one mutant per declared mistake"
    for key, mistake in declared.items():
        assert mistake.key == key and len(mistake.message) > 20
        assert re.search("[À-ỹ]", mistake.message), f"{name}.{key}: message in Vietnamese"
        result = run_check(name, CASES[name].mutants[key])
        assert not result.passed and result.mistake == key, (key, result.mistake, result.message)


# ---------------------------------------------------------------- the deadline outside pytest's process
LOOPING_CHECK = textwrap.dedent(
    """
    import minigpt_lib.checks as checks
    from minigpt_lib.checks import engine
    engine.DEADLINE_S = 0.5

    def my_attention(q, k, v):
        while True:
            pass

    result = checks.check_causal_attention(my_attention)
    print("MISTAKE", result.mistake)
    """
)


def test_infinite_loop_in_a_plain_process():
    done = subprocess.run([sys.executable, "-c", LOOPING_CHECK], capture_output=True, text=True, timeout=120)
    assert "MISTAKE timeout" in done.stdout, done.stdout + done.stderr


def test_infinite_loop_under_a_jupyter_kernel():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(LOOPING_CHECK)]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert "MISTAKE timeout" in text, nb.cells[0].outputs
