"""The cost model follows the template and the agenda, and grows linearly with attendees."""

from __future__ import annotations

import copy

import pytest

from infra import cost_model
from infra.template import load_template
from tests.support.sources import emitted_metric_names


def test_the_variable_cost_is_linear_in_attendees() -> None:
    figures = cost_model.report(sizes=(2_000, 100_000))
    assert figures["sizes"][100_000]["variable"] == pytest.approx(50 * figures["sizes"][2_000]["variable"])
    assert figures["per_seat_total"] == pytest.approx(sum(figures["per_seat"].values()))


def test_lambda_duration_cost_follows_the_template_memory() -> None:
    template = load_template()
    bigger = copy.deepcopy(template)
    bigger["Globals"]["Function"]["MemorySize"] *= 2
    base = cost_model.per_seat_costs(template, 930)["Lambda"]
    doubled = cost_model.per_seat_costs(bigger, 930)["Lambda"]
    requests = sum(op.per_seat for op in cost_model.operations(930 * cost_model.ATTENDED_SHARE))
    request_part = requests * cost_model.LAMBDA_PER_REQUEST
    assert doubled - request_part == pytest.approx(2 * (base - request_part))


def test_heartbeats_follow_the_agenda() -> None:
    figures = cost_model.report()
    assert figures["scheduled_minutes"] == 930  # the NASRO agenda's 13 sessions
    fewer = cost_model.per_seat_costs(load_template(), 100)["API Gateway"]
    assert fewer < figures["per_seat"]["API Gateway"]


def test_fixed_costs_count_the_templates_secrets_alarms_and_emitted_metrics() -> None:
    fixed = cost_model.fixed_monthly(load_template())
    assert fixed["Secrets Manager"] == pytest.approx(3 * cost_model.SECRET_PER_MONTH)
    assert len(emitted_metric_names()) == cost_model.CUSTOM_METRICS
