"""End to end, in a real headless Chromium (Debian's, driven by Playwright) against
``scamradar serve`` in a subprocess, on a database filled by ``scamradar demo`` plus a crawl of a
hostile Telegram channel (``scamradar crawl`` against the local fixture server). Screenshots go to
``test-artifacts/console/``.

Chromium is installed by ``scripts/test.sh``; without it these tests skip (in CI they fail)."""

from __future__ import annotations

import csv
import io
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from httpserver import FixtureServer

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "console"
CHROMIUM = Path("/usr/bin/chromium")
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PASSWORD = "e2e password for analysts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.slow


def _need_browser() -> None:
    reason = None
    if not CHROMIUM.exists():
        reason = "Debian chromium is not installed (scripts/test.sh installs it)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "playwright is not installed (pip install -e '.[test]')"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Console:
    base_url: str
    env: dict[str, str]
    db_url: str
    demo_output: str

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "crawler", *args],
            cwd=REPO,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
        )


def _wait_for_health(url: str, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"scamradar serve exited: {proc.stderr.read() if proc.stderr else ''}"
            )
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise AssertionError("scamradar serve did not come up")


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    _need_browser()
    work = tmp_path_factory.mktemp("console-e2e")
    db_url = f"sqlite:///{work / 'scamradar.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCAMRADAR_", "DATABASE_"))}
    env.update(
        DATABASE_URL=db_url,
        SCAMRADAR_EVIDENCE_DIR=str(work / "evidence"),
        SCAMRADAR_ALLOW_PRIVATE_TARGETS="1",
    )
    c = Console("", env, db_url, "")

    upgrade = c.cli("db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    demo = subprocess.run(
        [sys.executable, "-m", "crawler", "demo"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert demo.returncode == 0, f"scamradar demo failed:\n{demo.stderr[-4000:]}"
    assert "flagged by the demo crawls" in demo.stdout
    c.demo_output = demo.stdout

    # hostile content, through a real crawl
    server = FixtureServer().start()
    try:
        server.route("/s/hostile_demo", body=(FIXTURES / "hostile_channel.html").read_bytes())
        sources = work / "sources.yaml"
        sources.write_text(
            yaml.safe_dump(
                [
                    {
                        "name": "hostile_tg",
                        "spider": "telegram",
                        "schedule": "every 30m",
                        "base_url": server.base_url,
                        "channels": ["hostile_demo"],
                        "max_pages": 1,
                    }
                ]
            ),
            encoding="utf-8",
        )
        crawled = c.cli(
            "crawl",
            "hostile_tg",
            "--config",
            str(sources),
            "-s",
            "DOWNLOAD_DELAY=0",
            "-s",
            "AUTOTHROTTLE_ENABLED=0",
        )
        assert crawled.returncode == 0, crawled.stderr[-4000:]
    finally:
        server.stop()

    for name, role in (("aigerim", "analyst"), ("boss", "admin")):
        added = c.cli(
            "users", "add", name, "--role", role, "--password-stdin", stdin=PASSWORD + "\n"
        )
        assert added.returncode == 0, added.stderr

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        c.base_url = f"http://127.0.0.1:{port}"
        _wait_for_health(c.base_url, proc)
        yield c
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


@pytest.fixture(scope="module")
def browser(console: Console) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, console: Console) -> Iterator[Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(
        base_url=console.base_url,
        accept_downloads=True,
        viewport={"width": 1400, "height": 1000},
        locale="ru-RU",
    )
    p = context.new_page()
    p.set_default_timeout(15_000)
    dialogs: list[str] = []
    p.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    p.dialogs = dialogs
    try:
        yield p
    finally:
        context.close()


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _sign_in(page: Any, name: str = "aigerim") -> None:
    page.goto("/")
    assert "/login" in page.url
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/")


def _pwned(page: Any) -> Any:
    return page.evaluate("() => window.__pwned === undefined ? null : String(window.__pwned)")


def test_an_analyst_works_through_the_queue_in_a_real_browser(page: Any, console: Console) -> None:
    _sign_in(page)
    _shot(page, "01-queue")
    rows = page.locator("table.queue tbody tr")
    assert rows.count() > 0

    # filter the queue
    page.select_option("select[name=label]", "fake_investment")
    page.click("#apply-filters")
    page.wait_for_url("**label=fake_investment**")
    assert page.locator("table.queue tbody tr").count() > 0
    assert page.locator("table.queue .label-recovery_scam").count() == 0
    _shot(page, "02-queue-filtered")

    # open an ad and confirm it
    page.locator("a.adlink").first.click()
    page.wait_for_url("**/ads/*")
    first_ad = page.url
    assert page.locator("#ad-text").is_visible()
    page.check("input[name=status][value=confirmed]")
    page.fill("textarea[name=note]", "подтверждаю: фейковая платформа")
    page.click("#verdict-submit")
    page.wait_for_url("**/ads/*")
    assert page.locator("#ad-status").inner_text() == "Подтверждено"
    assert "aigerim" in page.locator("#verdicts table").inner_text()
    _shot(page, "03-ad-confirmed")

    # mark another one a false positive, allowlisting its advertiser
    page.goto("/?status=new")
    second = page.locator("a.adlink").first
    second.click()
    page.wait_for_url("**/ads/*")
    assert page.url != first_ad
    page.check("input[name=status][value=false_positive]")
    if page.locator("input[name=allow_advertiser]").is_enabled():
        page.check("input[name=allow_advertiser]")
    page.click("#verdict-submit")
    page.wait_for_url("**/ads/*")
    assert page.locator("#ad-status").inner_text() == "Ложное срабатывание"
    _shot(page, "04-ad-false-positive")

    # export the current filter as CSV
    page.goto("/?label=fake_investment")
    with page.expect_download() as info:
        page.click("#export-csv")
    path = info.value.path()
    data = Path(path).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows_csv = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows_csv and {r["label"] for r in rows_csv} == {"fake_investment"}
    assert "confirmed" in {r["status"] for r in rows_csv}

    # a brand report
    page.goto("/brands")
    page.locator("#brand-list a").first.click()
    page.wait_for_url("**/brands/*")
    assert page.locator("#report-title").is_visible()
    _shot(page, "05-brand-report")

    # the trends chart
    page.goto("/trends")
    chart = page.locator("#chart-label svg.chart")
    assert chart.is_visible()
    assert page.locator("#chart-label polyline").count() == 2
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100
    _shot(page, "06-trends")

    page.goto("/sources")
    _shot(page, "07-sources")
    assert page.dialogs == []


def test_hostile_content_never_runs_or_breaks_the_page(page: Any, console: Console) -> None:
    _sign_in(page)
    page.goto("/?q=" + "%D0%B6%D0%B8%D1%80%D0%BD%D1%8B%D0%B9")  # "жирный", only in the hostile ad
    assert _pwned(page) is None
    links = page.locator("a.adlink")
    assert links.count() == 1
    assert "<script>" not in page.content().split("<body", 1)[1].replace("&lt;script&gt;", "")
    links.first.click()
    page.wait_for_url("**/ads/*")
    text = page.locator("#ad-text").inner_text()
    # the markup is shown as text, literally
    assert "<script>window.__pwned='text-script'</script>" in text
    assert "</textarea>" in text and "<b>жирный</b>" in text
    assert page.locator("#ad-text script, #ad-text img, #ad-text b, #ad-text iframe").count() == 0
    assert page.locator("a[href^='javascript:']").count() == 0
    # the verdict form after the text is intact: the textarea is empty and works
    assert page.locator("textarea[name=note]").input_value() == ""
    page.fill("textarea[name=note]", "checked")
    assert page.locator("#verdict-submit").is_visible()
    _shot(page, "08-hostile-ad")

    evidence = page.locator("a[href^='/evidence/']")
    assert evidence.count() >= 1
    evidence.first.click()
    page.wait_for_url("**/evidence/*")
    assert page.locator("#integrity.ok, #integrity").first.is_visible()
    assert "badge ok" in (page.locator("#integrity").get_attribute("class") or "")
    frame_el = page.locator("iframe.captured")
    assert frame_el.get_attribute("sandbox") == ""
    frame = frame_el.element_handle().content_frame()
    frame.wait_for_load_state()
    assert "Halyk Bank" in frame.locator("body").inner_text()
    page.wait_for_timeout(300)  # give a script, were it allowed, the chance to run
    assert _pwned(page) is None
    assert frame.evaluate("() => window.__pwned === undefined") is True
    _shot(page, "09-evidence")
    assert page.dialogs == []


def test_an_analyst_cannot_open_user_management_but_an_admin_can(
    page: Any, console: Console
) -> None:
    _sign_in(page)
    response = page.goto("/admin/users")
    assert response is not None and response.status == 403
    page.goto("/")
    page.click("#logout")
    page.wait_for_url("**/login**")
    _sign_in(page, "boss")
    page.goto("/admin/users")
    assert "aigerim" in page.locator("#users").inner_text()
    _shot(page, "10-users")


def test_the_interface_switches_to_kazakh_and_english(page: Any, console: Console) -> None:
    _sign_in(page)
    page.click("button[name=lang][value=kk]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "kk"
    assert "Кезек" in page.locator("header").inner_text()
    _shot(page, "11-kazakh")
    page.click("button[name=lang][value=en]")
    page.wait_for_load_state()
    assert "Queue" in page.locator("header").inner_text()
    page.click("button[name=lang][value=ru]")
