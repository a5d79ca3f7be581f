"""What a landing page says about its operators: text, forms, phones, messengers, pixels, links.

Pure functions over bytes and strings, no Scrapy: :func:`decode_html` picks the charset the
page really uses, :func:`analyse_page` extracts. Cloaking (comparing two fetches) and the
tracking-parameter helpers live in :mod:`crawler.landing_cloak`.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import phonenumbers
from bs4 import BeautifulSoup, Tag

from crawler.landing_cloak import is_tracking_param

# -- charset ---------------------------------------------------------------------------------------
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)
#: Tried in this order when neither the header nor the page names a charset that decodes cleanly:
#: UTF-8, then the Cyrillic single-byte encodings Russian/Kazakh kits are still served in.
FALLBACK_ENCODINGS = ("utf-8", "cp1251", "koi8-r")


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str
    declared: str | None  # what the Content-Type header said
    mismatch: bool  # the declared charset did not decode the body


def decode_html(body: bytes, declared: str | None) -> Decoded:
    """Decode ``body``: the header's charset if it decodes cleanly, then a BOM, the page's own
    ``<meta charset>``, then :data:`FALLBACK_ENCODINGS`; as a last resort UTF-8 with replacement."""
    header = _codec(declared)
    candidates: list[str] = []
    if body.startswith(codecs.BOM_UTF8):
        candidates.append("utf-8-sig")
    if header:
        candidates.append(header)
    meta = _META_CHARSET.search(body[:4096])
    meta_codec = _codec(meta.group(1).decode("ascii", "replace")) if meta else None
    if meta_codec:
        candidates.append(meta_codec)
    candidates.extend(FALLBACK_ENCODINGS)
    for name in dict.fromkeys(candidates):
        try:
            text = body.decode(name)
        except UnicodeDecodeError:
            continue
        return Decoded(
            text, name, declared, mismatch=bool(header) and name not in (header, "utf-8-sig")
        )
    return Decoded(body.decode("utf-8", "replace"), "utf-8", declared, mismatch=bool(header))


HTML_TYPES = ("text/html", "application/xhtml+xml")


def decode_html_response(body: bytes, content_type: str | None) -> Decoded | None:
    """:func:`decode_html` for an HTTP response; None when it is not HTML (another declared
    type, or no type and a body that does not start like markup)."""
    content_type = (content_type or "").lower()
    mime = content_type.split(";", 1)[0].strip()
    if mime and mime not in HTML_TYPES:
        return None
    if not mime and body.lstrip()[:1] != b"<":
        return None
    declared = None
    if "charset=" in content_type:
        declared = content_type.split("charset=", 1)[1].split(";", 1)[0].strip()
    return decode_html(body, declared)


# -- page analysis ---------------------------------------------------------------------------------
MAX_TEXT_CHARS = 200_000  # visible text kept per page (phone matching and comparison run on it)
MAX_LINKS = 200
INVISIBLE_TAGS = ("script", "style", "noscript", "template", "svg", "iframe", "object", "head")

PIXEL_PATTERNS: dict[str, tuple[re.Pattern[str], ...]] = {
    "meta": (
        re.compile(r"""fbq\(\s*['"]init['"]\s*,\s*['"]([^'"]{1,64})['"]"""),
        re.compile(r"""fbq\(\s*['"]init['"]\s*,\s*(\d{6,20})\b"""),  # an unquoted number
        re.compile(r"facebook\.com/tr/?\?id=([^&\"'\s]{1,64})"),
    ),
    "yandex_metrika": (
        re.compile(r"""\bym\(\s*['"]?(\d{4,12})['"]?\s*,\s*['"]init['"]"""),
        re.compile(r"mc\.yandex\.ru/watch/(\d{4,12})"),
        # the older counter: new Ya.Metrika({id: N, …}) / Ya.Metrika2, w.yaCounterN
        re.compile(r"""Ya\.Metrika2?\(\s*\{[^}]{0,200}?\bid\s*:\s*['"]?(\d{4,12})"""),
        re.compile(r"\byaCounter(\d{4,12})\b"),
    ),
    "tiktok": (
        re.compile(r"""ttq\.load\(\s*['"]([^'"]{1,64})['"]"""),
        re.compile(r"analytics\.tiktok\.com/i18n/pixel/events\.js\?[^\"'\s<>]*?\bsdkid=(\w{6,40})"),
    ),
    "google": (
        re.compile(r"\b((?:G|AW|GT|DC)-[A-Z0-9]{6,12}|GTM-[A-Z0-9]{4,9}|UA-\d{4,10}-\d{1,4})\b"),
    ),
    "vk": (
        re.compile(r"\b(VK-RTRG-\d{3,12}-[A-Za-z0-9]{3,12})\b"),
        re.compile(r"""VK\.Retargeting\.Init\(\s*['"]([^'"]{1,64})['"]"""),
    ),
}
MESSENGER_HOSTS = {
    "wa.me": "whatsapp",
    "api.whatsapp.com": "whatsapp",
    "chat.whatsapp.com": "whatsapp",
    "web.whatsapp.com": "whatsapp",
    "t.me": "telegram",
    "telegram.me": "telegram",
    "telegram.dog": "telegram",
    "invite.viber.com": "viber",
    "viber.click": "viber",
}
# Both start with literal alternatives (no optional prefix), so that scanning stays fast.
_MESSENGER_IN_MARKUP = re.compile(
    r"""(?<![\w.-])(?:wa\.me|api\.whatsapp\.com|chat\.whatsapp\.com|t\.me|telegram\.me|"""
    r"""invite\.viber\.com)/[^\s"'<>\\)]*|(?:viber|tg|whatsapp)://[^\s"'<>\\)]+""",
    re.IGNORECASE,
)
_JS_REDIRECT = re.compile(
    r"""location(?:\.(?:replace|assign)\(\s*|(?:\.href)?\s*=\s*)['"]([^'"]{1,2000})['"]"""
)
#: Inline ``data:`` URIs (base64 images, fonts) are dropped before analysis: megabytes of noise
#: that no pixel, link or text lives in.
_DATA_URI = re.compile(r"""data:[^"'\s)>]{512,}""")
#: Markup analysed per page, after dropping data URIs (the capture keeps the whole body).
MAX_MARKUP_CHARS = 2_000_000
#: Hidden form fields that name the affiliate offer (kept in ``Form.tracking_fields``).
AFFILIATE_FIELDS = frozenset({"offer_id", "offer", "flow", "stream", "landing_id", "pixel"})
_BACK_BUTTON_HIJACK = (re.compile(r"history\.pushState"), re.compile(r"onpopstate|popstate"))
_WS = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class FormField:
    tag: str
    name: str | None
    type: str
    value: str | None  # hidden fields and selected defaults; None for what the visitor types
    required: bool
    placeholder: str | None
    options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Form:
    action: str | None
    method: str
    id: str | None
    fields: tuple[FormField, ...]

    @property
    def hidden(self) -> dict[str, str]:
        return {f.name: f.value or "" for f in self.fields if f.type == "hidden" and f.name}

    @property
    def tracking_fields(self) -> list[str]:
        """Names of the fields that carry click ids, sub-ids or the affiliate's offer."""
        return sorted(
            {
                f.name
                for f in self.fields
                if f.name and (is_tracking_param(f.name) or f.name.lower() in AFFILIATE_FIELDS)
            }
        )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fields"] = [
            {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(f).items()}
            for f in self.fields
        ]
        data["hidden"] = self.hidden
        data["tracking_fields"] = self.tracking_fields
        return data


@dataclass(frozen=True, slots=True)
class PageAnalysis:
    title: str | None
    meta_description: str | None
    language: str | None
    text: str
    forms: tuple[Form, ...] = ()
    phones: tuple[str, ...] = ()  # E.164
    messengers: tuple[dict[str, str], ...] = ()  # {kind, url, handle}
    pixels: dict[str, list[str]] = field(default_factory=dict)
    outbound_links: tuple[str, ...] = ()
    js_redirects: tuple[str, ...] = ()
    back_button_hijack: bool = False

    def as_extra(self) -> dict[str, Any]:
        """The JSON-serialisable facts for ``AdItem.extra``."""
        return {
            "meta_description": self.meta_description,
            "forms": [f.as_dict() for f in self.forms],
            "phones": list(self.phones),
            "messengers": [dict(m) for m in self.messengers],
            "pixels": {k: list(v) for k, v in self.pixels.items()},
            "outbound_links": list(self.outbound_links),
            "js_redirects": list(self.js_redirects),
            "back_button_hijack": self.back_button_hijack,
        }


def _attr(tag: Tag, name: str) -> str | None:
    value = tag.get(name)
    if isinstance(value, list):
        value = " ".join(value)
    return value.strip() if isinstance(value, str) else None


def _form_field(tag: Tag) -> FormField:
    kind = (_attr(tag, "type") or ("text" if tag.name == "input" else tag.name)).lower()
    value: str | None = None
    options: tuple[str, ...] = ()
    if tag.name == "select":
        options = tuple(_attr(o, "value") or o.get_text(strip=True) for o in tag.find_all("option"))
    elif kind in ("hidden", "checkbox", "radio", "submit") or tag.name == "button":
        value = _attr(tag, "value")
    if kind in ("checkbox", "radio"):
        value = (value or "on") if tag.has_attr("checked") else None
    return FormField(
        tag=tag.name,
        name=_attr(tag, "name"),
        type=kind,
        value=value,
        required=tag.has_attr("required"),
        placeholder=_attr(tag, "placeholder"),
        options=options,
    )


#: A field that asks for a person (a lead): by type, or by its name or placeholder.
_LEAD_FIELD = re.compile(r"phone|tel|e-?mail|name|имя|телефон|фамилия|почта|аты|нөмір", re.I)


def _fields(container: Tag, *, orphans_only: bool = False) -> tuple[FormField, ...]:
    return tuple(
        _form_field(t)
        for t in container.find_all(["input", "select", "textarea", "button"])
        if (t.name != "button" or t.has_attr("name"))
        and not (orphans_only and t.find_parent("form") is not None)
    )


def _forms(soup: BeautifulSoup, base_url: str) -> tuple[Form, ...]:
    forms = []
    for form in soup.find_all("form"):
        action = _attr(form, "action")
        forms.append(
            Form(
                action=urljoin(base_url, action) if action else None,
                method=(_attr(form, "method") or "get").lower(),
                id=_attr(form, "id"),
                fields=_fields(form),
            )
        )
    # Kits often have no <form> at all: bare inputs and a button whose script posts the lead.
    # Those fields, when they ask for a person (a phone, an e-mail, a name), are one more form,
    # ``method: "script"``, with no action.
    body = soup.body or soup
    orphans = _fields(body, orphans_only=True)
    asks = [
        f
        for f in orphans
        if f.type in ("tel", "email")
        or (
            f.type in ("text", "textarea", "number")
            and _LEAD_FIELD.search(f"{f.name or ''} {f.placeholder or ''}")
        )
    ]
    if asks:
        forms.append(Form(action=None, method="script", id=None, fields=orphans))
    return tuple(forms)


def _digits(value: str) -> str:
    """A phone number as ``+digits`` ("+7 700…", " 7700…" after a ``+`` read as a space)."""
    digits = re.sub(r"\D", "", value)
    return f"+{digits}" if digits else ""


def _messenger(url: str) -> dict[str, str] | None:
    """The messenger a link opens and the handle it names: ``+<digits>`` for a phone,
    ``@name`` for a Telegram username, the invite or QR code (``joinchat/…``, ``+…``,
    ``message/…``) otherwise."""
    if url.startswith("//"):
        url = "https:" + url
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = dict(parse_qsl(parts.query))
    if scheme in ("viber", "tg", "whatsapp"):
        kind = {"tg": "telegram"}.get(scheme, scheme)
        if query.get("domain"):
            handle = f"@{query['domain']}"
        elif query.get("number") or query.get("phone"):
            handle = _digits(query.get("number") or query.get("phone") or "")
        else:
            handle = query.get("chatURI") or ""
        return {"kind": kind, "url": url, "handle": handle}
    host = (parts.hostname or "").lower().removeprefix("www.")
    kind = MESSENGER_HOSTS.get(host)
    if kind is None:
        return None
    segments = [s for s in parts.path.split("/") if s]
    handle = segments[0] if segments else ""
    if kind == "whatsapp":
        if query.get("phone"):
            handle = _digits(query["phone"])
        elif handle.isdigit():
            handle = f"+{handle}"
        elif handle in ("message", "qr") and len(segments) > 1:
            handle = f"{handle}/{segments[1]}"  # a business short link / QR code
        elif handle == "send":
            handle = ""
    elif kind == "telegram":
        if handle == "s" and len(segments) > 1:  # t.me/s/<channel>: the web preview
            handle = segments[1]
        if handle in ("joinchat", "addlist") and len(segments) > 1:
            handle = f"{handle}/{segments[1]}"
        elif handle.startswith("+"):
            pass  # an invite link (+AbC…) or a phone number (+7…)
        elif handle in ("share", "iv", "proxy", "socks", "setlanguage", "addstickers"):
            handle = ""
        elif handle:
            handle = f"@{handle}"
    return {"kind": kind, "url": url, "handle": handle}


def _phones(text: str, tel_links: list[str]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for chunk in [text[:MAX_TEXT_CHARS], *tel_links]:
        for match in phonenumbers.PhoneNumberMatcher(chunk, "KZ"):
            found[phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)] = (
                None
            )
    return tuple(found)


def analyse_page(html: str, url: str) -> PageAnalysis:
    """Everything :class:`PageAnalysis` holds, from decoded ``html`` served at ``url``."""
    html = _DATA_URI.sub("data:", html)[:MAX_MARKUP_CHARS]
    soup = BeautifulSoup(html, "lxml")
    title_tag = soup.find("title")
    title = _WS.sub(" ", title_tag.get_text()).strip() or None if title_tag else None
    desc_tag = soup.find("meta", attrs={"name": re.compile("^description$", re.I)})
    meta_description = _attr(desc_tag, "content") if isinstance(desc_tag, Tag) else None
    html_tag = soup.find("html")
    language = _attr(html_tag, "lang") if isinstance(html_tag, Tag) else None

    page_host = (urlsplit(url).hostname or "").lower()
    hrefs = [h for a in soup.find_all(["a", "area"]) if (h := _attr(a, "href"))]
    messengers: dict[tuple[str, str], dict[str, str]] = {}
    outbound: dict[str, None] = {}
    tel_links: list[str] = []
    in_markup = [m if "://" in m else f"https://{m}" for m in _MESSENGER_IN_MARKUP.findall(html)]
    for href in hrefs + in_markup:
        if href.lower().startswith("tel:"):
            tel_links.append(href[4:])
            continue
        found = _messenger(href)
        if found is not None:
            messengers.setdefault((found["kind"], found["handle"] or found["url"]), found)
            continue
        absolute = urljoin(url, href)
        parts = urlsplit(absolute)
        if parts.scheme in ("http", "https") and (parts.hostname or "").lower() != page_host:
            if len(outbound) < MAX_LINKS:
                outbound[absolute] = None

    pixels = {
        kind: sorted({m for p in patterns for m in p.findall(html)})
        for kind, patterns in PIXEL_PATTERNS.items()
    }
    js_redirects = tuple(
        dict.fromkeys(t for t in _JS_REDIRECT.findall(html) if not t.startswith("#"))
    )
    hijack = all(p.search(html) for p in _BACK_BUTTON_HIJACK)
    forms = _forms(soup, url)

    for tag in soup.find_all(INVISIBLE_TAGS):
        tag.decompose()
    for tag in soup.find_all(style=re.compile(r"display\s*:\s*none", re.I)):
        tag.decompose()
    text = _WS.sub(" ", soup.get_text(" ")).strip()[:MAX_TEXT_CHARS]

    return PageAnalysis(
        title=title,
        meta_description=meta_description,
        language=language,
        text=text,
        forms=forms,
        phones=_phones(text, tel_links),
        messengers=tuple(messengers.values()),
        pixels={k: v for k, v in pixels.items() if v},
        outbound_links=tuple(outbound),
        js_redirects=js_redirects,
        back_button_hijack=hijack,
    )
