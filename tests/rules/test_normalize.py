"""Normalisation meets every way of writing a word, and spans map back to the original text."""

from __future__ import annotations

import pytest

from crawler.rules.normalize import normalize


@pytest.mark.parametrize(
    ("text", "skeleton"),
    [
        ("Халық Банк", "halik bank"),
        ("Halyq Bank", "halik bank"),
        ("Халык банк", "halik bank"),
        ("H@lyk", "halik"),
        ("Ка$пи", "kaspi"),
        ("K4spi", "kaspi"),
        ("KASP|", "kaspi"),
        ("Frееdom", "freedom"),  # Cyrillic е
        ("VΙ Group", "vi group"),  # Greek Iota
        ("K a s p i", "kaspi"),
        ("H.a.l.y.k", "halik"),
        ("k_a_s_p_i", "kaspi"),
        ("Samuryq-Qazyna", "samurik-kazina"),
        ("Самұрық-Қазына", "samurik-kazina"),
        ("ЦентрКредит", "centrkredit"),
        ("TsentrKredit", "centrkredit"),
        ("dokhod", "dohod"),
        ("доход", "dohod"),
        ("айына", "aiina"),
        ("ayyna", "aiina"),
        ("ＫＡＳＰＩ", "kaspi"),  # full-width, NFKC
        ("Пер3вод выпoлнен", "perevod vipolnen"),
    ],
)
def test_spellings_of_one_word_share_one_skeleton(text, skeleton) -> None:
    assert normalize(text).text == skeleton


def test_a_cyrillic_word_of_latin_look_alikes_is_also_read_as_latin() -> None:
    assert ("bcc", 0, 3) in normalize("ВСС Bank").lookalike_latin


@pytest.mark.parametrize(
    "text",
    [
        "Щедрый доход: K a s p i  Invest ждёт",
        "ＦＵＬＬ width then Kaspi here",
        "Ёлка, щука, подъезд — Kaspi",
        "kh ts shch Kaspi",
    ],
)
def test_skeleton_spans_map_back_to_the_original_text(text) -> None:
    n = normalize(text)
    i = n.text.rfind("kaspi")
    s, e = n.span(i, i + len("kaspi"))
    assert text[s:e].replace(" ", "").lower() == "kaspi"


def test_empty_and_huge_texts_are_normalised() -> None:
    assert normalize("").text == ""
    assert len(normalize("доход " * 200_000).text) > 0


def test_latin_words_with_digits_are_not_read_as_cyrillic() -> None:
    assert "#p2p" in normalize("кто со мной? #заработок #схема #p2p").text
