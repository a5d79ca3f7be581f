"""Reading a captured page back from its WARC record, checking it against the SHA-256 stored at
capture time, and reducing it to text for the safe view."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from storage.models import Evidence

MAX_BYTES = 5 * 1024 * 1024
MAX_TEXT = 200_000


class EvidenceUnavailable(Exception):
    """The WARC file or record cannot be read."""


@dataclass(frozen=True)
class Capture:
    payload: bytes
    content_type: str | None
    sha256: str
    verified: bool  # the payload's SHA-256 is the one stored at capture time
    record_type: str


def warc_file(evidence: Evidence, evidence_dir: Path) -> Path:
    path = Path(evidence.warc_path)
    if not path.is_absolute():
        base = evidence_dir.resolve()
        path = (base / path).resolve()
        if not path.is_relative_to(base):
            raise EvidenceUnavailable(f"{evidence.warc_path!r} is outside the evidence directory")
    return path


def read_capture(evidence: Evidence, evidence_dir: Path) -> Capture:
    path = warc_file(evidence, evidence_dir)
    try:
        with path.open("rb") as fh:
            fh.seek(evidence.warc_offset or 0)
            for record in ArchiveIterator(fh):
                payload = record.content_stream().read(MAX_BYTES + 1)
                digest = hashlib.sha256(payload).hexdigest()
                ctype = None
                if record.http_headers is not None:
                    ctype = record.http_headers.get_header("Content-Type")
                return Capture(
                    payload=payload[:MAX_BYTES],
                    content_type=ctype or evidence.content_type,
                    sha256=digest,
                    verified=digest == evidence.sha256,
                    record_type=record.rec_type,
                )
    except ArchiveLoadFailed as exc:
        raise EvidenceUnavailable(f"{path}@{evidence.warc_offset}: {exc}") from None
    except (OSError, EOFError, ValueError) as exc:  # missing file, gzip damage
        raise EvidenceUnavailable(f"cannot read {path}@{evidence.warc_offset}: {exc}") from None
    raise EvidenceUnavailable(f"no WARC record at offset {evidence.warc_offset} of {path}")


def charset_of(content_type: str | None) -> str:
    if content_type and "charset=" in content_type.lower():
        value = content_type.lower().split("charset=", 1)[1].split(";")[0].strip().strip('"')
        try:
            "".encode(value)
        except LookupError:
            return "utf-8"
        return value
    return "utf-8"


def as_text(capture: Capture) -> str:
    """The visible text of a captured page (scripts and styles dropped), or the payload as text."""
    decoded = capture.payload.decode(charset_of(capture.content_type), errors="replace")
    ctype = (capture.content_type or "").lower()
    if "html" in ctype or decoded.lstrip()[:1] == "<":
        soup = BeautifulSoup(decoded, "lxml")
        for tag in soup(["script", "style", "noscript", "template", "iframe", "object"]):
            tag.decompose()
        lines = (line.strip() for line in soup.get_text("\n").splitlines())
        decoded = "\n".join(line for line in lines if line)
    return decoded[:MAX_TEXT]
