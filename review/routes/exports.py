"""Exports of the queue's current filter: the very rows and format of ``scamradar export``
(the same filter, :func:`storage.queries.iter_export_rows`, ``write_csv``/``write_jsonl``).
The file is spooled (memory up to a few MB, then a temporary file) and streamed back."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from crawler.cli.export import write_csv, write_jsonl
from review.queue import QueueParams
from storage.queries import iter_export_rows

router = APIRouter()
SPOOL_BYTES = 8 * 1024 * 1024
CHUNK = 64 * 1024


def _export(request: Request, fmt: str) -> StreamingResponse:
    params = QueueParams.parse(request.query_params)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b")  # noqa: SIM115
    text = io.TextIOWrapper(spool, encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="")
    with request.app.state.sessions() as db:
        rows = iter_export_rows(db, params.ad_filter())
        (write_csv if fmt == "csv" else write_jsonl)(rows, text)
    text.flush()
    text.detach()
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        try:
            while block := spool.read(CHUNK):
                yield block
        finally:
            spool.close()

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson; charset=utf-8"
    return StreamingResponse(
        chunks(),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="scamradar-{stamp}.{fmt}"'},
    )


@router.get("/export.csv")
def export_csv(request: Request) -> StreamingResponse:
    return _export(request, "csv")


@router.get("/export.jsonl")
def export_jsonl(request: Request) -> StreamingResponse:
    return _export(request, "jsonl")
