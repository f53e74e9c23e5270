"""Checker of lesson 01 (tokens): the right answer passes, every mistake is named."""

import pytest

import minigpt_lib as mg
from minigpt_lib.checks import TOKEN_PIECES_MISTAKES, check_token_pieces

tok = mg.gpt2_tokenizer()


def token_pieces(text):
    return [tok.decode_single_token_bytes(i) for i in tok.encode(text)]


PIECES_MUTANTS = {
    "decode_then_encode": lambda text: [tok.decode([i]).encode() for i in tok.encode(text)],
    "returns_strings": lambda text: [tok.decode([i]) for i in tok.encode(text)],
    "returns_ids": lambda text: tok.encode(text),
    "per_character": lambda text: [c.encode("utf-8") for c in text],
}


def test_right_answer_passes():
    assert check_token_pieces(token_pieces).passed


@pytest.mark.parametrize("key", list(PIECES_MUTANTS))
def test_mistakes_are_named(key):
    result = check_token_pieces(PIECES_MUTANTS[key])
    assert not result.passed and result.mistake == key, (result.mistake, result.message)
    assert result.message == TOKEN_PIECES_MISTAKES[key].message


def test_one_piece_for_the_whole_text_is_wrong():
    result = check_token_pieces(lambda text: [text.encode("utf-8")])
    assert not result.passed and result.mistake == "wrong_length"
