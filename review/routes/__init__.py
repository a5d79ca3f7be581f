"""The console's routes, one module per area."""

from __future__ import annotations

from review.routes import admin, ads, auth, evidence, exports, queue, reports, sources

ROUTERS = (
    auth.router,
    queue.router,
    ads.router,
    evidence.router,
    exports.router,
    reports.router,
    sources.router,
    admin.router,
)
