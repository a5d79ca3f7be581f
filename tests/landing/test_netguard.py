"""The private-target guard without a reactor: static checks, resolver wrapper, middleware."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from scrapy import Request
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.error import DNSLookupError

from crawler.netguard import (
    GuardedNameResolver,
    NetGuardMiddleware,
    TargetRefused,
    check_url,
    classify_ip,
)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.9.9.9", "loopback"),
        ("10.20.30.40", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "metadata"),
        ("169.254.10.10", "link_local"),
        ("100.64.0.1", "cgnat"),
        ("100.127.255.254", "cgnat"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.10", "private"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("fe80::1", "link_local"),
        ("fec0::1", "site_local"),
        ("ff02::1", "multicast"),
        ("fd00:ec2::254", "metadata"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "metadata"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::1", "loopback"),  # 6to4 wrapping 127.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 wrapping 10.0.0.1
    ],
)
def test_non_public_addresses_are_refused_with_their_reason(address: str, reason: str) -> None:
    assert classify_ip(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "2a00:1450::1"])
def test_global_unicast_addresses_are_allowed(address: str) -> None:
    assert classify_ip(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/", "loopback"),
        ("http://127.0.0.1:8080/admin", "loopback"),
        ("http://10.0.0.5/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://localhost/", "localhost"),
        ("http://LOCALHOST.:8000/", "localhost"),
        ("https://api.localhost/", "localhost"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[fe80::1%25eth0]/", "link_local"),
        ("http://2130706433/", "loopback"),  # 127.0.0.1 as one number
        ("http://0x7f.1/", "loopback"),
        ("http://0177.0.0.1/", "loopback"),
        ("http://0/", "unspecified"),
        ("http://100.64.1.1/", "cgnat"),
        ("ftp://files.example/", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("gopher://127.0.0.1:6379/_", "scheme"),
        ("http:///nohost", "no_host"),
    ],
)
def test_urls_aimed_at_private_targets_or_odd_schemes_are_refused(url: str, reason: str) -> None:
    refusal = check_url(url)
    assert refusal is not None
    assert refusal.reason == reason


@pytest.mark.parametrize(
    "url",
    [
        "https://kaspi-invest.example/promo?sub1=1",
        "http://8.8.8.8/",
        "https://[2606:4700::1111]/",
        "http://127-0-0-1.example/",  # a name: the resolver layer judges it
        "http://0x7f.example/",
    ],
)
def test_public_urls_and_host_names_pass_the_static_check(url: str) -> None:
    assert check_url(url) is None


class FakeResolver:
    """An IHostnameResolver answering from a table, synchronously."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table

    def resolveHostName(self, receiver: Any, hostName: str, portNumber: int = 0, *a: Any) -> None:  # noqa: N802, N803
        receiver.resolutionBegan(None)
        for address in self.table.get(hostName, []):
            cls = IPv6Address if ":" in address else IPv4Address
            receiver.addressResolved(cls("TCP", address, portNumber))
        receiver.resolutionComplete()


class Receiver:
    def __init__(self) -> None:
        self.addresses: list[str] = []
        self.complete = False

    def resolutionBegan(self, resolution: Any) -> None:  # noqa: N802
        pass

    def addressResolved(self, address: Any) -> None:  # noqa: N802
        self.addresses.append(address.host)

    def resolutionComplete(self) -> None:  # noqa: N802
        self.complete = True


def resolve(resolver: GuardedNameResolver, host: str) -> Receiver:
    receiver = Receiver()
    resolver.resolveHostName(receiver, host, 80)
    return receiver


def test_a_host_name_resolving_to_a_private_address_is_refused_at_connect_time() -> None:
    fake = FakeResolver({"rebind.example": ["127.0.0.1"], "metadata.example": ["169.254.169.254"]})
    guard = GuardedNameResolver(fake, lambda: ())
    got = resolve(guard, "rebind.example")
    assert got.addresses == [] and got.complete
    assert guard.refused["rebind.example"].reason == "loopback"
    assert resolve(guard, "metadata.example").addresses == []
    assert guard.refused["metadata.example"].reason == "metadata"


def test_only_the_private_addresses_of_a_mixed_answer_are_dropped() -> None:
    fake = FakeResolver({"mixed.example": ["10.0.0.7", "93.184.216.34", "::1"]})
    guard = GuardedNameResolver(fake, lambda: ())
    assert resolve(guard, "mixed.example").addresses == ["93.184.216.34"]


def test_the_hosts_of_trusted_urls_resolve_unguarded() -> None:
    fake = FakeResolver({"mirror.internal": ["10.1.1.1"]})
    guard = GuardedNameResolver(fake, lambda: {"mirror.internal"})
    assert resolve(guard, "mirror.internal").addresses == ["10.1.1.1"]
    assert guard.refused == {}


class Stats:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def inc_value(self, key: str, count: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + count


def middleware(trusted: set[str] = frozenset()) -> tuple[NetGuardMiddleware, Stats]:  # type: ignore[assignment]
    stats = Stats()
    mw = NetGuardMiddleware(stats, "landing")  # type: ignore[arg-type]
    mw._trusted = frozenset(trusted)
    mw.install_resolver(_FakeReactor(FakeResolver({"rebind.example": ["127.0.0.1"]})))
    return mw, stats


class _FakeReactor:
    def __init__(self, resolver: Any) -> None:
        self.nameResolver = resolver

    def installNameResolver(self, resolver: Any) -> Any:  # noqa: N802
        previous, self.nameResolver = self.nameResolver, resolver
        return previous


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5432/",
        "http://10.1.2.3/admin",
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://localhost:8080/",
    ],
)
def test_an_untrusted_request_to_a_private_target_is_refused_and_counted(url: str) -> None:
    mw, stats = middleware()
    with pytest.raises(TargetRefused) as refused:
        mw.process_request(Request(url, meta={"untrusted": True}))
    assert refused.value.refusal.stat == "refused_private"
    assert stats.values["landing/refused"] == 1
    assert stats.values["landing/refused_private"] == 1
    assert stats.values[f"landing/refused_private/{refused.value.refusal.reason}"] == 1


def test_a_trusted_request_to_a_private_target_is_let_through() -> None:
    mw, stats = middleware({"127.0.0.1"})
    assert mw.process_request(Request("http://127.0.0.1:8000/feed")) is None
    assert stats.values == {}


def test_a_redirect_hop_that_leaves_a_trusted_host_is_untrusted() -> None:
    mw, _ = middleware({"mirror.example"})
    hop = Request(
        "http://127.0.0.1/admin", meta={"redirect_urls": ["https://mirror.example/landing"]}
    )
    with pytest.raises(TargetRefused):
        mw.process_request(hop)


def test_a_redirect_from_a_public_url_to_loopback_is_refused() -> None:
    crawler = get_crawler()
    redirect = RedirectMiddleware.from_crawler(crawler)
    first = Request("https://promo.example/go?fbclid=1", meta={"untrusted": True})
    response = Response(
        first.url, status=302, headers={"Location": "http://127.0.0.1:6379/"}, request=first
    )
    hop = redirect.process_response(first, response)
    assert isinstance(hop, Request) and hop.url == "http://127.0.0.1:6379/"
    mw, stats = middleware()
    with pytest.raises(TargetRefused):
        mw.process_request(hop)
    assert stats.values["landing/refused_private/loopback"] == 1


def test_a_response_that_came_from_a_private_address_is_thrown_away() -> None:
    mw, stats = middleware()
    request = Request("https://promo.example/", meta={"untrusted": True})
    response = HtmlResponse(
        request.url,
        body=b"<html></html>",
        request=request,
        ip_address=ipaddress.ip_address("10.0.0.9"),
    )
    with pytest.raises(TargetRefused):
        mw.process_response(request, response)
    public = HtmlResponse(
        request.url,
        body=b"<html></html>",
        request=request,
        ip_address=ipaddress.ip_address("93.184.216.34"),
    )
    assert mw.process_response(request, public) is public
    assert stats.values["landing/refused_private"] == 1


def test_a_connect_time_refusal_is_reported_as_a_refusal_not_a_dns_error() -> None:
    mw, stats = middleware()
    assert mw.resolver is not None
    resolve(mw.resolver, "rebind.example")
    request = Request("http://rebind.example:8000/", meta={"untrusted": True})
    with pytest.raises(TargetRefused) as refused:
        mw.process_exception(request, DNSLookupError("no results for hostname lookup"))
    assert refused.value.refusal.reason == "loopback"
    assert stats.values["landing/refused_private/loopback"] == 1
    other = Request("http://gone.example/", meta={"untrusted": True})
    assert mw.process_exception(other, DNSLookupError("not found")) is None


def test_private_targets_pass_when_allowed_by_setting_but_odd_schemes_never_do() -> None:
    crawler = get_crawler(settings_dict={"SCAMRADAR_ALLOW_PRIVATE_TARGETS": True})
    crawler.stats = Stats()  # type: ignore[assignment]
    mw = NetGuardMiddleware.from_crawler(crawler)
    assert mw.allow_private
    assert mw.process_request(Request("http://127.0.0.1:8000/", meta={"untrusted": True})) is None
    for url in ("file:///etc/passwd", "ftp://127.0.0.1/"):
        with pytest.raises(TargetRefused):
            mw.process_request(Request(url, meta={"untrusted": True}))
    private = HtmlResponse(
        "http://10.0.0.1/", body=b"", ip_address=ipaddress.ip_address("10.0.0.1")
    )
    assert mw.process_response(Request("http://10.0.0.1/", meta={"untrusted": True}), private)
    assert mw.resolver is None  # no connect-time wrapping either


def test_private_targets_are_allowed_by_the_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCAMRADAR_ALLOW_PRIVATE_TARGETS", "1")
    assert NetGuardMiddleware.from_crawler(get_crawler()).allow_private


def test_the_guard_is_on_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCAMRADAR_ALLOW_PRIVATE_TARGETS", raising=False)
    assert not NetGuardMiddleware.from_crawler(get_crawler()).allow_private
