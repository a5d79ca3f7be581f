"""Indicators come out normalised, with spans of the original text."""

from __future__ import annotations

from crawler.rules.indicators import extract_indicators


def test_phones_ibans_cards_handles_domains_and_emails_are_extracted_normalised() -> None:
    text = (
        "Звоните +7 (747) 000-28-90, WhatsApp: 8 705 000 41 17, менеджер @Ffin_Signal_Manager, "
        "канал t.me/qzx_signals/2210, wa.me/77010008327, IBAN KZ86 125K ZT50 0410 0100, "
        "карта 4400 4301 2345 6789, сайт Kaspi-Invest.top и "
        "https://xn--kspi-invest-yij.online/reg, a.b@mail.kz"
    )
    got = {(i.kind, i.value) for i in extract_indicators(text)}
    assert ("phone", "+77470002890") in got
    assert ("whatsapp", "+77050004117") in got
    assert ("whatsapp", "+77010008327") in got
    assert ("telegram", "ffin_signal_manager") in got
    assert ("telegram", "qzx_signals") in got
    assert ("iban", "KZ86125KZT5004100100") in got
    assert ("card", "4400430123456789") in got
    assert ("domain", "kaspi-invest.top") in got
    assert ("domain", "kаspi-invest.online") in got  # IDNA-decoded, Cyrillic а
    assert ("email", "a.b@mail.kz") in got
    for ind in extract_indicators(text):
        assert ind.start < ind.end <= len(text)


def test_invalid_iban_and_card_checksums_are_ignored() -> None:
    got = {i.kind for i in extract_indicators("KZ00 125K ZT50 0410 0100 и 4400 4301 2345 6780")}
    assert "iban" not in got and "card" not in got


def test_empty_text_has_no_indicators() -> None:
    assert extract_indicators("") == []


def test_a_salary_range_is_not_a_phone_number() -> None:
    text = "Смены 2/2, 12 000–15 000 ₸ за смену, выплаты еженедельно. Тел. в профиле"
    assert [i for i in extract_indicators(text) if i.kind == "phone"] == []
    spaced = "звоните 8 700 123 45 67 или 8(701)765-43-21"
    assert [i.value for i in extract_indicators(spaced) if i.kind == "phone"] == [
        "+77001234567",
        "+77017654321",
    ]
