"""The indicator screens read the stored values and show them as the norm asks: the board with its
groups, "—" where there is no value (never 0), the formula behind every number, the ranking by the
indicator's direction, the tree drilling down, Excel downloads with numbers, and the caller's
scope. The numbers come from :mod:`tests.analytics.conftest` (hand-made, no refresh)."""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import LazySettings
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from tests.analytics.conftest import GAP, StoredValues
from tests.conftest import MiniCounty
from tests.factories.accounts import PASSWORD
from yigongti.analytics.models import Indicator
from yigongti.analytics.periods import PeriodInvalid
from yigongti.core.rule_fixtures import rules_load

INVALID = "@@INVALID-TEMPLATE-VARIABLE(%s)@@"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def strict_templates(settings: LazySettings) -> Iterator[None]:
    """Any unresolvable variable in a template shows up in the page as ``INVALID``."""
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["OPTIONS"]["string_if_invalid"] = INVALID
    settings.TEMPLATES = templates
    yield


@pytest.fixture(autouse=True)
def _analytics_dir(settings: LazySettings, tmp_path: Any) -> None:
    settings.YGT_ANALYTICS_DIR = tmp_path


def login(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def board_url(code: str, period: str = "2025") -> str:
    return reverse("analytics:board", args=[code]) + f"?period={period}"


def url(name: str, code: str, indicator: str, period: str = "2025", extra: str = "") -> str:
    return reverse(f"analytics:{name}", args=[code, indicator]) + f"?period={period}{extra}"


def row_of(body: str, code: str) -> str:
    """The ``<tr>`` of one indicator on the board."""
    found = re.search(rf'<tr id="ind-{code}">(.*?)</tr>', body, re.S)
    assert found, code
    return found.group(1)


def cells_text(row: str) -> list[str]:
    """The text of each ``<td>`` of a row, tags stripped, whitespace squeezed."""
    return [" ".join(re.sub(r"<[^>]+>", " ", td).split()) for td in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_index_opens_the_board_of_the_callers_own_unit_for_the_latest_year(stored_values: StoredValues) -> None:
    response = login("weijian").get(reverse("analytics:index"))
    assert response.status_code == 302 and response["Location"] == board_url("522399", "2025")
    response = login("cunyi").get(reverse("analytics:index"))
    assert response["Location"] == board_url(stored_values.a.code, "2025")


def test_board_shows_the_stored_values_grouped_in_catalogue_order(stored_values: StoredValues,
                                                                  strict_templates: None) -> None:
    response = login("weijian").get(board_url("522399"))
    assert response.status_code == 200
    body = response.content.decode()
    assert INVALID[:10] not in body
    # 230/280 × 100 = 82.142… → 82.1%, target ≥90% (missed)
    record = cells_text(row_of(body, "record_rate"))
    assert record[:5] == ["电子健康档案建档率", "82.1%", "230", "280", "≥90%"]
    assert 'class="num value misses"' in row_of(body, "record_rate")
    assert cells_text(row_of(body, "htn_mgmt_rate"))[1:4] == ["28.3%", "26", "92"]  # 26/92 = 28.26…
    # a count without denominator: its unit after the number, the denominator cell empty
    assert cells_text(row_of(body, "referrals_up"))[1:4] == ["12 人次", "12", ""]
    # no stored row: "—" for the value and the numbers, never 0
    assert cells_text(row_of(body, "dm_mgmt_rate"))[1:4] == ["—", "—", "—"]

    # groups in the order of their first indicator; inside a group, catalogue order
    shown = [i for i in Indicator.objects.order_by("sort_order") if "year" in i.periods]
    expected_groups = list(dict.fromkeys(i.group for i in shown))
    assert re.findall(r'<tbody class="group" data-group="([^"]+)"', body) == expected_groups
    expected_rows = [i.code for g in expected_groups for i in shown if i.group == g]
    assert re.findall(r'<tr id="ind-([a-z0-9_]+)">', body) == expected_rows
    assert len(expected_rows) == Indicator.objects.count()  # every catalogue indicator has a yearly value

    # the 24-month sparkline: the county has no value in June 2024, so the line breaks in two
    spark = re.search(r'<svg class="spark".*?</svg>', row_of(body, "record_rate"), re.S)
    assert spark and spark.group(0).count("<polyline") == 2
    # the drill-down: both townships link to their own board
    children = body[body.index('id="children"'):]
    for township in (stored_values.t1, stored_values.t2):
        assert f'href="{board_url(township.code)}"' in children and township.name in children
    assert 'aria-current="page">指标</a>' in body  # the nav link of the section


def test_board_shows_a_dash_for_a_zero_denominator(stored_values: StoredValues) -> None:
    body = login("weijian").get(board_url(stored_values.d.code)).content.decode()
    # village D: 3 hypertensives managed, 0 estimated → no value, "—" (numerator and denominator shown)
    assert cells_text(row_of(body, "htn_mgmt_rate"))[1:4] == ["—", "3", "0"]
    assert cells_text(row_of(body, "record_rate"))[1] == "50.0%"  # 30/60
    assert cells_text(row_of(body, "referrals_up"))[1:4] == ["— 人次", "—", "—"]  # no row for D
    panel = login("weijian").get(url("formula", stored_values.d.code, "htn_mgmt_rate"), headers=HTMX)
    assert "分母为 0，无法计算" in panel.content.decode()


def test_board_of_a_month_lists_only_the_indicators_defined_by_month(stored_values: StoredValues) -> None:
    body = login("weijian").get(board_url(stored_values.a.code, "202512")).content.decode()
    shown = re.findall(r'<tr id="ind-([a-z0-9_]+)">', body)
    monthly = [i.code for i in Indicator.objects.order_by("sort_order") if "month" in i.periods]
    assert sorted(shown) == sorted(monthly) and "htn_standard_rate" not in shown
    # village A in December 2025 (i = 23, k = 0): (40 + 46) / 100 → 86.0%
    assert cells_text(row_of(body, "record_rate"))[1:4] == ["86.0%", "86", "100"]
    assert f"另有 {Indicator.objects.count() - len(monthly)} 项指标不按这类周期统计" in body


@pytest.mark.parametrize("period", ["2025Q5", "202513", "abc", "1800"])
def test_a_period_that_does_not_exist_is_the_page_with_its_message_and_422(stored_values: StoredValues,
                                                                           strict_templates: None,
                                                                           period: str) -> None:
    client = login("weijian")
    message = str(PeriodInvalid(period=period))
    for target in (board_url("522399", period), url("indicator", "522399", "record_rate", period)):
        response = client.get(target)
        body = response.content.decode()
        assert response.status_code == 422, target
        assert message in body and 'id="period-picker"' in body and INVALID[:10] not in body
        assert 'id="indicators"' not in body and "Traceback" not in body
    fragment = client.get(url("formula", "522399", "record_rate", period), headers=HTMX)
    assert fragment.status_code == 422 and message in fragment.content.decode()
    assert "<html" not in fragment.content.decode()


def test_formula_panel_shows_the_formula_the_numbers_and_the_sql(stored_values: StoredValues,
                                                                 strict_templates: None) -> None:
    record = Indicator.objects.get(code="record_rate")
    client = login("weijian")
    response = client.get(url("formula", "522399", "record_rate"), headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body and INVALID[:10] not in body
    assert record.formula in body and escape(record.formula_en) in body
    assert record.numerator_label in body and record.denominator_label in body
    numbers = re.findall(r'data-role="(\w+)">([^<]+)</b>', body)
    assert numbers == [("numerator", "230"), ("denominator", "280")]
    assert '<b class="formula-value">82.1%</b>' in body
    assert record.source[:30] in body
    # the definition's facts and filters, and the compiled SQL (numerator and denominator)
    assert "（residents）" in body and "（population）" in body and "population 之和" in body
    sql = body[body.index('<details class="sql">'):]
    assert sql.count("GROUPING SETS") == 2 and "FROM residents f" in sql and "FROM population f" in sql
    # a filter of the definition is shown as written
    htn = client.get(url("formula", "522399", "htn_mgmt_rate"), headers=HTMX).content.decode()
    assert "programme = &#x27;hypertension&#x27;" in htn and "≥35 岁" in htn and "× 0.25" in htn
    # without JavaScript the same panel is a page of its own
    page = client.get(url("formula", "522399", "record_rate"))
    assert page.status_code == 200 and "<html" in page.content.decode() and record.formula in page.content.decode()


def _ranking(body: str) -> list[tuple[str, str]]:
    table = body[body.index('<table class="ranking">'):]
    table = table[:table.index("</table>")]
    return re.findall(r'<tr data-code="(\d+)">\s*<td class="num rank">([^<]+)</td>', table)


def test_ranking_puts_the_best_first_by_the_indicators_direction(stored_values: StoredValues,
                                                                 strict_templates: None) -> None:
    client = login("weijian")
    a, b, c3, d = (stored_values.a.code, stored_values.b.code, stored_values.c3.code, stored_values.d.code)
    body = client.get(url("indicator", stored_values.t1.code, "record_rate")).content.decode()
    assert INVALID[:10] not in body
    assert _ranking(body) == [(a, "1"), (b, "2")]  # higher is better: 90.0 before 80.0
    Indicator.objects.filter(code="record_rate").update(direction="lower")
    body = client.get(url("indicator", stored_values.t1.code, "record_rate")).content.decode()
    assert _ranking(body) == [(b, "1"), (a, "2")]  # lower is better: 80.0 before 90.0
    # a unit without a value (denominator 0) is not ranked: it comes last, without a rank
    body = client.get(url("indicator", stored_values.t2.code, "htn_mgmt_rate")).content.decode()
    assert _ranking(body) == [(c3, "1"), (d, "—")]
    county = client.get(url("indicator", "522399", "record_rate")).content.decode()
    assert _ranking(county) == [(stored_values.t2.code, "1"), (stored_values.t1.code, "2")]  # still "lower"


def test_indicator_page_has_the_trend_with_a_gap_the_target_and_the_formula(stored_values: StoredValues) -> None:
    body = login("weijian").get(url("indicator", "522399", "record_rate")).content.decode()
    chart = body[body.index('<svg class="trend"'):]
    chart = chart[:chart.index("</svg>")]
    assert chart.count('class="trend-point"') == 23  # 24 months, one without a value
    assert chart.count('<g class="gap">') == 1 and "2024年6月：无数据" in chart
    assert chart.count("<polyline") == 2 and 'class="target"' in chart and "目标 90%" in chart
    # the hover text of the last month: 2025-12, (40+46)+(41+46)+(42+46)+(43+46) = 350 of 400
    assert "2025年12月：87.5%（350 / 400）" in chart
    assert Indicator.objects.get(code="record_rate").formula in body


def test_tree_rows_drill_down_to_the_villages(stored_values: StoredValues, strict_templates: None) -> None:
    client = login("weijian")
    page = client.get(url("indicator", "522399", "record_rate")).content.decode()
    tree = page[page.index('id="tree"'):]
    assert f'id="tree-{stored_values.t1.code}"' in tree and f'id="tree-{stored_values.a.code}"' not in tree
    response = client.get(url("tree", "522399", "record_rate", extra="&depth=1"), headers=HTMX)
    rows = response.content.decode()
    assert response.status_code == 200 and rows.strip().startswith("<tr") and "<html" not in rows
    assert INVALID[:10] not in rows
    assert re.findall(r'id="tree-(\d+)"', rows) == [stored_values.t1.code, stored_values.t2.code]
    assert ["86.7%", "130", "150"] == cells_text(rows.split("</tr>")[0])[2:]
    expand = url("tree", stored_values.t1.code, "record_rate", extra="&amp;depth=2")
    assert f'hx-get="{expand}"' in rows
    villages = client.get(url("tree", stored_values.t1.code, "record_rate", extra="&depth=2"),
                          headers=HTMX).content.decode()
    assert re.findall(r'id="tree-(\d+)"', villages) == [stored_values.a.code, stored_values.b.code]
    assert "hx-get" not in villages  # villages have nothing below them
    assert "depth-2" in villages and ["90.0%", "90", "100"] == cells_text(villages.split("</tr>")[0])[2:]
    # without JavaScript: the indicator page of that unit, whose tree starts there
    plain = client.get(url("tree", stored_values.t1.code, "record_rate"))
    assert plain.status_code == 302 and plain["Location"] == url("indicator", stored_values.t1.code, "record_rate")


def _book(response: Any) -> Any:
    from openpyxl import load_workbook

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    return load_workbook(io.BytesIO(response.content))


def test_excel_downloads_hold_the_numbers(stored_values: StoredValues) -> None:
    client = login("weijian")
    sheet = _book(client.get(board_url("522399") + "&format=xlsx")).active
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert [c.value for c in sheet[1]][:7] == ["指标代码", "指标名称", "分子", "分母", "指标值", "单位", "目标值"]
    assert rows["record_rate"][:7] == ("record_rate", "电子健康档案建档率", 230, 280, pytest.approx(82.142857), "%",
                                       90)
    assert rows["referrals_up"][2:5] == (12, None, 12)
    assert rows["dm_mgmt_rate"][2:5] == (None, None, None)
    assert len(rows) == Indicator.objects.count()

    ranking = _book(client.get(url("indicator", stored_values.t2.code, "htn_mgmt_rate",
                                   extra="&format=xlsx&table=ranking"))).active
    assert list(ranking.iter_rows(min_row=2, values_only=True)) == [
        (1, stored_values.c3.code, stored_values.c3.name, 25, 8, 32),
        (None, stored_values.d.code, stored_values.d.name, None, 3, 0),
    ]

    tree = _book(client.get(url("indicator", "522399", "record_rate", extra="&format=xlsx&table=tree"))).active
    got = list(tree.iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[2], r[4]) for r in got] == [
        (0, "522399", None), (1, stored_values.t1.code, "522399"), (2, stored_values.a.code, stored_values.t1.code),
        (2, stored_values.b.code, stored_values.t1.code), (1, stored_values.t2.code, "522399"),
        (2, stored_values.c3.code, stored_values.t2.code), (2, stored_values.d.code, stored_values.t2.code)]
    assert got[3][1] == "村/社区" and got[3][6:] == (40, 50, 80)

    trend = _book(client.get(url("indicator", "522399", "record_rate", extra="&format=xlsx&table=trend"))).active
    months = list(trend.iter_rows(min_row=2, values_only=True))
    assert len(months) == 24 and months[0][0] == "202401" and months[-1][2:] == (350, 400, 87.5)
    assert next(m for m in months if m[0] == GAP)[2:] == (None, None, None)

    everything = _book(client.get(url("indicator", "522399", "record_rate", extra="&format=xlsx")))
    assert everything.sheetnames == ["趋势", "下级单位排名", "分级明细"]
    assert client.get(url("indicator", "522399", "record_rate", extra="&format=xlsx&table=nope")).status_code == 404


def test_a_village_doctor_sees_only_the_own_village(stored_values: StoredValues) -> None:
    client = login("cunyi")
    own = client.get(board_url(stored_values.a.code))
    assert own.status_code == 200 and cells_text(row_of(own.content.decode(), "record_rate"))[1] == "90.0%"
    for code in ("522399", stored_values.t1.code, stored_values.b.code, stored_values.d.code):
        for target in (board_url(code), board_url(code) + "&format=xlsx", url("indicator", code, "record_rate"),
                       url("formula", code, "record_rate"), url("tree", code, "record_rate")):
            response = client.get(target, headers=HTMX if "tree" in target else {})
            assert response.status_code == 404, target
            assert stored_values.b.name not in response.content.decode()
    # the trail starts at the own unit: nothing above it is named or linked
    crumbs = own.content.decode().split('class="crumbs"')[1].split("</nav>")[0]
    assert stored_values.a.name in crumbs and "云溪县" not in crumbs and f"{stored_values.t1.name}<" not in crumbs
    assert reverse("analytics:board", args=[stored_values.t1.code]) not in crumbs


def test_a_township_head_sees_the_township_and_its_villages_only(stored_values: StoredValues) -> None:
    client = login("yuanzhang")
    assert client.get(board_url(stored_values.t1.code)).status_code == 200
    assert client.get(board_url(stored_values.b.code)).status_code == 200
    assert client.get(board_url(stored_values.t2.code)).status_code == 404
    assert client.get(board_url("522399")).status_code == 404


def test_board_reads_stored_values_in_a_fixed_number_of_queries(stored_values: StoredValues,
                                                                django_assert_max_num_queries: Any) -> None:
    """Session (read, and its save: three), user and their view unit, the unit, the refresh state,
    the catalogue, one read of the values and trends of every indicator, the children, the trail —
    twelve, not one or three per indicator (the catalogue has 59)."""
    client = login("weijian")
    with django_assert_max_num_queries(12):
        assert client.get(board_url("522399")).status_code == 200


def test_board_says_when_nothing_is_computed_yet(county: MiniCounty) -> None:
    rules_load(kinds=["analytics.indicators"])
    body = login("weijian").get(board_url("522399")).content.decode()
    assert "尚未计算指标：请运行 ygt analytics refresh" in body
    assert cells_text(row_of(body, "record_rate"))[1] == "—"


def test_board_in_english_uses_the_english_names(stored_values: StoredValues, strict_templates: None) -> None:
    client = login("weijian")
    client.cookies["django_language"] = "en"
    body = client.get(board_url("522399")).content.decode()
    assert "Electronic health record coverage" in body and "电子健康档案建档率" not in body
    assert '<html lang="en">' in body and INVALID[:10] not in body
    panel = client.get(url("formula", "522399", "record_rate"), headers=HTMX).content.decode()
    assert "Electronic records on file at the period&#x27;s end" in panel and INVALID[:10] not in panel
    page = client.get(url("indicator", "522399", "record_rate")).content.decode()
    assert "Electronic health record coverage" in page and "2025-12" in page and INVALID[:10] not in page


def test_an_unknown_indicator_is_404_with_its_code(stored_values: StoredValues) -> None:
    response = login("weijian").get(url("indicator", "522399", "no_such_rate"))
    assert response.status_code == 404 and "no_such_rate" in response.content.decode()
