"""The private-target guard: may a URL found inside scraped content be fetched?

URLs found in ads (landing links, buttons, previews, look-alike domains from certificate logs)
are **untrusted**: a scammer, or anyone who can place an ad, chooses them. Fetched blindly they
would let an ad make the crawler call ``http://169.254.169.254/`` (cloud metadata),
``http://127.0.0.1:5432/`` or an intranet host (SSRF). A source's own configured ``base_url`` and
``urls`` are trusted.

Three layers, in the order a request meets them:

1. **Static check** (:func:`check_url`, in :meth:`NetGuardMiddleware.process_request`, no DNS):
   only ``http``/``https``; no ``localhost``/``*.localhost``; an IP literal (also the numeric
   forms ``http://2130706433/``, ``http://0x7f.1/``, ``http://0177.0.0.1/`` that resolvers accept)
   must be a global unicast address. Runs again on every redirect hop, since redirect requests are
   copies of the original (``meta`` included) and pass through the downloader middlewares anew.
2. **Connect-time check** (:class:`GuardedNameResolver`): the reactor's host name resolver is
   wrapped so that every address a host name resolves to is checked *as it is handed to the
   connection*; refused addresses are dropped, and a host left with none fails to connect. The name
   is resolved once and the checked address is the one connected to, so DNS rebinding (public
   address at check time, ``127.0.0.1`` at connect time) does not get through. Hosts of trusted
   URLs are exempt (the resolver sees host names, not requests).
3. **Peer check** (``response.ip_address``, in ``process_response``): the address the response
   actually came from, as Scrapy reports it; a response from a refused address is thrown away
   before any redirect is followed or anything is stored.

Not covered (see ``docs/landing.md``): requests sent through an HTTP(S) proxy (the proxy resolves
the name; layer 2 sees the proxy, layer 3 reports the proxy's address); download handlers that do
not resolve through the reactor (the optional httpx handler: only layers 1 and 3 apply); an
untrusted URL on a host name that a trusted URL of the same crawl also uses (layer 2 exempts the
host, layers 1 and 3 still apply); connections kept alive in Scrapy's pool are not re-resolved.

``SCAMRADAR_ALLOW_PRIVATE_TARGETS=1`` (or the Scrapy setting of the same name) switches the address
checks off, for tests and closed networks; schemes other than http(s) stay refused.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import CannotResolveHostError, IgnoreRequest
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IHostnameResolver, IResolutionReceiver
from zope.interface import implementer, provider

from crawler.config import AppSettings

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https"})
#: ``request.meta`` key: ``True`` marks a URL taken from scraped content.
UNTRUSTED_META = "untrusted"
#: ``request.meta`` key set on a refused request's exception path (the :class:`Refusal`).
REFUSAL_META = "netguard_refusal"
#: Addresses that cloud providers serve instance metadata on (refused with their own reason).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254")
)
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|\d+)(\.(0x[0-9a-f]*|\d+)){0,3}$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a URL may not be fetched: a stable ``reason`` code and a human ``detail``."""

    reason: str  # scheme | no_host | localhost | loopback | private | link_local | metadata |
    # cgnat | unspecified | multicast | reserved | site_local | not_global
    detail: str

    @property
    def stat(self) -> str:
        """The crawl-stats family: ``refused_scheme`` or ``refused_private``."""
        return "refused_scheme" if self.reason in ("scheme", "no_host") else "refused_private"

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


class TargetRefused(IgnoreRequest):
    """A request the guard refused; carries the :class:`Refusal`."""

    def __init__(self, url: str, refusal: Refusal) -> None:
        super().__init__(f"refused {url}: {refusal}")
        self.url = url
        self.refusal = refusal


def classify_ip(ip: IPAddress) -> str | None:
    """The refusal reason for ``ip``, or None when it is a global unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return classify_ip(embedded)
        if ip.is_site_local:
            return "site_local"
    if ip in METADATA_ADDRESSES:
        return "metadata"
    for reason, hit in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link_local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("cgnat", isinstance(ip, ipaddress.IPv4Address) and ip in CGNAT),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    ):
        if hit:
            return reason
    return None if ip.is_global else "not_global"


def parse_ip_literal(host: str) -> IPAddress | None:
    """``host`` as an address when it is one, including the numeric IPv4 forms
    (``2130706433``, ``0x7f.1``, ``0177.0.0.1``) that ``inet_aton`` and hence resolvers accept."""
    host = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _NUMERIC_HOST.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_ip(ip: IPAddress) -> Refusal | None:
    reason = classify_ip(ip)
    return None if reason is None else Refusal(reason, f"{ip} is a {reason} address")


def check_url(url: str) -> Refusal | None:
    """The static check (no DNS): None when ``url`` may be requested, else why not."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError as exc:
        return Refusal("no_host", f"unparseable URL: {exc}")
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        return Refusal("scheme", f"scheme {scheme or '(none)'!r} is not http(s)")
    if not host:
        return Refusal("no_host", "URL has no host")
    host = host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return Refusal("localhost", f"host {host!r} is localhost")
    ip = parse_ip_literal(host)
    return None if ip is None else check_ip(ip)


def url_host(url: str) -> str | None:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.rstrip(".").lower() if host else None


@provider(IResolutionReceiver)
class _FilteringReceiver:
    """Passes on the addresses the guard accepts; records the ones it refuses."""

    def __init__(self, receiver: Any, host: str, resolver: GuardedNameResolver) -> None:
        self._receiver = receiver
        self._host = host
        self._resolver = resolver

    def resolutionBegan(self, resolution: Any) -> None:  # noqa: N802 - Twisted interface
        self._receiver.resolutionBegan(resolution)

    def addressResolved(self, address: Any) -> None:  # noqa: N802
        refusal = self._resolver.check_address(self._host, getattr(address, "host", None))
        if refusal is None:
            self._receiver.addressResolved(address)

    def resolutionComplete(self) -> None:  # noqa: N802
        self._receiver.resolutionComplete()


@implementer(IHostnameResolver)
class GuardedNameResolver:
    """Wraps the reactor's name resolver; drops refused addresses of untrusted hosts.

    ``refused`` maps a host name to the :class:`Refusal` of the last address it was refused for,
    so that the failed connection can be reported as a refusal rather than a DNS error.
    """

    def __init__(self, wrapped: Any, trusted_hosts: Callable[[], Iterable[str]]) -> None:
        self.wrapped = wrapped
        self._trusted_hosts = trusted_hosts
        self.refused: dict[str, Refusal] = {}

    def check_address(self, host: str, address: str | None) -> Refusal | None:
        host = host.rstrip(".").lower()
        if host in set(self._trusted_hosts()):
            return None
        refusal: Refusal | None = None
        try:
            ip = ipaddress.ip_address((address or "").split("%", 1)[0])
        except ValueError:
            refusal = Refusal("not_global", f"{host} resolved to {address!r}")
        else:
            reason = classify_ip(ip)
            if reason is not None:
                refusal = Refusal(reason, f"{host} resolves to {ip}, a {reason} address")
        if refusal is not None:
            self.refused[host] = refusal
            logger.warning("netguard: connect-time refusal: %s", refusal)
        return refusal

    def resolveHostName(  # noqa: N802 - Twisted interface
        self,
        resolutionReceiver: Any,  # noqa: N803
        hostName: str,  # noqa: N803
        portNumber: int = 0,  # noqa: N803
        addressTypes: Sequence[type] | None = None,  # noqa: N803
        transportSemantics: str = "TCP",  # noqa: N803
    ) -> Any:
        return self.wrapped.resolveHostName(
            _FilteringReceiver(resolutionReceiver, hostName, self),
            hostName,
            portNumber,
            addressTypes,
            transportSemantics,
        )


def record_refusal(
    stats: StatsCollector, prefix: str, url: str, refusal: Refusal, stage: str
) -> TargetRefused:
    """Count and log a refusal; the exception to raise for it. Stats: ``<prefix>/refused``,
    ``<prefix>/refused_scheme`` or ``<prefix>/refused_private`` and
    ``<prefix>/refused_private/<reason>``."""
    stats.inc_value(f"{prefix}/refused")
    stats.inc_value(f"{prefix}/{refusal.stat}")
    if refusal.stat == "refused_private":
        stats.inc_value(f"{prefix}/refused_private/{refusal.reason}")
    logger.warning("netguard: refused %s (%s, %s)", url, refusal, stage)
    return TargetRefused(url, refusal)


class NetGuardMiddleware:
    """Downloader middleware that refuses untrusted requests to private targets.

    A request is untrusted when ``request.meta["untrusted"]`` is true, or when it is a redirect
    hop that left the host of a trusted request (the remote server chose it, not the config).
    Trusted hosts come from the spider's ``trusted_hosts`` attribute (a collection of host names).

    Settings read: ``SCAMRADAR_ALLOW_PRIVATE_TARGETS`` (bool; the environment variable of the same
    name, read through :class:`crawler.config.AppSettings`, also counts): true → addresses are
    not checked (no resolver wrapping, no peer check). Schemes other than http(s) stay refused
    either way: ``file://`` or ``ftp://`` from an ad is never fetched.
    ``NETGUARD_STATS_PREFIX`` (default ``"landing"``): stats are ``<prefix>/refused``,
    ``<prefix>/refused_private``, ``<prefix>/refused_private/<reason>`` and
    ``<prefix>/refused_scheme``.
    """

    def __init__(self, stats: StatsCollector, prefix: str, *, allow_private: bool = False) -> None:
        self.stats = stats
        self.prefix = prefix
        self.allow_private = allow_private
        self.resolver: GuardedNameResolver | None = None
        self._previous_resolver: Any = None
        self._trusted: frozenset[str] = frozenset()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NetGuardMiddleware:
        settings = crawler.settings
        # Either switch turns the guard off: the Scrapy setting (set by `scamradar crawl` from
        # AppSettings) or, under plain `scrapy crawl`, the environment variable itself.
        allow = settings.getbool("SCAMRADAR_ALLOW_PRIVATE_TARGETS") or (
            AppSettings.from_env().allow_private_targets
        )
        if allow:
            logger.warning(
                "netguard: SCAMRADAR_ALLOW_PRIVATE_TARGETS is on: private targets allowed"
            )
        assert crawler.stats is not None
        prefix = settings.get("NETGUARD_STATS_PREFIX", "landing")
        mw = cls(crawler.stats, prefix, allow_private=allow)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    # -- lifecycle -------------------------------------------------------------------------------
    def spider_opened(self, spider: Spider) -> None:
        self._trusted = frozenset(
            h.rstrip(".").lower() for h in getattr(spider, "trusted_hosts", ())
        )

    def spider_closed(self, spider: Spider) -> None:
        if self.resolver is not None and self._previous_resolver is not None:
            from twisted.internet import reactor

            if reactor.nameResolver is self.resolver:  # type: ignore[attr-defined]
                reactor.installNameResolver(self._previous_resolver)  # type: ignore[attr-defined]

    def install_resolver(self, reactor: Any) -> GuardedNameResolver:
        """Wrap ``reactor``'s name resolver (once). Done lazily, at the first request, because
        Scrapy installs its own resolver when the reactor starts, after middlewares are built."""
        current = reactor.nameResolver
        if isinstance(current, GuardedNameResolver):
            self.resolver = current
            return current
        self.resolver = GuardedNameResolver(current, lambda: self._trusted)
        self._previous_resolver = reactor.installNameResolver(self.resolver)
        return self.resolver

    # -- trust -----------------------------------------------------------------------------------
    def is_untrusted(self, request: Request) -> bool:
        if request.meta.get(UNTRUSTED_META):
            return True
        chain = request.meta.get("redirect_urls") or ()
        return bool(chain) and url_host(request.url) != url_host(chain[0])

    def refuse(self, request: Request, refusal: Refusal, stage: str) -> TargetRefused:
        request.meta[REFUSAL_META] = refusal
        return record_refusal(self.stats, self.prefix, request.url, refusal, stage)

    # -- downloader middleware -----------------------------------------------------------------
    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if self.resolver is None and not self.allow_private:
            from twisted.internet import reactor

            self.install_resolver(reactor)
        if not self.is_untrusted(request):
            return
        refusal = check_url(request.url)
        if refusal is not None and (not self.allow_private or refusal.stat == "refused_scheme"):
            raise self.refuse(request, refusal, "before request")

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        ip = getattr(response, "ip_address", None)
        if ip is not None and not self.allow_private and self.is_untrusted(request):
            refusal = check_ip(ip)
            if refusal is not None:
                raise self.refuse(request, refusal, "response came from a refused address")
        return response

    def process_exception(
        self, request: Request, exception: BaseException, spider: Spider | None = None
    ) -> None:
        # Twisted's HostnameEndpoint fails with DNSLookupError("no results for hostname lookup")
        # when the guarded resolver dropped every address.
        if self.resolver is None or not isinstance(
            exception, DNSLookupError | CannotResolveHostError
        ):
            return
        host = url_host(request.url)
        refusal = self.resolver.refused.get(host or "")
        if refusal is not None and self.is_untrusted(request):
            raise self.refuse(request, refusal, "at connect time")
