"""``/api/v1/indicators``: stored values filtered by unit, period, indicator and level, in the
house's page envelope; 404 for a unit outside the caller's scope, 422 for a period that does not
exist; the catalogue of definitions. Numbers from :mod:`tests.analytics.conftest`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import LazySettings
from django.test import Client

from tests.analytics.conftest import StoredValues
from tests.api.conftest import TokenClient, assert_problem
from tests.factories.accounts import PASSWORD
from yigongti.analytics.models import Indicator
from yigongti.analytics.periods import PeriodInvalid

KEYS = {"indicator", "org", "period", "numerator", "denominator", "value"}


@pytest.fixture(autouse=True)
def _analytics_dir(settings: LazySettings, tmp_path: Any) -> None:
    settings.YGT_ANALYTICS_DIR = tmp_path


def _get(client: TokenClient, **params: Any) -> dict[str, Any]:
    response = client.get("/indicators", params)
    assert response.status_code == 200, response.content
    return json.loads(response.content)


def test_values_of_one_unit_and_period_in_the_page_envelope(stored_values: StoredValues) -> None:
    body = _get(TokenClient(stored_values.c.commission), org="522399", period="2025")
    assert set(body) == {"count", "limit", "offset", "items"}
    assert body["count"] == 3 and body["limit"] == 100 and body["offset"] == 0
    assert all(set(item) == KEYS for item in body["items"])
    # catalogue order: record_rate, htn_mgmt_rate, …, referrals_up
    assert body["items"] == [
        {"indicator": "record_rate", "org": "522399", "period": "2025", "numerator": 230, "denominator": 280,
         "value": pytest.approx(230 / 280 * 100)},
        {"indicator": "htn_mgmt_rate", "org": "522399", "period": "2025", "numerator": 26, "denominator": 92,
         "value": pytest.approx(26 / 92 * 100)},
        {"indicator": "referrals_up", "org": "522399", "period": "2025", "numerator": 12, "denominator": None,
         "value": 12},
    ]


def test_filters_by_indicator_level_and_period(stored_values: StoredValues) -> None:
    client = TokenClient(stored_values.c.commission)
    # villages of township 102 for htn_mgmt_rate: D's denominator is 0, so its value is null (not 0)
    body = _get(client, org=stored_values.t2.code, level="village", indicator="htn_mgmt_rate", period="2025")
    assert [(i["org"], i["numerator"], i["denominator"], i["value"]) for i in body["items"]] == [
        (stored_values.c3.code, 8, 32, 25), (stored_values.d.code, 3, 0, None)]
    # every township, two indicators (repeated or comma-separated), one period
    for params in ({"indicator": ["record_rate", "referrals_up"]}, {"indicator": "record_rate,referrals_up"}):
        body = _get(client, level="township", period="2025", **params)
        assert [(i["indicator"], i["org"]) for i in body["items"]] == [
            ("record_rate", stored_values.t1.code), ("record_rate", stored_values.t2.code),
            ("referrals_up", stored_values.t1.code), ("referrals_up", stored_values.t2.code)]
    # every period of one unit and indicator: the year and the 24 months, paged
    body = _get(client, org=stored_values.a.code, indicator="record_rate", limit=10, offset=20)
    assert body["count"] == 25 and len(body["items"]) == 5
    assert {i["period"] for i in _get(client, org=stored_values.a.code, indicator="record_rate")["items"]} == {
        "2025", *(f"{y}{m:02d}" for y in (2024, 2025) for m in range(1, 13))}
    # a month period, and its key normalised
    body = _get(client, org=stored_values.a.code, period="202512", indicator="record_rate")
    assert [(i["period"], i["numerator"], i["value"]) for i in body["items"]] == [("202512", 86, 86)]


def test_a_unit_outside_the_scope_is_404_and_lists_never_show_it(stored_values: StoredValues) -> None:
    client = TokenClient(stored_values.c.village_doctor)
    for org in ("522399", stored_values.t1.code, stored_values.b.code, "999999"):
        assert_problem(client.get("/indicators", {"org": org}), 404, "not_found")
    seen = _get(client, limit=500)
    assert seen["count"] == 25 + 1 + 1  # village A: record_rate (year + 24 months), htn, referrals
    assert {i["org"] for i in seen["items"]} == {stored_values.a.code}
    assert _get(client, level="township")["count"] == 0


def test_a_period_that_does_not_exist_is_422(stored_values: StoredValues) -> None:
    client = TokenClient(stored_values.c.commission)
    for period in ("2025Q5", "20251", "last year"):
        body = assert_problem(client.get("/indicators", {"period": period}), 422, "period_invalid")
        assert body["detail"] == str(PeriodInvalid(period=period))
    assert_problem(client.get("/indicators", {"level": "province"}), 422, "validation_failed")
    body = assert_problem(client.get("/indicators", {"indicator": "no_such_rate"}), 404, "not_found")
    assert "no_such_rate" in body["detail"]


def test_session_auth_and_no_auth(stored_values: StoredValues) -> None:
    client = Client()
    assert client.get("/api/v1/indicators").status_code == 401
    assert client.login(username="weijian", password=PASSWORD)
    response = client.get("/api/v1/indicators", {"org": "522399", "period": "2025"})
    assert response.status_code == 200 and json.loads(response.content)["count"] == 3


def test_catalogue_lists_the_definitions_in_catalogue_order(stored_values: StoredValues) -> None:
    response = TokenClient(stored_values.c.director).get("/indicators/catalogue")
    assert response.status_code == 200
    body = json.loads(response.content)
    assert [i["code"] for i in body] == list(Indicator.objects.order_by("sort_order").values_list("code", flat=True))
    record = next(i for i in body if i["code"] == "record_rate")
    stored = Indicator.objects.get(code="record_rate")
    assert record == {field: getattr(stored, field) for field in (
        "code", "name", "name_en", "group", "unit", "factor", "decimals", "direction", "periods", "formula",
        "formula_en", "numerator_label", "numerator_label_en", "denominator_label", "denominator_label_en",
        "source", "target")}
    assert (record["name"], record["name_en"], record["unit"], record["factor"], record["target"]) == (
        "电子健康档案建档率", "Electronic health record coverage", "%", 100, 90)
    assert record["periods"] == ["month", "quarter", "year", "r12"] and record["direction"] == "higher"
    assert record["formula"] == "期末建立电子健康档案的人数 ÷ 辖区常住人口数 × 100%"
    assert record["numerator_label_en"] == "Electronic records on file at the period's end"
    ups = next(i for i in body if i["code"] == "referrals_up")
    assert ups["denominator_label"] == "" and ups["target"] is None and ups["direction"] == "none"
    Indicator.objects.filter(code="referrals_up").update(active=False)
    again = json.loads(TokenClient(stored_values.c.director).get("/indicators/catalogue").content)
    assert "referrals_up" not in {i["code"] for i in again}
