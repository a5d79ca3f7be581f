"""The unattended daemon: one APScheduler 3 job per configured source, each run a separate
``scamradar crawl NAME`` process.

- Jobs live in an SQLAlchemy job store on ``DATABASE_URL`` with explicit ids (``source:NAME``)
  and ``replace_existing=True``: a restart neither duplicates nor loses schedules. A source
  removed from sources.yaml loses its job; a changed schedule takes effect on restart or SIGHUP;
  an unchanged one keeps its next run time. A new interval source runs once right away.
- ``max_instances=1`` (no overlapping runs of one source), ``coalesce``, a misfire grace time.
- Every run has a hard timeout (the source's ``timeout``): the crawl's process group is ended
  and the run recorded as ``timeout``. Each run waits in its own worker thread, so a hung source
  never holds up the others.
- Crawl processes die with the scheduler (``PR_SET_PDEATHSIG``), so after a crash no crawl goes
  on unsupervised; on start, runs left ``running`` by a dead process are closed ``interrupted``.
- After every run the source's health is evaluated (:mod:`crawler.health`).
- SIGTERM/SIGINT: no new runs; running crawls get ``SCAMRADAR_SHUTDOWN_GRACE`` to finish, are
  then ended (recorded ``interrupted``), and the daemon exits 0.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from crawler.config import AppSettings
from crawler.health import Webhook, evaluate_source
from crawler.sources import SourceConfig, SourcesFile, load_sources
from storage.models import CrawlRun, utcnow
from storage.runs import RunCounts, close_crawl_run, get_or_create_source, open_crawl_run

logger = logging.getLogger(__name__)

JOB_PREFIX = "source:"
TERMINATE_WAIT_S = 10
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    os.setsid()
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass  # not Linux: children outlive a crashed scheduler; orphan cleanup still applies


def _pid_alive(pid: int | None) -> bool:
    """Whether a process with this id runs here (a zombie nobody reaped yet does not count)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill()
    state = stat.rpartition(")")[2].split()[0]
    return state not in ("Z", "X")


@dataclass
class Children:
    """The crawl processes running now, so that shutdown can wait for them or end them."""

    _procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs[proc.pid] = proc

    def remove(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs.pop(proc.pid, None)

    def running(self) -> list[subprocess.Popen[bytes]]:
        with self._lock:
            return [p for p in self._procs.values() if p.poll() is None]


def end_process_group(proc: subprocess.Popen[bytes], *, wait_s: float = TERMINATE_WAIT_S) -> None:
    """SIGTERM the crawl's process group, then SIGKILL what is left after ``wait_s``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


@dataclass
class Daemon:
    """What the jobs need while the scheduler runs."""

    settings: AppSettings
    config_path: Path
    sources: dict[str, SourceConfig]
    Session: sessionmaker[Session]
    webhook: Webhook | None
    children: Children = field(default_factory=Children)
    stopping: threading.Event = field(default_factory=threading.Event)

    def crawl_argv(self, name: str) -> list[str]:
        return [sys.executable, "-m", "crawler", "crawl", name, "--config", str(self.config_path)]

    def run_source(self, name: str) -> str:
        """One run of one source, start to end; returns the run's final status."""
        source = self.sources.get(name)
        if source is None:  # removed by a reload while the job was already due
            logger.info("source %s is no longer configured: run skipped", name)
            return "skipped"
        if self.stopping.is_set():
            return "skipped"
        timeout_s = source.timeout.total_seconds()
        log_path = self.settings.log_dir / f"crawl-{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        spawned_at = utcnow()
        with log_path.open("ab") as log:
            log.write(f"\n=== {utcnow().isoformat()} scheduled run of {name}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                self.crawl_argv(name),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads touched before exec
            )
            self.children.add(proc)
            logger.info("source %s: run started (pid %d)", name, proc.pid)
            try:
                try:
                    code: int | None = proc.wait(timeout=timeout_s)
                    reason = None
                except subprocess.TimeoutExpired:
                    end_process_group(proc)
                    code = None
                    reason = f"ended after its timeout of {timeout_s:.0f}s"
            finally:
                self.children.remove(proc)
        elapsed = time.monotonic() - started
        status = self._settle(source, proc.pid, spawned_at, code, reason)
        logger.info("source %s: run ended %s in %.1fs (exit %s)", name, status, elapsed, code)
        return status

    def _settle(
        self,
        source: SourceConfig,
        pid: int,
        spawned_at: datetime,
        code: int | None,
        reason: str | None,
    ) -> str:
        """Make sure the run has its final status, then evaluate the source's health."""
        with self.Session.begin() as session:
            run = session.scalar(
                select(CrawlRun)
                .where(
                    CrawlRun.pid == pid, CrawlRun.started_at >= spawned_at - timedelta(seconds=5)
                )
                .order_by(CrawlRun.id.desc())
                .limit(1)
            )
            if code is None:
                status = "timeout"  # whatever the crawl wrote while it was being ended
            elif run is not None and run.status != "running":
                status = run.status  # the crawl closed its own run: the normal case
            elif self.stopping.is_set():
                status, reason = "interrupted", "ended by the scheduler's shutdown"
            elif run is not None:
                status = "failed"
                reason = f"crawl process exited with code {code} without closing its run"
            else:
                status = "failed"
                reason = f"crawl process exited with code {code} before opening its run"
            if run is None:
                row = get_or_create_source(session, source.name, source.spider)
                run = open_crawl_run(session, row, pid=pid)
            if run.status == "running" or status == "timeout":
                close_crawl_run(
                    session, run.id, status, RunCounts.of(run), stats=run.stats, error=reason
                )
            event = evaluate_source(
                session, run.source_id, after_runs=self.settings.alert_after_runs
            )
        if event is not None and self.webhook is not None:
            self.webhook.send(event)
        return status


_daemon: Daemon | None = None


def run_source(name: str) -> str:
    """The job function the job store refers to (by import path)."""
    if _daemon is None:
        raise RuntimeError("scamradar scheduler jobs run only inside `scamradar schedule`")
    return _daemon.run_source(name)


def close_orphaned_runs(session: Session) -> list[int]:
    """Close as ``interrupted`` every run left ``running`` by a process that no longer exists."""
    orphans = [
        run
        for run in session.scalars(select(CrawlRun).where(CrawlRun.status == "running"))
        if not _pid_alive(run.pid)
    ]
    for run in orphans:
        close_crawl_run(
            session,
            run.id,
            "interrupted",
            RunCounts.of(run),
            stats=run.stats,
            error="the crawl process disappeared (scheduler or crawl crashed, machine restarted)",
        )
    return [run.id for run in orphans]


def build_scheduler(engine: Engine, *, workers: int, misfire_grace_s: int) -> BackgroundScheduler:
    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine)},
        executors={"default": ThreadPoolExecutor(max_workers=workers)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": misfire_grace_s,
        },
        timezone=UTC,
    )


@dataclass(frozen=True)
class SyncReport:
    added: list[str]
    changed: list[str]
    kept: list[str]
    removed: list[str]


def sync_jobs(scheduler: BackgroundScheduler, sources: Sequence[SourceConfig]) -> SyncReport:
    """Make the stored jobs match the sources: one job per source, nothing else."""
    wanted = {JOB_PREFIX + s.name: s for s in sources}
    existing = {job.id: job for job in scheduler.get_jobs() if job.id.startswith(JOB_PREFIX)}
    removed = [job_id for job_id in existing if job_id not in wanted]
    for job_id in removed:
        scheduler.remove_job(job_id)
    added, changed, kept = [], [], []
    for job_id, source in wanted.items():
        trigger = source.schedule.trigger(timezone=UTC)
        job = existing.get(job_id)
        if job is not None and str(job.trigger) == str(trigger):
            kept.append(source.name)
            continue
        first_run = {}
        if job is None and source.schedule.kind == "interval":
            first_run = {"next_run_time": datetime.now(UTC)}
        scheduler.add_job(
            "crawler.scheduling:run_source",
            trigger=trigger,
            args=[source.name],
            id=job_id,
            name=source.name,
            replace_existing=True,
            **first_run,
        )
        (added if job is None else changed).append(source.name)
    return SyncReport(added, changed, kept, [j.removeprefix(JOB_PREFIX) for j in removed])


def serve(settings: AppSettings, config_path: Path) -> int:
    """Run the scheduler in the foreground until SIGTERM/SIGINT; returns the exit code."""
    global _daemon
    from storage.db import check_connection, make_engine, session_factory
    from storage.migrate import require_current_schema

    sources = load_sources(config_path)
    engine = make_engine(settings.database_url)
    check_connection(engine)
    require_current_schema(engine)
    Session = session_factory(engine)
    with Session.begin() as session:
        orphans = close_orphaned_runs(session)
    if orphans:
        logger.warning("closed %d orphaned run(s) as interrupted: %s", len(orphans), orphans)

    webhook = Webhook(settings.alert_webhook) if settings.alert_webhook else None
    daemon = Daemon(settings, config_path, _by_name(sources), Session, webhook)
    _daemon = daemon
    scheduler = build_scheduler(
        engine,
        workers=max(8, 2 * len(sources.sources)),
        misfire_grace_s=settings.misfire_grace_s,
    )
    reload_requested = threading.Event()
    stop_requested = threading.Event()

    def on_stop(signum: int, _frame: object) -> None:
        logger.info(
            "%s received: no new runs, finishing the running ones", signal.strsignal(signum)
        )
        stop_requested.set()

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, lambda *_: reload_requested.set())

    scheduler.start(paused=True)
    _log_sync(sync_jobs(scheduler, sources.sources))
    scheduler.resume()
    logger.info(
        "scheduler running: %d source(s) from %s, database %s",
        len(sources.sources),
        config_path,
        engine.url.render_as_string(),
    )
    try:
        while not stop_requested.wait(1.0):
            if reload_requested.is_set():
                reload_requested.clear()
                sources = _reload(scheduler, daemon, config_path) or sources
    finally:
        _shutdown(scheduler, daemon, settings.shutdown_grace_s)
        if webhook is not None:
            webhook.join(timeout=15)
        _daemon = None
        engine.dispose()
    return 0


def _by_name(sources: SourcesFile) -> dict[str, SourceConfig]:
    return {s.name: s for s in sources.sources}


def _reload(
    scheduler: BackgroundScheduler, daemon: Daemon, config_path: Path
) -> SourcesFile | None:
    from crawler.errors import ConfigError

    try:
        sources = load_sources(config_path)
    except ConfigError as exc:
        logger.error("SIGHUP: %s; keeping the schedules as they were", exc)
        return None
    daemon.sources = _by_name(sources)
    _log_sync(sync_jobs(scheduler, sources.sources))
    return sources


def _log_sync(report: SyncReport) -> None:
    for what in ("added", "changed", "kept", "removed"):
        names = getattr(report, what)
        if names:
            logger.info("schedules %s: %s", what, ", ".join(names))


def _shutdown(scheduler: BackgroundScheduler, daemon: Daemon, grace_s: float) -> None:
    scheduler.pause()
    # pause() stops the next pass over the due jobs, not one already under way (it can wait
    # out the database's busy timeout while crawls write). That pass holds the job-store lock:
    # taking it once means it is over, so shutdown() cannot race it and nothing is submitted to
    # a closed executor.
    with scheduler._jobstores_lock:
        pass
    deadline = time.monotonic() + grace_s
    while daemon.children.running() and time.monotonic() < deadline:
        time.sleep(0.2)
    daemon.stopping.set()
    for proc in daemon.children.running():
        logger.warning("crawl pid %d still running after %.0fs grace: ending it", proc.pid, grace_s)
        end_process_group(proc)
    scheduler.shutdown(wait=True)
    logger.info("scheduler stopped")
