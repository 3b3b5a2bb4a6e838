"""Issue 12 acceptance 2: a dry run's plan is exactly what the real run then does.

Every lifecycle scenario of tests/test_lifecycle.py runs again here, for all
four ATS × scheduler pairs, with one change: before each real poll a dry run
plans the same poll (same state, same vendor reads), and the steps the real
poll performs are compared with that plan, kind and key, in order.

A dry run cannot know how an effect will turn out, so its plan assumes every
effect succeeds. Where a real step fails (an SMTP refusal, a vendor error on
a write), that invitation's steps agree with the plan up to and including the
failed step, and what follows is the planner's answer to the failure; every
other invitation's steps, and the order of all of them, still match exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from harness import Harness, check_plan
from test_lifecycle import *  # noqa: F403 - every lifecycle scenario, and its fixtures, runs here again

from interview_sync.poll import run_poll
from interview_sync.steps import Performed

@pytest.fixture(autouse=True)
def dry_run_before_every_poll(monkeypatch: pytest.MonkeyPatch,
                              request: pytest.FixtureRequest) -> Iterator[list[int]]:
    """Every ``Harness.poll`` (fixture-made or test-made harness) is checked against its plan."""
    real_poll = Harness.poll
    checked: list[int] = []

    def poll(self: Harness, **kwargs: Any) -> Any:
        if kwargs.get("dry_run"):
            return real_poll(self, **kwargs)
        dry_report, plan = run_poll(self.ctx, dry_run=True, backfill=kwargs.get("backfill", False))
        assert dry_report.outcomes == [] and dry_report.alerts == 0
        report = real_poll(self, **kwargs)
        check_plan(plan, report.performed)
        checked.append(len(plan))
        return report

    monkeypatch.setattr(Harness, "poll", poll)
    yield checked
    if request.node.function.__module__ != __name__:  # a lifecycle scenario must really have been checked
        assert checked, "no poll of this scenario was checked"


def step(ref: str, action: str, key: str, result: str = "ok") -> Performed:
    return Performed("a", ref, action, key, "", result)


def test_the_check_catches_a_run_that_strays_from_its_plan() -> None:
    plan = [step("r1", "email", "r1:invite:0"), step("r2", "email", "r2:invite:0"), step("r2", "save", "r2:invited")]
    check_plan(plan, plan)
    with pytest.raises(AssertionError):
        check_plan(plan, plan[:2])  # a planned step not done
    with pytest.raises(AssertionError):
        check_plan(plan, [plan[1], plan[0], plan[2]])  # another order
    refused = [step("r1", "email", "r1:invite:0", "refused"), step("r1", "email", "r1:alert:address-refused"),
               *plan[1:]]
    check_plan(plan, refused)  # after a failure, the planner's answer follows
    with pytest.raises(AssertionError):
        check_plan(plan, [step("r1", "email", "r1:other", "refused"), *plan[1:]])
