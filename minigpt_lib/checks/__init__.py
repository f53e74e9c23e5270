"""Code-challenge checkers: run a learner's function on hidden inputs, compare it with the reference, name the mistake.

Every checker returns a :class:`CheckResult` (✅/❌, a Vietnamese message, the mistake's stable English key). In a
lesson, the checker cell is one line, ``mg.checks.check_x(my_function).verdict()``: it prints the verdict once and
stops the notebook when the answer is wrong; ``python -m minigpt_lib.grade`` reads the verdicts back.

Layout: :mod:`.engine` (the result, the one place learner code runs, comparison, named mistakes, the registry), then
one module per family of lessons, in course order: :mod:`.tokens` (01), :mod:`.building_blocks` (03, 04, 09),
:mod:`.softmax_sampling` (05-08), :mod:`.parameters` (10, 17, 18, 26, 27), :mod:`.attention` (11-14, 19),
:mod:`.models` (15, 16), :mod:`.timing` (20-22), :mod:`.gpt2_weights` (23, 28, 29), :mod:`.architecture` (24, 30), :mod:`.bpe` (31),
:mod:`.lucbat` (32, 33).

How to add a checker (lesson NN, e.g. ``checks/bpe.py`` for lessons 31-33):

1. In the family's module (or a new ``checks/<topic>.py`` whose docstring lists its lessons), declare the
   exercise's named mistakes ONCE::

       MERGE_MISTAKES = Mistakes(
           Mistake("merges_wrong_pair", "Vietnamese message for the learner…", (mistaken_merge,)),
           Mistake("not_a_list", "Hàm phải trả về list, nhận được {got}."),  # no variant: the checker detects it
       )

   A variant is a *mistaken implementation* with the learner's signature; ``check_function`` names the mistake
   whose variant agrees with the learner's function on every hidden input. Mistakes without variants are
   detected by the checker itself and reported with ``MERGE_MISTAKES.fail("not_a_list", got=...)``.
2. Write the checker, registered with its lesson and exercise number (as numbered in the lesson's headings)::

       @checker(lesson=31, exercise=1, mistakes=MERGE_MISTAKES)
       def check_merge(fn) -> CheckResult:
           return check_function(fn, _reference_merge, _hidden_inputs(), MERGE_MISTAKES,
                                 name="Hàm merge", success="Chính xác! …")

   Call learner code only through ``check_function`` or ``run_learner`` (deadline, deep-copied inputs, global
   RNGs restored, a stub's NotImplementedError passed through); make hidden inputs with ``hidden_generator(k)``.
3. Import the module at the bottom of this file and add the checker (and its ``*_MISTAKES``) to ``__all__``.
4. Tests: ``tests/test_checks_<topic>.py`` (one row per mistake), and a row in ``CASES`` of
   ``tests/test_checks_contract.py`` (the reference solution and a mutant per mistake); the contract test fails
   for any registered checker without one.
5. In the lesson: tag the stub cell ``stub``, the solution cells ``solution``, and the checker cell ``check``.
"""

from .architecture import MLP_EXACT_GELU_MISTAKES, REPEAT_KV_MISTAKES, check_mlp_exact_gelu, check_repeat_kv
from .attention import (
    ATTENTION_MISTAKES,
    ATTENTION_WEIGHTS_MISTAKES,
    RECENCY_MISTAKES,
    SOFT_LOOKUP_MISTAKES,
    SPLIT_MERGE_MISTAKES,
    WINDOW_MISTAKES,
    check_attention_weights,
    check_causal_attention,
    check_recency_weights,
    check_soft_lookup,
    check_split_merge_heads,
    check_window_average_matrix,
)
from .bpe import MERGE_STEP_MISTAKES, check_bpe_merge_step
from .building_blocks import (
    GELU_GRAD_MISTAKES,
    LAYERNORM_MISTAKES,
    LINEAR_AS_EMBEDDING_MISTAKES,
    check_gelu_tanh_grad,
    check_layer_norm_module,
    check_linear_as_embedding,
)
from .engine import (
    DEADLINE_S,
    HIDDEN_SEED,
    REGISTRY,
    STUB_MESSAGE,
    CheckFailed,
    CheckResult,
    LearnerTimeout,
    Mistake,
    Mistakes,
    check_function,
    compare,
    hidden_generator,
    run_learner,
)
from .gpt2_weights import (
    HF_TO_OURS_MISTAKES,
    QKV_SPLIT_MISTAKES,
    QUERY_ABLATION_MISTAKES,
    check_hf_to_ours,
    check_qkv_split,
    check_query_ablation,
)
from .lucbat import (
    BT_PATTERN_MISTAKES,
    COPIED_SHARE_MISTAKES,
    check_bt_pattern,
    check_copied_line_share,
)
from .models import NEXT_LOGITS_MISTAKES, PRE_POST_LN_MISTAKES, check_next_token_logits, check_pre_post_ln
from .parameters import (
    BLOCK_PARAMS_MISTAKES,
    COMPONENT_COUNT_MISTAKES,
    COMPONENT_KEYS,
    HEAD_SHARE_MISTAKES,
    MODEL2_PARAMS_MISTAKES,
    MODEL4_PARAMS_MISTAKES,
    PARAM_COUNT_MISTAKES,
    _component_counts_reference,  # noqa: F401 - the tests compare with it
    check_block_param_count,
    check_component_counts,
    check_head_flop_share,
    check_model2_num_params,
    check_model4_params,
    check_param_count,
    count_parameters_meta,
)
from .softmax_sampling import (
    LOG_SOFTMAX_MISTAKES,
    SAMPLE_BY_CDF_MISTAKES,
    SAMPLE_TOKEN_MISTAKES,
    TEMPERATURE_MISTAKES,
    check_sample_by_cdf,
    check_sample_token,
    check_stable_log_softmax,
    check_temperature_for_entropy,
)
from .timing import MY_TIME_IT_MISTAKES, TIME_GPT2_MISTAKES, check_my_time_it, check_time_gpt2
from .tokens import TOKEN_PIECES_MISTAKES, check_token_pieces

__all__ = [
    "DEADLINE_S",
    "HIDDEN_SEED",
    "REGISTRY",
    "STUB_MESSAGE",
    "CheckFailed",
    "CheckResult",
    "LearnerTimeout",
    "Mistake",
    "Mistakes",
    "check_function",
    "compare",
    "hidden_generator",
    "run_learner",
    "count_parameters_meta",
    "COMPONENT_KEYS",
    # checkers and their named mistakes, in course order
    "check_token_pieces", "TOKEN_PIECES_MISTAKES",
    "check_linear_as_embedding", "LINEAR_AS_EMBEDDING_MISTAKES",
    "check_gelu_tanh_grad", "GELU_GRAD_MISTAKES",
    "check_temperature_for_entropy", "TEMPERATURE_MISTAKES",
    "check_sample_by_cdf", "SAMPLE_BY_CDF_MISTAKES",
    "check_sample_token", "SAMPLE_TOKEN_MISTAKES",
    "check_stable_log_softmax", "LOG_SOFTMAX_MISTAKES",
    "check_layer_norm_module", "LAYERNORM_MISTAKES",
    "check_model2_num_params", "MODEL2_PARAMS_MISTAKES",
    "check_window_average_matrix", "WINDOW_MISTAKES",
    "check_recency_weights", "RECENCY_MISTAKES",
    "check_soft_lookup", "SOFT_LOOKUP_MISTAKES",
    "check_attention_weights", "ATTENTION_WEIGHTS_MISTAKES",
    "check_causal_attention", "ATTENTION_MISTAKES",
    "check_next_token_logits", "NEXT_LOGITS_MISTAKES",
    "check_pre_post_ln", "PRE_POST_LN_MISTAKES",
    "check_block_param_count", "BLOCK_PARAMS_MISTAKES",
    "check_model4_params", "MODEL4_PARAMS_MISTAKES",
    "check_split_merge_heads", "SPLIT_MERGE_MISTAKES",
    "check_my_time_it", "MY_TIME_IT_MISTAKES",
    "check_head_flop_share", "HEAD_SHARE_MISTAKES",
    "check_time_gpt2", "TIME_GPT2_MISTAKES",
    "check_hf_to_ours", "HF_TO_OURS_MISTAKES",
    "check_mlp_exact_gelu", "MLP_EXACT_GELU_MISTAKES",
    "check_param_count", "PARAM_COUNT_MISTAKES",
    "check_component_counts", "COMPONENT_COUNT_MISTAKES",
    "check_qkv_split", "QKV_SPLIT_MISTAKES",
    "check_query_ablation", "QUERY_ABLATION_MISTAKES",
    "check_repeat_kv", "REPEAT_KV_MISTAKES",
    "check_bpe_merge_step", "MERGE_STEP_MISTAKES",
    "check_bt_pattern", "BT_PATTERN_MISTAKES",
    "check_copied_line_share", "COPIED_SHARE_MISTAKES",
]  # fmt: skip
