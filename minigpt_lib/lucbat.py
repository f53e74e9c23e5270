"""The form of lục bát: Vietnamese syllables, tones, rhymes, and a checker for couplets (lessons 32-33).

A Vietnamese syllable (âm tiết, tiếng) is written as one word: an optional onset (âm đầu), an optional medial
(âm đệm, the glide written ``o`` or ``u`` as in *hoa*, *quê*, *thuở*), a nucleus (âm chính, a vowel or a
diphthong), an optional coda (âm cuối: a consonant or a glide) and one of six tones (thanh điệu), written as a
mark on the vowel. The rhyme (vần) is what is left after the onset and the tone: medial + nucleus + coda.
Syllable structure as in Đoàn Thiện Thuật, *Ngữ âm tiếng Việt* (NXB Đại học và Trung học chuyên nghiệp, 1977).

Tones: ngang (no mark), huyền (``à``), sắc (``á``), hỏi (``ả``), ngã (``ã``), nặng (``ạ``). In verse they fall in
two classes: bằng (B, level: ngang and huyền) and trắc (T, oblique: sắc, hỏi, ngã, nặng).

The lục bát rules checked here
------------------------------
A couplet is a lục line (6 syllables) and a bát line (8 syllables).

* Tones: syllables 2, 4, 6 of the lục line are B, T, B; syllables 2, 4, 6, 8 of the bát line are B, T, B, B.
  The odd positions are free.
* Rhyme: lục[6] rhymes with bát[6], and bát[8] rhymes with lục[6] of the next couplet.
* Optional (``strict_pitch=True``): bát[6] and bát[8] are both bằng but differ in pitch, one ngang and one
  huyền (the "trầm bổng" refinement of the classical rule). It is off by default: it is a tendency of good
  verse, not a condition of the form, and lesson 32 measures how often Truyện Kiều keeps it.

How two syllables rhyme (vần chính and vần thông)
------------------------------------------------
The rule follows Trần Trọng Kim, *Việt thi* (Hà Nội, 1917; chapter "Cách gieo vần"; text on Wikisource,
https://vi.wikisource.org/wiki/Việt_thi), whose examples come from Truyện Kiều:

1. A rhyme joins bằng with bằng and trắc with trắc.
2. *Vần chính* (exact rhyme): the same rhyme once the medial is removed (*oa* rhymes with *a*, *uy* with *i*,
   *uân* with *ân*: the medial is not part of the rhyme's root, the "vận-căn").
3. *Vần thông* (near rhyme): the vowels of the root are close in articulation. Việt thi lists the pairs that
   may rhyme: **a ~ ơ**, **ơ ~ ư**, **e ~ ê ~ i**, **o ~ ô ~ u** (a relation, not a partition: a and ư do not
   rhyme). The root vowel is the last vowel letter before a final consonant (*iên* → ê, *ương* → ơ, *uôn* → ô),
   so *en, in* rhyme with *yên, uyên* and *ang* with *ương*; but for the open diphthongs *ia, ua, ưa* the root
   is the first letter (i, u, ư), "the final a has no effect". *uông* and *ương* rhyme by name.
4. Syllables that end in a consonant rhyme only with syllables that end in the same consonant; those that end
   in a vowel letter rhyme by that last vowel. We read the second as the glide codas of phonology: *-i/-y*
   (ai, ôi, ơi, ươi, ay, ây, ...) rhyme together, and *-o/-u* (ao, eo, au, âu, êu, iêu, ưu, ...) together,
   whatever the vowel before them; open syllables rhyme by their nucleus as in 3.

Việt thi adds a convention of its own time (its first "điều nên nhớ"): a, ă, â before c, m, n, p, t rhyme with
each other only under the same onset (*bát* ~ *bắt* ~ *bất*, not *bát* ~ *cắt*). Truyện Kiều, a century older,
does not keep it (lesson 32 counts the pairs that break it), so the checker leaves it out.

Two readings of the letters come from phonology (Đoàn Thiện Thuật 1977) rather than from Việt thi, which
reasons on letters: ă is the short a and â the short ơ, so they take the places of a and ơ in 3; and the
``a`` of *anh, ach* writes the front vowel /ɛ/ (as ``e`` before *-nh/-ch* is never written), so *anh* rhymes
with *inh, ênh* as e ~ ê ~ i. Lesson 32 measures what each rule contributes on the whole of Truyện Kiều.
Nothing here was fitted to the poem: the exceptions the checker reports are listed there.

Input may be NFC or NFD (or mixed); everything is normalised to NFC first.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = [
    "TONES",
    "Syllable",
    "CoupletCheck",
    "syllables",
    "tone",
    "tone_class",
    "strip_tone",
    "with_tone",
    "parse_syllable",
    "rhyme",
    "rhyme_key",
    "rhyme_kind",
    "rhymes",
    "check_couplet",
    "couplets",
    "score_poem",
    "shuffled_couplets",
]

TONES = ("ngang", "huyền", "sắc", "hỏi", "ngã", "nặng")
_TONE_MARKS = {"\u0300": "huyền", "\u0301": "sắc", "\u0309": "hỏi", "\u0303": "ngã", "\u0323": "nặng"}
_MARK_OF = {name: mark for mark, name in _TONE_MARKS.items()}
BANG = frozenset({"ngang", "huyền"})

# Onsets, longest first. "gi" and "qu" are handled apart (see parse_syllable).
_ONSETS = (
    "ngh",
    "ng",
    "nh",
    "ch",
    "gh",
    "kh",
    "ph",
    "th",
    "tr",
    "b",
    "c",
    "d",
    "đ",
    "g",
    "h",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "x",
)
_VOWEL_LETTERS = set("aăâeêioôơuưy")

# Nucleus spellings, longest first, and the codas each may take ("" = open syllable).
_STOPS_NASALS = ("c", "ch", "m", "n", "ng", "nh", "p", "t")
_CODAS_OF: dict[str, tuple[str, ...]] = {
    "iê": ("c", "m", "n", "ng", "p", "t", "u"),
    "yê": ("c", "m", "n", "ng", "p", "t", "u"),
    "ia": ("",),
    "ya": ("",),
    "ươ": ("c", "i", "m", "n", "ng", "p", "t", "u"),
    "ưa": ("",),
    "uô": ("c", "i", "m", "n", "ng", "p", "t"),
    "ua": ("",),
    "oo": ("c", "ng"),
    "a": ("", "c", "ch", "i", "m", "n", "ng", "nh", "o", "p", "t", "u", "y"),
    "ă": ("c", "m", "n", "ng", "p", "t"),
    "â": ("c", "m", "n", "ng", "p", "t", "u", "y"),
    "e": ("", "c", "m", "n", "ng", "o", "p", "t"),
    "ê": ("", "ch", "m", "n", "nh", "p", "t", "u"),
    "i": ("", "ch", "m", "n", "nh", "p", "t", "u"),
    "y": ("", "ch", "nh", "p", "t", "u"),
    "o": ("", "c", "i", "m", "n", "ng", "p", "t"),
    "ô": ("", "c", "i", "m", "n", "ng", "p", "t"),
    "ơ": ("", "i", "m", "n", "p", "t"),
    "u": ("", "c", "i", "m", "n", "ng", "p", "t"),
    "ư": ("", "c", "i", "n", "ng", "t", "u"),
}
_NUCLEI = sorted(_CODAS_OF, key=len, reverse=True)
# Which nuclei a medial may precede (qu takes its u before any nucleus but u/ư-initial ones).
_AFTER_MEDIAL = {"o": {"a", "ă", "e"}, "u": {"ê", "â", "ơ", "y", "yê", "ya"}}

# Phonological spelling of the nucleus and coda, used to compare rhymes (ia/iê/ya/yê are one diphthong, ...).
_NUCLEUS_SOUND = {"ia": "iê", "ya": "iê", "yê": "iê", "ưa": "ươ", "ua": "uô", "y": "i", "oo": "o"}
_GLIDE_I, _GLIDE_U = ("i", "y"), ("o", "u")

# Việt thi: the vowel pairs that may rhyme (vần thông). ă stands with a, â with ơ (their short vowels).
_NEAR_VOWELS = ({"a", "ơ"}, {"ơ", "ư"}, {"e", "ê", "i"}, {"o", "ô", "u"})
_SHORT_AS = {"ă": "a", "â": "ơ"}


@dataclass(frozen=True)
class Syllable:
    """One syllable split into onset (âm đầu), medial (âm đệm), nucleus (âm chính), coda (âm cuối) and tone."""

    text: str
    onset: str
    medial: str
    nucleus: str
    coda: str
    tone: str

    @property
    def rhyme(self) -> str:
        """The rhyme as written, without onset and tone: medial + nucleus + coda (e.g. ``uyên`` in *khuyên*)."""
        return self.medial + self.nucleus + self.coda

    @property
    def tone_class(self) -> str:
        return "B" if self.tone in BANG else "T"


@dataclass
class CoupletCheck:
    """The verdict on a couplet: ``ok``, the ``problems`` (Vietnamese) and the short names of the broken rules."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    broken: set[str] = field(
        default_factory=set
    )  # subset of {"length", "syllable", "tone", "rhyme", "next_rhyme", "pitch"}

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        if self.ok:
            return "✅ Đúng luật lục bát."
        return "❌ " + "\n❌ ".join(self.problems)


def _nfc(text: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"Expected a str, got {type(text).__name__}.")
    return unicodedata.normalize("NFC", text)


_PUNCTUATION = ".,;:!?\"'“”‘’()[]«»…-–—"


def syllables(line: str) -> list[str]:
    """The syllables of a verse line, in NFC, punctuation stripped (``"ta,"`` -> ``"ta"``), case kept."""
    words = (w.strip(_PUNCTUATION) for w in _nfc(line).replace("-", " ").split())
    return [w for w in words if w]


def _single_word(syllable: str) -> str:
    s = _nfc(syllable).strip().strip(_PUNCTUATION)
    if not s or len(s.split()) != 1:
        raise ValueError(
            f"Expected one syllable (one word), got {syllable!r}; split a line with syllables(line)."
        )
    return s


def tone(syllable: str) -> str:
    """The tone of a syllable from its diacritics: one of ``TONES`` (no mark = ngang). NFC or NFD input."""
    s = _single_word(syllable)
    marks = [_TONE_MARKS[c] for c in unicodedata.normalize("NFD", s) if c in _TONE_MARKS]
    if len(marks) > 1:
        raise ValueError(
            f"{syllable!r} carries {len(marks)} tone marks ({', '.join(marks)}); a syllable has one."
        )
    if not any(c.lower() in _VOWEL_LETTERS for c in strip_tone(s)):
        raise ValueError(f"{syllable!r} has no vowel, so it is not a Vietnamese syllable and has no tone.")
    return marks[0] if marks else "ngang"


def tone_class(syllable: str) -> str:
    """``"B"`` (bằng: ngang, huyền) or ``"T"`` (trắc: sắc, hỏi, ngã, nặng)."""
    return "B" if tone(syllable) in BANG else "T"


def strip_tone(syllable: str) -> str:
    """The syllable without its tone mark, NFC (``"người"`` -> ``"ngươi"``); other diacritics stay."""
    s = _nfc(syllable)
    return unicodedata.normalize(
        "NFC", "".join(c for c in unicodedata.normalize("NFD", s) if c not in _TONE_MARKS)
    )


def _split_rhyme(rest: str, after_qu: bool) -> tuple[str, str, str] | None:
    """Split what follows the onset into (medial, nucleus, coda), or None if it is not a Vietnamese rhyme."""
    medials = ("u",) if after_qu else ("", "o", "u")
    for medial in medials:
        if not rest.startswith(medial):
            continue
        body = rest[len(medial) :]
        for nucleus in _NUCLEI:
            if not body.startswith(nucleus):
                continue
            coda = body[len(nucleus) :]
            if coda not in _CODAS_OF[nucleus]:
                continue
            if medial and not after_qu and nucleus not in _AFTER_MEDIAL[medial]:
                continue
            if after_qu and nucleus[0] in "uư":
                continue
            return medial, nucleus, coda
    return None


def parse_syllable(syllable: str) -> Syllable:
    """Split a syllable into onset, medial, nucleus, coda and tone (lower case, tone removed).

    ``gi`` is an onset before a vowel (*gia* = gi + a, *giữa* = gi + ưa; *giêng* = gi + iêng) and the onset ``g``
    + the vowel ``i`` otherwise (*gì*, *gìn*); ``qu`` is the onset ``q`` + the medial ``u`` (*quê* = q + u + ê).
    Raises ``ValueError`` for a word that is not a Vietnamese syllable.
    """
    if not isinstance(syllable, str):
        raise TypeError(f"Expected a str, got {type(syllable).__name__}.")
    return _parse_syllable(syllable)


@lru_cache(maxsize=1 << 16)  # a poem repeats its syllables: parse each spelling once
def _parse_syllable(syllable: str) -> Syllable:
    word = _single_word(syllable)
    t = tone(word)
    bare = strip_tone(word).lower()
    onset, rest, after_qu = "", bare, False
    if bare.startswith("qu") and len(bare) > 2:
        onset, rest, after_qu = "q", bare[1:], True
    elif bare.startswith("gi") and len(bare) > 2 and bare[2] in _VOWEL_LETTERS:
        onset, rest = "gi", bare[2:]
        if rest[0] == "ê" and _split_rhyme("i" + rest, after_qu=False):  # giêng: gi + iêng
            rest = "i" + rest
    else:
        for candidate in _ONSETS:
            if bare.startswith(candidate):
                onset, rest = candidate, bare[len(candidate) :]
                break
    parts = None
    if after_qu:
        parts = _split_rhyme(rest, after_qu=True)
    elif rest:
        parts = _split_rhyme(rest, after_qu=False)
    if parts is None:
        raise ValueError(
            f"{syllable!r} is not a Vietnamese syllable (no known rhyme after the onset {onset!r})."
        )
    medial, nucleus, coda = parts
    return Syllable(word, onset, medial, nucleus, coda, t)


def with_tone(syllable: str, new_tone: str) -> str:
    """The same syllable with another tone, the mark on the vowel that carries it (``with_tone("ta", "sắc")`` -> ``"tá"``).

    The mark goes on the vowel with a hat, horn or breve if there is one (*tiến*, *người*), else on the vowel before
    the coda (*hoàn*), else on the first letter of an open diphthong (*mía*, *mùa*) or the single vowel. Case is kept.
    """
    if new_tone not in TONES:
        raise ValueError(f"Unknown tone {new_tone!r}; choose one of {', '.join(TONES)}.")
    s = parse_syllable(syllable)
    word = strip_tone(s.text)
    start = (
        len(s.onset)
        + len(s.medial)
        - (1 if s.onset == "gi" and s.nucleus == "iê" and word[2:3].lower() == "ê" else 0)
    )
    if s.onset == "q":
        start = 2  # q + u: the u is the medial
    nucleus = word[start : start + len(s.nucleus)]
    marked = [i for i, c in enumerate(nucleus) if c.lower() in "ăâêôơư"]
    if marked:
        k = marked[-1]
    elif len(nucleus) == 2 and not s.coda:
        k = 0
    else:
        k = len(nucleus) - 1
    i = start + k
    mark = _MARK_OF.get(new_tone, "")
    return unicodedata.normalize("NFC", word[: i + 1] + mark + word[i + 1 :])


def rhyme(syllable: str) -> str:
    """The rhyme part (vần) of a syllable: what is left without the onset and the tone, e.g. ``khuyên`` -> ``uyên``."""
    return parse_syllable(syllable).rhyme


def rhyme_key(syllable: str | Syllable) -> tuple[str, str]:
    """(nucleus, coda) as sounds, without medial: equal keys are a vần chính (*hoa* ~ *ca*, *kia* ~ *khuya*)."""
    s = syllable if isinstance(syllable, Syllable) else parse_syllable(syllable)
    nucleus = _NUCLEUS_SOUND.get(s.nucleus, s.nucleus)
    if s.nucleus == "a" and s.coda in ("y", "u"):  # ay, au: the short ă (ai, ao have the long a)
        nucleus = "ă"
    coda = "i" if s.coda in _GLIDE_I else "u" if s.coda in _GLIDE_U else s.coda
    return nucleus, coda


def _root_vowel(s: Syllable) -> str:
    """The vowel that carries the rhyme (Việt thi's vận-căn), as a letter of the four vần thông groups."""
    n = s.nucleus
    if s.coda == "":  # open: ia, ua, ưa rhyme by their first letter; iê never stands open
        root = n[0] if len(n) == 2 else n
    else:  # closed: the last vowel letter (iên -> ê, ương -> ơ, uôn -> ô)
        root = n[-1]
    if root == "y":
        root = "i"
    if n == "oo":
        root = "o"
    if n == "a" and s.coda in ("nh", "ch"):  # anh, ach: the front vowel /ɛ/
        root = "e"
    return _SHORT_AS.get(root, root)


def _coda_class(coda: str) -> str:
    return "i" if coda in _GLIDE_I else "u" if coda in _GLIDE_U else coda


def rhyme_kind(a: str | Syllable, b: str | Syllable) -> str | None:
    """``"chính"`` (exact rhyme), ``"thông"`` (near rhyme, Việt thi's vần thông) or ``None`` (no rhyme)."""
    sa = a if isinstance(a, Syllable) else parse_syllable(a)
    sb = b if isinstance(b, Syllable) else parse_syllable(b)
    if sa.tone_class != sb.tone_class:
        return None
    if rhyme_key(sa) == rhyme_key(sb):
        return "chính"
    if _coda_class(sa.coda) != _coda_class(sb.coda):
        return None
    if sa.coda in _GLIDE_I + _GLIDE_U:  # a glide coda carries the rhyme; the vowel before it is free
        return "thông"
    va, vb = _root_vowel(sa), _root_vowel(sb)
    both_diphthongs = {sa.nucleus, sb.nucleus} == {"uô", "ươ"} and sa.coda != ""
    if not (va == vb or any(va in g and vb in g for g in _NEAR_VOWELS) or both_diphthongs):
        return None
    return "thông"


def rhymes(a: str | Syllable, b: str | Syllable) -> bool:
    """Whether two syllables rhyme (vần chính or vần thông), by the rules in the module docstring."""
    return rhyme_kind(a, b) is not None


_LUC_PATTERN = {2: "B", 4: "T", 6: "B"}
_BAT_PATTERN = {2: "B", 4: "T", 6: "B", 8: "B"}
_CLASS_NAME = {"B": "bằng (B)", "T": "trắc (T)"}


def _parse_line(words: list[str], name: str, problems: list[str], broken: set[str]) -> list[Syllable | None]:
    parsed: list[Syllable | None] = []
    for i, w in enumerate(words, 1):
        try:
            parsed.append(parse_syllable(w))
        except ValueError:
            parsed.append(None)
            problems.append(f"Âm tiết: tiếng thứ {i} của {name}, «{w}», không phải một âm tiết tiếng Việt.")
            broken.add("syllable")
    return parsed


def _rhyme_problem(a: Syllable | None, b: Syllable | None, what: str) -> str | None:
    if a is None or b is None:
        return None  # already reported as not a syllable
    if rhymes(a, b):
        return None
    why = "khác nhóm thanh" if a.tone_class != b.tone_class else f"vần «{a.rhyme}» và «{b.rhyme}» không hiệp"
    return f"Vần: {what} («{a.text}» và «{b.text}»): {why}."


def check_couplet(
    luc: str, bat: str, next_luc: str | None = None, strict_pitch: bool = False
) -> CoupletCheck:
    """Check one lục bát couplet (and its link to the next lục line, if given) against the rules of the module.

    Returns a :class:`CoupletCheck`: ``ok``, and ``problems`` in Vietnamese, each naming the rule and the position.
    """
    problems: list[str] = []
    broken: set[str] = set()
    lines = {"câu lục": (syllables(luc), 6, _LUC_PATTERN), "câu bát": (syllables(bat), 8, _BAT_PATTERN)}
    parsed = {}
    for name, (words, n, pattern) in lines.items():
        if len(words) != n:
            problems.append(f"Số tiếng: {name} phải có {n} tiếng, đang có {len(words)}.")
            broken.add("length")
        parsed[name] = _parse_line(words, name, problems, broken)
        for pos, wanted in pattern.items():
            if pos <= len(words) and parsed[name][pos - 1] is not None:
                s = parsed[name][pos - 1]
                if s.tone_class != wanted:
                    problems.append(
                        f"Luật thanh: tiếng thứ {pos} của {name} phải là thanh {_CLASS_NAME[wanted]}, "
                        f"«{s.text}» mang thanh {s.tone} ({s.tone_class})."
                    )
                    broken.add("tone")
    luc_s, bat_s = parsed["câu lục"], parsed["câu bát"]
    luc6 = luc_s[5] if len(luc_s) == 6 else None
    bat6 = bat_s[5] if len(bat_s) == 8 else None
    bat8 = bat_s[7] if len(bat_s) == 8 else None
    problem = _rhyme_problem(luc6, bat6, "tiếng thứ 6 của câu lục phải vần với tiếng thứ 6 của câu bát")
    if problem:
        problems.append(problem)
        broken.add("rhyme")
    if next_luc is not None:
        nxt = syllables(next_luc)
        if len(nxt) == 6:
            try:
                nxt6 = parse_syllable(nxt[5])
            except ValueError:
                nxt6 = None
                problems.append(
                    f"Âm tiết: tiếng thứ 6 của câu lục sau, «{nxt[5]}», không phải một âm tiết tiếng Việt."
                )
                broken.add("next_rhyme")
            problem = _rhyme_problem(
                bat8, nxt6, "tiếng thứ 8 của câu bát phải vần với tiếng thứ 6 của câu lục sau"
            )
            if problem:
                problems.append(problem)
                broken.add("next_rhyme")
        else:
            problems.append(
                f"Vần: câu lục sau phải có 6 tiếng để nối vần với tiếng thứ 8 của câu bát, "
                f"đang có {len(nxt)}."
            )
            broken.add("next_rhyme")
    if strict_pitch and bat6 is not None and bat8 is not None and bat6.tone_class == bat8.tone_class == "B":
        if bat6.tone == bat8.tone:
            problems.append(
                f"Trầm bổng: tiếng thứ 6 và thứ 8 của câu bát nên khác nhau ngang/huyền, "
                f"cả «{bat6.text}» và «{bat8.text}» đều mang thanh {bat6.tone}."
            )
            broken.add("pitch")
    return CoupletCheck(ok=not problems, problems=problems, broken=broken)


def couplets(text: str) -> list[tuple[str, str, str | None]]:
    """(lục, bát, next lục or None) for each couplet of a poem: non-empty lines, lục first, alternating.

    A last lục line without its bát is dropped (a generated text may stop in the middle of a couplet).
    """
    lines = [line.strip() for line in _nfc(text).splitlines() if line.strip()]
    return [
        (lines[i], lines[i + 1], lines[i + 2] if i + 2 < len(lines) else None)
        for i in range(0, len(lines) - 1, 2)
    ]


def score_poem(text: str, strict_pitch: bool = False) -> float:
    """The share of the poem's couplets that pass ``check_couplet`` (each linked to the next lục line)."""
    pairs = couplets(text)
    if not pairs:
        raise ValueError("The text has no couplet: a lục bát poem needs at least a lục line and a bát line.")
    return sum(check_couplet(*p, strict_pitch=strict_pitch).ok for p in pairs) / len(pairs)


def shuffled_couplets(text: str, seed: int = 0) -> list[tuple[str, str, str]]:
    """Couplets of randomly re-paired lines: each real lục with a random bát and a random next lục (a null model)."""
    pairs = couplets(text)
    rng = random.Random(seed)
    lucs, bats = [p[0] for p in pairs], [p[1] for p in pairs]
    return [(luc, rng.choice(bats), rng.choice(lucs)) for luc in lucs]
