"""Recording and alerting rules for one workload, and the promtool unit tests of its alerts.

Availability comes from ``up``: the workload is down when its target answers no
scrape, or when no target is scraped at all (``absent``). With ``readiness`` (where
the plugin runs the readiness exporter beside Prometheus) it also needs the
deployer's word: the workload is down when ``podium_workload_ready`` is 0, and when
no readiness younger than ``readiness_max_age`` is there at all (exporter gone,
workload not reported, health checks stopped): unknown readiness is not readiness,
so the alert fails closed. With ``podium.dev/slo``
the workload also gets the multi-window, multi-burn-rate alerts of the SRE workbook
on its HTTP error ratio (5xx over all requests): a fast burn (14.4x the budget over
1h and 5m, or 6x over 6h and 30m) pages, a slow one (3x over 1d and 2h, or 1x over
3d and 6h) opens a ticket. Each long window is paired with a short one so an alert
stops soon after the errors do.
"""

from __future__ import annotations

import re
from typing import Any

from podium_prometheus.monitoring import Monitoring
from podium_prometheus.readiness import AGE, JOB, READY
from podium_prometheus.settings import Settings

#: The windows the error ratio is recorded over.
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
#: (alert, severity, for, [(burn rate factor, long window, short window), ...])
BURN_ALERTS: tuple[tuple[str, str, str, tuple[tuple[float, str, str], ...]], ...] = (
    ("PodiumSLOErrorBudgetBurnFast", "page", "2m", ((14.4, "1h", "5m"), (6.0, "6h", "30m"))),
    ("PodiumSLOErrorBudgetBurnSlow", "ticket", "15m", ((3.0, "1d", "2h"), (1.0, "3d", "6h"))),
)
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def seconds(duration: str) -> float:
    """Seconds in a Prometheus duration (``1h30m`` -> 5400)."""
    return sum(int(n) * _UNITS[unit] for n, unit in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", duration))


def number(value: float) -> str:
    """A threshold as PromQL reads it, without float noise (``0.0144``)."""
    return f"{value:.6g}"


def rules_file_name(workload: str) -> str:
    return f"{workload}.rules.yml"


def readiness_rule(job: str, settings: Settings) -> dict[str, Any]:
    """``podium_workload:ready:min{job=...}``: the exporter's readiness, while it is fresh.

    Readiness observed longer than ``readiness_max_age`` ago is dropped here, so it
    is as unknown as a missing series; ``label_replace`` gives it the workload's
    ``job`` label, so the availability alert has one set of labels whatever the cause.
    """
    workload = f'podium_workload="{job}"'
    return {
        "record": "podium_workload:ready:min",
        "expr": f"min by (job) (label_replace(\n  {READY}{{{workload}}}\n"
        f"  and ({AGE}{{{workload}}} <= {number(seconds(settings.readiness_max_age))}),\n"
        f'  "job", "{job}", "", ""\n))',
    }


def rule_groups(
    monitoring: Monitoring, settings: Settings, environment: str, *, readiness: bool = False
) -> dict[str, Any]:
    """The rule file's content (``{"groups": [...]}``) for one workload.

    ``readiness``: availability needs ``podium_workload_ready`` too (the environment
    has the plugin's readiness exporter).
    """
    job = monitoring.workload
    sel = f'job="{job}"'
    requests = settings.http_requests_metric
    errors = f'{sel},{settings.http_status_label}=~"5.."'
    labels = {"podium_workload": job, "podium_environment": environment}
    down = f"podium_workload:up:max{{{sel}}} == 0 or absent(up{{{sel}}})"
    description = (
        f"Prometheus scrapes no answering target of workload {job} in environment {environment}."
    )
    if readiness:
        down = (
            f"podium_workload:up:max{{{sel}}} == 0\nor absent(up{{{sel}}})\n"
            f"or podium_workload:ready:min{{{sel}}} == 0\n"
            f"or absent(podium_workload:ready:min{{{sel}}})"
        )
        description = (
            f"Workload {job} in environment {environment} is not available: no scraped "
            "target answers, or its deployer does not report it ready (or reported nothing "
            "recently)."
        )
    rules: list[dict[str, Any]] = [
        {"record": "podium_workload:up:max", "expr": f"max by (job) (up{{{sel}}})"},
        *([readiness_rule(job, settings)] if readiness else []),
        {
            "record": "podium_workload:http_requests:rate5m",
            "expr": f"sum by (job) (rate({requests}{{{sel}}}[5m]))",
        },
        {
            "record": "podium_workload:http_errors:rate5m",
            "expr": f"sum by (job) (rate({requests}{{{errors}}}[5m]))",
        },
        {
            "alert": "PodiumWorkloadDown",
            "expr": down,
            "for": settings.availability_for,
            "labels": {**labels, "severity": "page"},
            "annotations": {"summary": f"{job} is down", "description": description},
        },
    ]
    groups: list[dict[str, Any]] = [{"name": f"podium-{job}-availability", "rules": rules}]
    budget = monitoring.error_budget
    if budget is not None:
        slo_rules: list[dict[str, Any]] = [
            {
                "record": f"podium_workload:http_error_ratio:rate{window}",
                "expr": f"sum by (job) (rate({requests}{{{errors}}}[{window}]))\n"
                f"/\nsum by (job) (rate({requests}{{{sel}}}[{window}]))",
            }
            for window in WINDOWS
        ]
        for alert, severity, wait, pairs in BURN_ALERTS:
            clauses = [
                f"(podium_workload:http_error_ratio:rate{long}{{{sel}}} > {number(f * budget)}"
                f" and podium_workload:http_error_ratio:rate{short}{{{sel}}} > "
                f"{number(f * budget)})"
                for f, long, short in pairs
            ]
            slo_rules.append(
                {
                    "alert": alert,
                    "expr": "\nor\n".join(clauses),
                    "for": wait,
                    "labels": {**labels, "severity": severity, "slo": number(monitoring.slo or 0)},
                    "annotations": {
                        "summary": f"{job} burns its error budget too fast",
                        "description": f"The HTTP error ratio of {job} spends the error "
                        f"budget of its {number(monitoring.slo or 0)}% objective "
                        f"{'quickly' if severity == 'page' else 'steadily'}.",
                    },
                }
            )
        # Once a minute is plenty for windows of 5m to 3d, and spares a rate over 3 days
        # of samples at every evaluation.
        groups.append({"name": f"podium-{job}-slo", "interval": "1m", "rules": slo_rules})
    return {"groups": groups}


def _alert(groups: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for g in groups["groups"] for r in g["rules"] if r.get("alert") == name)


def _expected(groups: dict[str, Any], name: str, job: str) -> list[dict[str, Any]]:
    rule = _alert(groups, name)
    return [
        {
            "exp_labels": {"job": job, **rule["labels"]},
            "exp_annotations": dict(rule["annotations"]),
        }
    ]


def _readiness_series(job: str, environment: str, ready: str, age: str) -> list[dict[str, str]]:
    """The exporter's two series for ``job`` (promtool's expanding notation)."""
    labels = f'job="{JOB}",podium_workload="{job}",podium_environment="{environment}"'
    return [
        {"series": f"{READY}{{{labels}}}", "values": ready},
        {"series": f"{AGE}{{{labels}}}", "values": age},
    ]


def _availability_tests(
    job: str, settings: Settings, environment: str, groups: dict[str, Any], readiness: bool
) -> list[dict[str, Any]]:
    """Down when ``up`` drops to 0; with readiness also when it drops to 0 with ``up``
    still 1, and when it is missing or stale (fail closed). Each case is quiet for its
    first ten minutes and alerting once ``availability_for`` passed after the change."""
    down_after = 10 * 60
    down_eval = down_after + seconds(settings.availability_for) + 120
    steps = int(down_eval // 60) + 5
    up = f'up{{job="{job}"}}'
    fresh = 5.0
    stale = seconds(settings.readiness_max_age) + 60

    def case(name: str, series: list[dict[str, str]], quiet: bool = True) -> dict[str, Any]:
        checks = [{"eval_time": "5m", "alertname": "PodiumWorkloadDown", "exp_alerts": []}]
        return {
            "name": f"{job}: {name}",
            "interval": "1m",
            "input_series": series,
            "alert_rule_test": (checks if quiet else [])
            + [
                {
                    "eval_time": f"{int(down_eval)}s",
                    "alertname": "PodiumWorkloadDown",
                    "exp_alerts": _expected(groups, "PodiumWorkloadDown", job),
                }
            ],
        }

    if not readiness:
        return [case("down when up drops to 0", [{"series": up, "values": f"1x10 0x{steps}"}])]
    ready = _readiness_series(job, environment, f"1x{steps + 10}", f"{fresh:g}x{steps + 10}")
    return [
        case("down when up drops to 0", [{"series": up, "values": f"1x10 0x{steps}"}, *ready]),
        case(
            "down when not ready while up stays 1",
            [
                {"series": up, "values": f"1x{steps + 10}"},
                *_readiness_series(job, environment, f"1x10 0x{steps}", f"{fresh:g}x{steps + 10}"),
            ],
        ),
        case(
            "down when its readiness goes stale while up stays 1",
            [
                {"series": up, "values": f"1x{steps + 10}"},
                *_readiness_series(
                    job, environment, f"1x{steps + 10}", f"{fresh:g}x10 {stale:g}x{steps}"
                ),
            ],
        ),
        case(
            "down while no readiness is reported at all, up 1",
            [{"series": up, "values": f"1x{steps + 10}"}],
            quiet=False,
        ),
    ]


def rule_tests(
    monitoring: Monitoring,
    settings: Settings,
    environment: str,
    rules_file: str,
    *,
    readiness: bool = False,
) -> dict[str, Any]:
    """``promtool test rules`` input checking the workload's alerts on synthetic series.

    Down: ``up`` drops to 0 and the availability alert fires once its ``for`` passed;
    with ``readiness`` also readiness dropping to 0, going stale or missing while
    ``up`` stays 1. With an SLO: all requests failing fire the fast burn alert; an
    error ratio of 4.5x the budget fires only the slow one; no errors fire neither.
    """
    job = monitoring.workload
    groups = rule_groups(monitoring, settings, environment, readiness=readiness)
    requests, status = settings.http_requests_metric, settings.http_status_label
    tests = _availability_tests(job, settings, environment, groups, readiness)
    budget = monitoring.error_budget
    if budget is None:
        return {"rule_files": [rules_file], "evaluation_interval": "1m", "tests": tests}

    def traffic(ok: float, failed: float) -> list[dict[str, str]]:
        return [
            {"series": f'up{{job="{job}"}}', "values": "1x160"},
            {"series": f'{requests}{{job="{job}",{status}="200"}}', "values": f"0+{ok:g}x160"},
            {
                "series": f'{requests}{{job="{job}",{status}="500"}}',
                "values": f"0+{failed:g}x160",
            },
        ]

    quiet: list[dict[str, Any]] = [
        {"eval_time": "2h30m", "alertname": name, "exp_alerts": []}
        for name in ("PodiumSLOErrorBudgetBurnFast", "PodiumSLOErrorBudgetBurnSlow")
    ]
    tests.append(
        {
            "name": f"{job}: no errors, no burn",
            "interval": "1m",
            "input_series": traffic(1000, 0),
            "alert_rule_test": quiet,
        }
    )
    if 14.4 * budget < 1:  # a budget this large cannot burn 14.4x as fast: nothing to test
        tests.append(
            {
                "name": f"{job}: every request fails, fast burn",
                "interval": "1m",
                "input_series": traffic(0, 100),
                "alert_rule_test": [
                    {
                        "eval_time": "20m",
                        "alertname": "PodiumSLOErrorBudgetBurnFast",
                        "exp_alerts": _expected(groups, "PodiumSLOErrorBudgetBurnFast", job),
                    }
                ],
            }
        )
    ratio = 4.5 * budget
    if ratio < 1:
        failed = round(1000 * ratio / (1 - ratio), 6)
        tests.append(
            {
                "name": f"{job}: errors at 4.5x the budget, slow burn only",
                "interval": "1m",
                "input_series": traffic(1000, failed),
                "alert_rule_test": [
                    {
                        "eval_time": "2h30m",
                        "alertname": "PodiumSLOErrorBudgetBurnFast",
                        "exp_alerts": [],
                    },
                    {
                        "eval_time": "2h30m",
                        "alertname": "PodiumSLOErrorBudgetBurnSlow",
                        "exp_alerts": _expected(groups, "PodiumSLOErrorBudgetBurnSlow", job),
                    },
                ],
            }
        )
    return {"rule_files": [rules_file], "evaluation_interval": "1m", "tests": tests}
