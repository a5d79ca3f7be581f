"""The cloaking verdict: a mobile fetch against a bot fetch of the same landing URL."""

from __future__ import annotations

import re

from landing.support import page

from crawler.landing_cloak import CLOAK_TEXT_SIMILARITY_MIN, compare_pages
from crawler.landing_extract import analyse_page

URL = "https://kazatom-invest.example/news/"


def analysed(name: str, replace: tuple[str, str] | None = None):
    html = page(name).decode("utf-8")
    if replace:
        html = html.replace(*replace)
    return analyse_page(html, URL)


def test_a_prelander_for_phones_and_a_white_page_for_bots_is_cloaking() -> None:
    verdict = compare_pages(analysed("prelander"), analysed("whitepage"))
    assert verdict.cloaked
    assert verdict.text_similarity < CLOAK_TEXT_SIMILARITY_MIN
    assert any("visible text differs" in r for r in verdict.reasons)
    assert "form on the mobile page only" in verdict.reasons
    assert any(r.startswith("title differs") for r in verdict.reasons)


def test_the_same_page_twice_is_not_cloaking() -> None:
    verdict = compare_pages(analysed("prelander"), analysed("prelander"))
    assert not verdict.cloaked and verdict.reasons == ()
    assert verdict.text_similarity == 100


def test_a_ticking_counter_and_another_view_count_are_not_cloaking() -> None:
    later = analysed("prelander", ("👁 128 441", "👁 131 007"))
    later_html_timer = analysed("recovery", ("10 минут", "9 минут"))
    assert not compare_pages(analysed("prelander"), later).cloaked
    assert not compare_pages(analysed("recovery"), later_html_timer).cloaked


def test_a_form_shown_to_phones_only_is_cloaking_even_when_the_text_is_close() -> None:
    # the form's element and its fields gone (bare fields alone would still be a lead form)
    html = page("recovery").decode("utf-8")
    html = re.sub(r"<(input|select|textarea)\b[^>]*>", "", html.replace("<form", "<div"))
    no_form = analyse_page(html.replace("</form>", "</div>"), URL)
    verdict = compare_pages(analysed("recovery"), no_form)
    assert verdict.cloaked
    assert verdict.reasons == ("form on the mobile page only",)


def test_a_not_found_for_bots_and_a_page_for_phones_is_cloaking() -> None:
    verdict = compare_pages(
        analysed("recovery"), analysed("recovery"), mobile_status=200, bot_status=404
    )
    assert verdict.cloaked and verdict.reasons == ("status differs: 200 vs 404",)


def test_bots_redirected_to_another_host_is_cloaking() -> None:
    verdict = compare_pages(
        analysed("recovery"),
        analysed("recovery"),
        mobile_final_url="https://qorgau-legal.example/",
        bot_final_url="https://www.google.com/",
    )
    assert verdict.cloaked
    assert verdict.reasons == (
        "redirects end on another host: qorgau-legal.example vs www.google.com",
    )
