"""The lục bát checker: tones, syllable parts, rhymes (vần chính / vần thông), couplets, and the whole poem."""

import unicodedata

import pytest

from minigpt_lib import load_corpus
from minigpt_lib import lucbat as lb

NFD = lambda s: unicodedata.normalize("NFD", s)
KIEU = load_corpus("truyen_kieu")


@pytest.mark.parametrize(
    "syllable, tone",
    [
        ("ta", "ngang"),
        ("tà", "huyền"),
        ("tá", "sắc"),
        ("tả", "hỏi"),
        ("tã", "ngã"),
        ("tạ", "nặng"),
        ("người", "huyền"),
        ("Ấy", "sắc"),
        ("nặng", "nặng"),
        ("hỏi", "hỏi"),
        ("ngã", "ngã"),
        ("đường", "huyền"),
        ("thuở", "hỏi"),
        ("khuya", "ngang"),
        ("quốc", "sắc"),
    ],
)
def test_every_tone_nfc_and_nfd(syllable, tone):
    assert lb.tone(syllable) == tone
    assert lb.tone(NFD(syllable)) == tone
    assert lb.tone_class(syllable) == ("B" if tone in ("ngang", "huyền") else "T")


def test_nfd_input_parses_like_nfc():
    for word in ["người", "giữa", "khuyên", "quốc", "Nguyễn", "thuở", "ậm"]:
        assert lb.parse_syllable(NFD(word)) == lb.parse_syllable(word)
    assert lb.syllables(NFD("Trăm năm trong cõi người ta,")) == lb.syllables("Trăm năm trong cõi người ta,")
    assert lb.check_couplet(
        NFD("Trăm năm trong cõi người ta,"), NFD("Chữ tài chữ mệnh khéo là ghét nhau.")
    ).ok


def test_strip_tone_keeps_the_other_diacritics():
    assert lb.strip_tone("người") == "ngươi"
    assert lb.strip_tone(NFD("Ậm")) == "Âm"
    assert lb.strip_tone("đặng") == "đăng"


@pytest.mark.parametrize(
    "word, parts",
    [  # (onset, medial, nucleus, coda)
        ("người", ("ng", "", "ươ", "i")),
        ("nghiêng", ("ngh", "", "iê", "ng")),
        ("gì", ("g", "", "i", "")),
        ("gìn", ("g", "", "i", "n")),
        ("gia", ("gi", "", "a", "")),
        ("giữa", ("gi", "", "ưa", "")),
        ("giếng", ("gi", "", "iê", "ng")),
        ("giề", ("gi", "", "ê", "")),
        ("quê", ("q", "u", "ê", "")),
        ("quốc", ("q", "u", "ô", "c")),
        ("quyên", ("q", "u", "yê", "n")),
        ("qua", ("q", "u", "a", "")),
        ("hoa", ("h", "o", "a", "")),
        ("khuya", ("kh", "u", "ya", "")),
        ("thuở", ("th", "u", "ơ", "")),
        ("tuần", ("t", "u", "â", "n")),
        ("mua", ("m", "", "ua", "")),
        ("yêu", ("", "", "yê", "u")),
        ("uyên", ("", "u", "yê", "n")),
        ("oanh", ("", "o", "a", "nh")),
        ("kỳ", ("k", "", "y", "")),
        ("huỳnh", ("h", "u", "y", "nh")),
        ("ngoài", ("ng", "o", "a", "i")),
        ("khuây", ("kh", "u", "â", "y")),
        ("xoong", ("x", "", "oo", "ng")),
    ],
)
def test_parse_syllable(word, parts):
    s = lb.parse_syllable(word)
    assert (s.onset, s.medial, s.nucleus, s.coda) == parts
    assert lb.rhyme(word) == "".join(parts[1:])


@pytest.mark.parametrize("bad", ["xyz", "ngưngh", "tră", "qu", "ab", "1990", "hello"])
def test_not_a_syllable_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="not a Vietnamese syllable|no vowel"):
        lb.parse_syllable(bad)


def test_bad_input_errors():
    with pytest.raises(ValueError, match="tone marks"):
        lb.tone("đầụ")  # two tone marks: a data error ("đầu." whose full stop became a dot below)
    with pytest.raises(ValueError, match="one syllable"):
        lb.tone("hai tiếng")
    with pytest.raises(ValueError, match="one syllable"):
        lb.tone("")
    with pytest.raises(TypeError):
        lb.tone(None)
    with pytest.raises(ValueError, match="no couplet"):
        lb.score_poem("")
    with pytest.raises(ValueError, match="no couplet"):
        lb.score_poem("Trăm năm trong cõi người ta,")


@pytest.mark.parametrize(
    "a, b, kind",
    [
        ("ta", "là", "chính"),
        ("nhau", "dâu", "thông"),
        ("hoa", "ca", "chính"),
        ("kia", "khuya", "chính"),
        ("kì", "kỳ", "chính"),
        ("tuần", "dân", "chính"),
        ("qua", "xa", "chính"),
        ("giêng", "riêng", "chính"),
        ("tay", "mây", "thông"),
        ("sang", "thương", "thông"),
        ("lòng", "không", "thông"),
        ("xanh", "tình", "thông"),
        ("người", "mười", "chính"),
        ("ơi", "người", "thông"),
        ("mai", "đôi", "thông"),
        ("thư", "ngơ", "thông"),
        ("tờ", "ra", "thông"),
        ("nghe", "thề", "thông"),
        ("gì", "kia", "thông"),
        ("suông", "thương", "thông"),
        ("yên", "tiên", "chính"),
        ("tên", "yên", "thông"),
        ("đau", "sao", "thông"),
        ("ta", "tư", None),  # a ~ ơ and ơ ~ ư, but not a ~ ư
        ("sang", "suông", None),  # uông ~ ương only, not ang
        ("ta", "tá", None),  # bằng does not rhyme with trắc
        ("tan", "tang", None),  # codas n and ng differ
        ("ta", "tai", None),  # open vs glide coda
        ("xanh", "sang", None),  # nh vs ng
        ("lòng", "lành", None),
    ],
)
def test_rhyme_kind(a, b, kind):
    assert lb.rhyme_kind(a, b) == kind
    assert lb.rhyme_kind(b, a) == kind, "rhyming is symmetric"
    assert lb.rhymes(a, b) == (kind is not None)


def test_rhyme_key_separates_ay_from_ai_and_joins_spellings():
    assert lb.rhyme_key("tay") != lb.rhyme_key("tai")
    assert lb.rhyme_key("kia") == lb.rhyme_key("khuya") == ("iê", "")
    assert lb.rhyme_key("mưa") == lb.rhyme_key("giữa")


LUC, BAT, NEXT = (
    "Trăm năm trong cõi người ta,",
    "Chữ tài chữ mệnh khéo là ghét nhau.",
    "Trải qua một cuộc bể dâu,",
)


def test_known_couplets_pass():
    assert lb.check_couplet(LUC, BAT, NEXT).ok
    assert lb.check_couplet("Lơ thơ tơ liễu buông mành,", "Con oanh học nói trên cành mỉa mai.").ok
    result = lb.check_couplet(LUC, BAT)
    assert result and result.problems == [] and "Đúng luật" in str(result)


@pytest.mark.parametrize(
    "luc, bat, nxt, rule, where",
    [
        ("Trăm năm trong cõi người ta ơi,", BAT, None, "Số tiếng", "câu lục"),
        (LUC, "Chữ tài chữ mệnh khéo ghét nhau.", None, "Số tiếng", "câu bát"),
        ("Trăm năm trong cõi người tá,", BAT, None, "Luật thanh", "tiếng thứ 6 của câu lục"),
        ("Trăm nắm trong cõi người ta,", BAT, None, "Luật thanh", "tiếng thứ 2 của câu lục"),
        ("Trăm năm trong côi người ta,", BAT, None, "Luật thanh", "tiếng thứ 4 của câu lục"),
        (LUC, "Chữ tài chữ mệnh khéo là ghét nhàu.", None, "Vần", "tiếng thứ 8"),  # huyền vs ngang: still B
        (LUC, "Chữ tài chữ mệnh khéo lá ghét nhau.", None, "Luật thanh", "tiếng thứ 6 của câu bát"),
        (LUC, "Chữ tài chữ mênh khéo là ghét nhau.", None, "Luật thanh", "tiếng thứ 4 của câu bát"),
        (LUC, "Chữ tài chữ mệnh khéo lông ghét nhau.", None, "Vần", "tiếng thứ 6 của câu lục"),
        (LUC, BAT, "Trải qua một cuộc bể xanh,", "Vần", "tiếng thứ 8 của câu bát"),
        (LUC, BAT, "Trải qua một cuộc bể,", "Vần", "câu lục sau"),
        (LUC, "Chữ tài chữ mệnh khéo xyz ghét nhau.", None, "Âm tiết", "tiếng thứ 6 của câu bát"),
    ],
)
def test_mutants_are_caught_with_rule_and_position(luc, bat, nxt, rule, where):
    result = lb.check_couplet(luc, bat, nxt)
    if rule == "Vần" and where == "tiếng thứ 8":
        # "nhàu" is huyền, "nhau" ngang: both bằng, so this mutant breaks only the optional pitch rule.
        assert result.ok
        strict = lb.check_couplet(luc, bat, nxt, strict_pitch=True)
        assert not strict.ok and any(p.startswith("Trầm bổng") for p in strict.problems)
        return
    assert not result.ok
    assert any(p.startswith(rule) and where in p for p in result.problems), result.problems


def test_strict_pitch_passes_the_classical_couplet():
    assert lb.check_couplet(LUC, BAT, NEXT, strict_pitch=True).ok  # là (huyền), nhau (ngang)


def test_couplets_pairs_lines_and_drops_a_trailing_luc():
    text = "\n".join([LUC, BAT, NEXT, "Những điều trông thấy mà đau đớn lòng.", "Lạ gì bỉ sắc tư phong,"])
    pairs = lb.couplets(text)
    assert pairs == [
        (LUC, BAT, NEXT),
        (NEXT, "Những điều trông thấy mà đau đớn lòng.", "Lạ gì bỉ sắc tư phong,"),
    ]
    assert lb.score_poem(text) == 1.0


def test_truyen_kieu_passes_and_random_pairs_fail():
    assert lb.score_poem(KIEU) >= 0.95
    for seed in range(3):
        shuffled = lb.shuffled_couplets(KIEU, seed=seed)
        share = sum(lb.check_couplet(*c).ok for c in shuffled) / len(shuffled)
        assert share < 0.05, f"seed {seed}: {share:.1%} of randomly re-paired couplets pass"


@pytest.mark.parametrize(
    "word, tone, expected",
    [
        ("ta", "sắc", "tá"),
        ("người", "ngang", "ngươi"),
        ("tiên", "ngã", "tiễn"),
        ("mưa", "sắc", "mứa"),
        ("giêng", "sắc", "giếng"),
        ("quê", "nặng", "quệ"),
        ("khuya", "nặng", "khuỵa"),
        ("Kiều", "hỏi", "Kiểu"),
        ("mua", "sắc", "múa"),
        ("Ấy", "ngang", "Ây"),
    ],
)
def test_with_tone(word, tone, expected):
    assert lb.with_tone(word, tone) == expected
    assert lb.with_tone(NFD(word), tone) == expected
    assert lb.tone(expected) == tone and lb.rhyme(expected) == lb.rhyme(word)


def test_with_tone_rejects_an_unknown_tone():
    with pytest.raises(ValueError, match="Unknown tone"):
        lb.with_tone("ta", "acute")
