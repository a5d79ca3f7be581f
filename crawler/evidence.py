"""Evidence: raw responses kept as WARC records, and the check that they are unchanged.

Format (docs/collection.md, "Evidence"): one gzip WARC 1.1 file per crawl run,
``<SCAMRADAR_EVIDENCE_DIR>/<source>/<YYYYmmddTHHMMSSZ>-run<id>.warc.gz``, starting with a
``warcinfo`` record. Each captured response is one ``response`` record (its own gzip member,
so it can be read from its offset alone) with:

- ``WARC-Date`` = when the response was fetched (not when it was written);
- the HTTP status line and headers as received, minus ``Content-Encoding``/``Transfer-Encoding``
  (the payload is kept decoded, as the spider parsed it) and with ``Content-Length`` set to the
  payload's length;
- ``WARC-Payload-Digest: sha256:<base32>`` of the payload, and the same digest in hex in the
  ``evidence.sha256`` column, with ``warc_path`` (relative to the evidence directory),
  ``warc_offset`` and ``warc_record_id``.

Records are buffered in memory and reach the file (flushed and fsynced) in :meth:`WarcStore.sync`,
which the store stage calls before the database rows that point at them are committed, and in
:meth:`WarcStore.close`; warcio's flush after every record is not passed on (one write per batch,
not one per record). A record whose rows were never committed may be lost with a killed process;
a record that a row points at never is.

:func:`verify` re-reads every record the database points at and re-hashes its payload.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.items import Capture

_DROP_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}
_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 404: "Not Found"}
_BUFFER = 1 << 20  # bytes of records held between syncs before a write reaches the file anyway


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class EvidenceRef:
    """Where one capture was written: what the ``evidence`` row records."""

    kind: str
    url: str
    fetched_at: datetime
    http_status: int
    content_type: str | None
    sha256: str
    length: int
    warc_path: str
    warc_offset: int
    warc_record_id: str

    def row(self, ad_id: int, run_id: int | None) -> dict[str, object]:
        return {
            "ad_id": ad_id,
            "crawl_run_id": run_id,
            "kind": self.kind,
            "url": self.url,
            "fetched_at": self.fetched_at,
            "http_status": self.http_status,
            "content_type": (self.content_type or None) and self.content_type[:255],
            "sha256": self.sha256,
            "length": self.length,
            "warc_path": self.warc_path,
            "warc_offset": self.warc_offset,
            "warc_record_id": self.warc_record_id,
        }


class _BatchedFile:
    """The run's file as warcio sees it: writes go to a large buffer; warcio's flush after each
    record is ignored (:meth:`WarcStore.sync` flushes)."""

    __slots__ = ("fh",)

    def __init__(self, fh: BinaryIO):
        self.fh = fh

    def write(self, data: bytes) -> int:
        return self.fh.write(data)

    def tell(self) -> int:
        return self.fh.tell()

    def flush(self) -> None:
        pass


def run_file_name(source: str, run_id: int, started: datetime | None = None) -> str:
    stamp = (started or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{source}/{stamp}-run{run_id}.warc.gz"


class WarcStore:
    """Appends response records to one run's WARC file (opened on the first record)."""

    def __init__(self, root: Path, relative_path: str, *, info: dict[str, str] | None = None):
        self.root = root
        self.relative_path = relative_path
        self.path = root / relative_path
        self.info = info or {}
        self._fh: BinaryIO | None = None
        self._writer: WARCWriter | None = None
        self.records = 0
        self.bytes = 0

    def _open(self) -> WARCWriter:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "ab", buffering=_BUFFER)  # noqa: SIM115 - see close()
            self._writer = WARCWriter(_BatchedFile(self._fh), gzip=True, warc_version="1.1")
            if self._fh.tell() == 0:
                info = {"software": "scamradar", "format": "WARC File Format 1.1", **self.info}
                self._writer.write_record(self._writer.create_warcinfo_record(self.path.name, info))
        return self._writer

    def write(self, capture: Capture) -> EvidenceRef:
        writer = self._open()
        assert self._fh is not None
        body = capture.body
        digest = hashlib.sha256(body)
        content_type = _header(capture.headers, "content-type")
        headers = [
            (name, value)
            for name, value in capture.headers.items()
            if name.lower() not in _DROP_HEADERS
        ]
        headers.append(("Content-Length", str(len(body))))
        status_line = f"{capture.status} {_REASONS.get(capture.status, 'Status')}"
        http_headers = StatusAndHeaders(status_line, headers, protocol="HTTP/1.1")
        fetched = capture.fetched_at.astimezone(UTC)
        record = writer.create_warc_record(
            capture.url,
            "response",
            payload=BytesIO(body),
            length=len(body),
            http_headers=http_headers,
            warc_headers_dict={
                "WARC-Date": fetched.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "WARC-Payload-Digest": "sha256:" + base64.b32encode(digest.digest()).decode(),
            },
        )
        offset = self._fh.tell()
        writer.write_record(record)
        self.records += 1
        self.bytes += self._fh.tell() - offset
        return EvidenceRef(
            kind=capture.kind,
            url=capture.url,
            fetched_at=fetched,
            http_status=capture.status,
            content_type=content_type,
            sha256=digest.hexdigest(),
            length=len(body),
            warc_path=self.relative_path,
            warc_offset=offset,
            warc_record_id=record.rec_headers.get_header("WARC-Record-ID"),
        )

    def sync(self) -> None:
        """Make what was written durable (before the database points at it); the store
        pipeline calls this before each database batch."""
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            self._fh.close()
            self._fh = None
            self._writer = None


def _header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


# --------------------------------------------------------------------------- verification


class RecordUnreadable(Exception):
    """The WARC record at an offset cannot be read."""


def read_payload(path: Path, offset: int) -> tuple[bytes, str | None]:
    """The payload of the record at ``offset`` and its WARC-Record-ID."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        try:
            for record in ArchiveIterator(fh):
                if record.rec_type != "response":
                    raise RecordUnreadable(f"record at offset {offset} is a {record.rec_type}")
                return record.content_stream().read(), record.rec_headers.get_header(
                    "WARC-Record-ID"
                )
        except (ArchiveLoadFailed, OSError, EOFError, ValueError) as exc:  # also zlib damage
            reason = str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__
            raise RecordUnreadable(
                f"no readable WARC record at offset {offset} ({reason})"
            ) from None
    raise RecordUnreadable(f"no record at offset {offset}")


@dataclass(frozen=True, slots=True)
class Problem:
    evidence_id: int
    ad_id: int
    warc_path: str
    warc_offset: int
    kind: str  # missing_file | unreadable | mismatch
    detail: str

    def __str__(self) -> str:
        return (
            f"evidence {self.evidence_id} (ad {self.ad_id}) {self.warc_path}@{self.warc_offset}:"
            f" {self.kind}: {self.detail}"
        )


def verify(sessions: object, root: Path) -> Iterator[tuple[int, Problem | None]]:
    """Check every evidence row: yields (evidence id, None when the record is intact, else the
    problem). Rows are read in id order, in batches; each distinct record is hashed once."""
    from sqlalchemy import select

    from storage.models import Evidence

    last = 0
    cache: dict[tuple[str, int], tuple[str | None, str | None]] = {}
    while True:
        with sessions() as session:  # type: ignore[operator]
            rows = session.execute(
                select(
                    Evidence.id,
                    Evidence.ad_id,
                    Evidence.warc_path,
                    Evidence.warc_offset,
                    Evidence.sha256,
                )
                .where(Evidence.id > last)
                .order_by(Evidence.id)
                .limit(1000)
            ).all()
        if not rows:
            return
        for ev_id, ad_id, warc_path, offset, sha in rows:
            last = ev_id
            key = (warc_path, offset)
            if key not in cache:
                if len(cache) > 10_000:
                    cache.clear()
                cache[key] = _hash_record(root, warc_path, offset)
            actual, error = cache[key]
            if error is not None:
                kind = "missing_file" if error.startswith("missing") else "unreadable"
                yield ev_id, Problem(ev_id, ad_id, warc_path, offset, kind, error)
            elif actual != sha:
                yield (
                    ev_id,
                    Problem(
                        ev_id,
                        ad_id,
                        warc_path,
                        offset,
                        "mismatch",
                        f"stored sha256 {sha}, record hashes to {actual}",
                    ),
                )
            else:
                yield ev_id, None


def _hash_record(root: Path, warc_path: str, offset: int) -> tuple[str | None, str | None]:
    path = Path(warc_path)
    if not path.is_absolute():
        path = root / path
    if not path.is_file():
        return None, f"missing file {path}"
    try:
        payload, _ = read_payload(path, offset)
    except RecordUnreadable as exc:
        return None, str(exc)
    return sha256_hex(payload), None
