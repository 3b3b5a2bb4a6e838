"""What `run` exposes on ``/metrics``, in the Prometheus text format.

Each daemon owns its :class:`CollectorRegistry` (never the process-global
one), so two daemons in one test process, or a test run after another, never
see each other's numbers. Label values come from closed sets (action kinds,
outcome results, vendor names, verdicts), so the series count stays bounded
however long the process runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .executor import Outcome  # the type of RunReport.outcomes

CYCLE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 240.0)


class DaemonMetrics:
    """Counters and gauges of one `run` process (prometheus-client imported here only)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        reg: dict[str, Any] = {"registry": self.registry}
        self.cycles = Counter("interview_sync_cycles", "Poll cycles by result (ok, failed, locked, stopped)",
                              ["result"], **reg)
        self.cycle_seconds = Histogram("interview_sync_cycle_duration_seconds", "Wall time of one poll cycle",
                                       buckets=CYCLE_BUCKETS, **reg)
        self.actions = Counter("interview_sync_actions", "Actions taken, by kind and outcome",
                               ["kind", "outcome"], **reg)
        self.alerts = Counter("interview_sync_alerts", "Recruiter alerts raised", **reg)
        self.vendor_requests = Counter("interview_sync_vendor_requests", "Requests sent to each vendor",
                                       ["vendor"], **reg)
        self.vendor_429 = Counter("interview_sync_vendor_rate_limited", "Answers 429 (retried ones included) "
                                  "from each vendor", ["vendor"], **reg)
        self.webhooks = Counter("interview_sync_webhooks", "Webhook deliveries by vendor and verdict (valid wakes a "
                                "cycle; unsigned, bad-signature, malformed, stale, replayed do not)",
                                ["vendor", "result"], **reg)
        self.last_success = Gauge("interview_sync_last_success_timestamp_seconds",
                                  "Unix time the last cycle without errors ended", **reg)

    def cycle(self, result: str, seconds: float, outcomes: Iterable[Outcome], alerts: int) -> None:
        self.cycles.labels(result).inc()
        self.cycle_seconds.observe(seconds)
        for outcome in outcomes:
            self.actions.labels(outcome.action, outcome.result).inc()
        if alerts:
            self.alerts.inc(alerts)

    def vendor(self, vendor: str, requests: int, rate_limited: int) -> None:
        self.vendor_requests.labels(vendor).inc(requests)
        if rate_limited:
            self.vendor_429.labels(vendor).inc(rate_limited)

    def render(self) -> tuple[bytes, str]:
        """(body, content type) for ``GET /metrics``."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
