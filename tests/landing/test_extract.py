"""Page analysis of the recorded landing pages, offline."""

from __future__ import annotations

import pytest
from landing.support import page

from crawler.landing_cloak import normalise_url, strip_tracking
from crawler.landing_extract import analyse_page, decode_html

URL = "https://kazatom-invest.example/news/?sub1=fb_17&fbclid=IwAR0demo"


@pytest.fixture(scope="module")
def prelander():
    return analyse_page(page("prelander").decode("utf-8"), URL)


@pytest.fixture(scope="module")
def recovery():
    return analyse_page(page("recovery").decode("utf-8"), "https://qorgau-legal.example/")


def test_the_prelander_lead_form_is_read_with_its_hidden_fields(prelander) -> None:
    (form,) = prelander.forms
    assert form.action == "https://kazatom-invest.example/news/api/lead.php"
    assert form.method == "post"
    names = [f.name for f in form.fields]
    assert names[:4] == ["first_name", "last_name", "email", "phone"]
    assert form.hidden == {
        "country": "KZ",
        "lang": "ru",
        "offer_id": "kzt-uran-042",
        "sub1": "",
        "sub2": "",
        "click_id": "",
        "fbclid": "",
        "pixel": "{PIXEL_ID}",
    }
    assert form.tracking_fields == ["click_id", "fbclid", "offer_id", "pixel", "sub1", "sub2"]
    phone = next(f for f in form.fields if f.name == "phone")
    assert phone.type == "tel" and phone.required
    consent = next(f for f in form.fields if f.name == "agree")
    assert consent.value == "on"  # the pre-ticked consent box


def test_the_prelander_pixels_and_back_button_hijack_are_found(prelander) -> None:
    assert prelander.pixels == {"meta": ["{PIXEL_ID}"], "yandex_metrika": ["90000001"]}
    assert prelander.back_button_hijack is True


def test_the_prelander_text_is_visible_text_only(prelander) -> None:
    assert prelander.title.startswith("Новости Казахстана — Казатомпром")
    assert prelander.language == "ru"
    assert "Kazatom Invest" in prelander.text
    assert "Данный сайт не является СМИ" in prelander.text
    assert "fbq(" not in prelander.text and "intlTelInput" not in prelander.text
    assert "{PIXEL_ID}" not in prelander.text


def test_the_recovery_page_gives_phone_messengers_case_form_and_tiktok_pixel(recovery) -> None:
    assert recovery.phones == ("+77000004455",)
    by_kind = {m["kind"]: m for m in recovery.messengers}
    assert by_kind["whatsapp"]["handle"] == "+77000004455"
    assert by_kind["whatsapp"]["url"].startswith("https://wa.me/77000004455?text=")
    assert by_kind["telegram"]["handle"] == "@qorgau_legal_demo"
    assert recovery.pixels == {"tiktok": ["{TIKTOK_PIXEL_ID}"]}
    assert recovery.meta_description.startswith("Вернём до 95%")
    (form,) = recovery.forms
    assert form.action == "https://qorgau-legal.example/send.php"
    platform = next(f for f in form.fields if f.name == "platform_type")
    assert platform.options == ("broker", "invest", "crypto", "other")
    assert {"platform_name", "amount", "loss_date"} <= {f.name for f in form.fields}
    assert form.tracking_fields == ["ttclid", "utm_campaign", "utm_source"]


def test_the_white_page_has_no_form_no_pixel_no_contact() -> None:
    white = analyse_page(page("whitepage").decode("utf-8"), URL)
    assert white.forms == () and white.pixels == {} and white.messengers == ()
    assert white.phones == () and white.title == "Домашняя выпечка — рецепты на каждый день"


def test_google_tags_yandex_counters_and_viber_links_are_recognised() -> None:
    html = """<html><head>
    <script async src="https://www.googletagmanager.com/gtag/js?id=G-AB12CD34EF"></script>
    <script>gtag('config', 'AW-123456789'); ym(12345678, 'init', {});</script>
    <noscript><img src="https://mc.yandex.ru/watch/87654321"></noscript>
    </head><body>
    <a href="viber://chat?number=%2B77010000001">Viber</a>
    <a href="https://api.whatsapp.com/send?phone=77010000002">WA</a>
    <a href="https://t.me/+AbCdEf">group</a>
    <a href="https://partner.example/offer">partner</a> <a href="/local">local</a>
    <a href="tel:+7 701 000 00 03">call</a>
    <script>setTimeout(function(){ location.replace('https://next.example/x'); }, 3000)</script>
    </body></html>"""
    got = analyse_page(html, "https://lander.example/")
    assert got.pixels["google"] == ["AW-123456789", "G-AB12CD34EF"]
    assert got.pixels["yandex_metrika"] == ["12345678", "87654321"]
    handles = {m["kind"]: m["handle"] for m in got.messengers}
    assert handles == {"viber": "+77010000001", "whatsapp": "+77010000002", "telegram": "+AbCdEf"}
    assert got.outbound_links == ("https://partner.example/offer",)
    assert got.phones == ("+77010000003",)
    assert got.js_redirects == ("https://next.example/x",)


def test_malformed_html_is_still_analysed() -> None:
    html = (
        "<html><title>Kaspi бонус</title><body><div><p>Звоните +7 701 000 00 04<form action=x.php>"
        "<input type=hidden name=sub1 value=abc><input name=phone</div></table>"
    )
    got = analyse_page(html, "https://broken.example/a/")
    assert got.title == "Kaspi бонус"
    assert got.phones == ("+77010000004",)
    assert got.forms and got.forms[0].hidden == {"sub1": "abc"}
    assert got.forms[0].action == "https://broken.example/a/x.php"


def test_a_page_declared_utf8_but_written_in_cp1251_is_decoded_as_cp1251() -> None:
    body = "<html><title>Халык Инвест</title><body>Доход 300%</body></html>".encode("cp1251")
    decoded = decode_html(body, "utf-8")
    assert decoded.encoding == "cp1251" and decoded.mismatch
    assert "Халык Инвест" in decoded.text


def test_a_page_without_a_charset_header_uses_its_meta_charset() -> None:
    body = '<meta charset="windows-1251"><p>Каспи</p>'.encode("cp1251")
    decoded = decode_html(body, None)
    assert decoded.encoding == "cp1251" and not decoded.mismatch
    assert "Каспи" in decoded.text


def test_an_honest_utf8_page_is_decoded_as_declared() -> None:
    decoded = decode_html(page("recovery"), "UTF-8")
    assert decoded.encoding == "utf-8" and not decoded.mismatch


def test_click_ids_and_campaign_parameters_are_stripped_for_the_bot_fetch() -> None:
    url = (
        "https://lander.example/p?offer=7&sub1=a&sub12=b&fbclid=c&gclid=d&ttclid=e&yclid=f"
        "&click_id=g&utm_source=fb&utm_campaign=x&page=2"
    )
    assert strip_tracking(url) == "https://lander.example/p?offer=7&page=2"


def test_the_external_id_is_the_page_url_without_tracking_normalised() -> None:
    assert (
        normalise_url("HTTPS://Lander.Example:443/p?z=1&a=2&fbclid=x#form")
        == "https://lander.example/p?a=2&z=1"
    )
    assert normalise_url("http://lander.example") == "http://lander.example/"
    assert normalise_url("http://lander.example:8080/x") == "http://lander.example:8080/x"


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("kaspi-invest.top", "https://kaspi-invest.top/"),
        ("*.halyk-bonus.site", "https://halyk-bonus.site/"),
        ("halyk.example/promo?x=1", "https://halyk.example/promo?x=1"),
        ("kaspi.example:8443/x", "https://kaspi.example:8443/x"),
        ("http://a.example/p", "http://a.example/p"),
        ("javascript:alert(1)", "javascript:alert(1)"),
    ],
)
def test_queued_targets_without_a_scheme_are_fetched_over_https(raw: str, url: str) -> None:
    from crawler.landing_fetch import target_url

    assert target_url(raw) == url


def test_messenger_links_built_in_scripts_are_found_without_false_hosts() -> None:
    html = """<script>
    var wa = 'https://wa.me/77010000006', tg = "t.me/kaspi_bonus_demo";
    var other = "https://chatbot.me/x";
    </script><a href="http://t.me/kaspi_bonus_demo">tg</a>"""
    got = analyse_page(html, "https://lander.example/")
    assert [(m["kind"], m["handle"]) for m in got.messengers] == [
        ("telegram", "@kaspi_bonus_demo"),
        ("whatsapp", "+77010000006"),
    ]


def test_inline_data_uris_do_not_hide_pixels_or_text() -> None:
    blob = "A" * 2_000_000
    html = (
        page("prelander")
        .decode("utf-8")
        .replace("<main", f'<img src="data:image/png;base64,{blob}"><main')
    )
    got = analyse_page(html, URL)
    assert got.pixels["yandex_metrika"] == ["90000001"]
    assert "Kazatom Invest" in got.text and blob not in got.text
