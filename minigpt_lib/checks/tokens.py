"""Checker of tokens: lesson 01 (the byte pieces of GPT-2's tokens)."""

from __future__ import annotations

from collections.abc import Callable

from ..tokenizer import gpt2_tokenizer
from .engine import CheckResult, Mistake, Mistakes, check_function, checker

TOKEN_PIECE_TEXTS: tuple[str, ...] = (
    "Trăm năm trong cõi người ta,",  # Vietnamese: tokens that end inside a UTF-8 character
    "The Time Traveller smiled.",
    "Nguyễn Du (1766–1820) 🌸",
    "",
    "  hai  khoảng trắng\n",
)


def _pieces(decode: Callable[[int], bytes]) -> Callable[[str], list]:
    def pieces(text: str) -> list:
        tok = gpt2_tokenizer()
        return [decode(tok, i) for i in tok.encode(text)]

    return pieces


TOKEN_PIECES_MISTAKES = Mistakes(
    Mistake(
        "decode_then_encode",
        "Bạn giải mã từng token thành chuỗi rồi mã hóa lại (`tok.decode([i]).encode()`): một token có thể chỉ là "
        "một phần của một ký tự UTF-8 (rất hay gặp với chữ có dấu), khi đó `decode` thay nó bằng ký tự � và các "
        "byte gốc mất. Dùng `tok.decode_single_token_bytes(i)`.",
        (_pieces(lambda tok, i: tok.decode([i]).encode("utf-8")),),
    ),
    Mistake(
        "returns_strings",
        "Các mẩu phải là `bytes`, không phải `str`: `tok.decode([i])` cho chuỗi (và hỏng với token là nửa ký tự); "
        "dùng `tok.decode_single_token_bytes(i)`.",
        (_pieces(lambda tok, i: tok.decode([i])),),
    ),
    Mistake(
        "returns_ids",
        "Hàm trả về các id token (`tok.encode(text)`), còn bài tập cần các mẩu byte của từng id: "
        "`[tok.decode_single_token_bytes(i) for i in tok.encode(text)]`.",
        (_pieces(lambda tok, i: i),),
    ),
    Mistake(
        "per_character",
        "Bạn cắt văn bản theo ký tự, không theo token: các mẩu phải là byte của từng token GPT-2 "
        "(`tok.encode(text)` rồi `tok.decode_single_token_bytes(i)`).",
        (lambda text: [ch.encode("utf-8") for ch in text],),
    ),
)


@checker(lesson=1, mistakes=TOKEN_PIECES_MISTAKES)
def check_token_pieces(fn: Callable[[str], list[bytes]]) -> CheckResult:
    """Check ``fn(text) -> list[bytes]``, the bytes of each GPT-2 token of ``text`` in order (lesson 01)."""
    return check_function(
        fn,
        _pieces(lambda tok, i: tok.decode_single_token_bytes(i)),
        [(t,) for t in TOKEN_PIECE_TEXTS],
        TOKEN_PIECES_MISTAKES,
        name="Hàm token_pieces",
        success=(
            f"Chính xác! Trên {len(TOKEN_PIECE_TEXTS)} văn bản ẩn (có chữ Việt, emoji, chuỗi rỗng), mỗi mẩu là đúng "
            "các byte của một token GPT-2."
        ),
        describe=lambda args: f"text = {args[0]!r}",
    )
