"""What a village doctor does with resident records in a real browser: register a resident, be shown
the existing record when registering the same resident ID again, merge a pair from the review queue.
Drives Debian's Chromium through Playwright (never a downloaded browser)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser import RESULTS
from tests.conftest import MiniCounty
from tests.factories.accounts import PASSWORD
from tests.factories.registry import valid_resident_id
from yigongti.residents import services
from yigongti.residents.choices import PairStatus, RecordStatus
from yigongti.residents.models import DedupeRun, MatchPair, Resident

pytestmark = pytest.mark.browser


class PlantedPair:
    """The MiniCounty (committed, for the live server's thread) with a suspected duplicate in village A:
    王芳 registered first with her ID, 汪芳 later without one — the review queue's only pair."""

    def __init__(self) -> None:
        self.c = MiniCounty()
        doctor, village = self.c.village_doctor, self.c.village_a
        born = dt.date(1968, 9, 12)
        self.older = services.resident_register(
            user=doctor, name="王芳", sex="F", birth_date=born, village_code=village.code,
            id_number=valid_resident_id(born=born, male=False), phone="13700001111", address="二组 8 号")
        self.newer = services.resident_register(
            user=doctor, name="汪芳", sex="F", birth_date=born, village_code=village.code, phone="13700001111",
            address="二组8号", confirm_distinct=True)
        run = DedupeRun.objects.create(review_threshold=0.5, auto_threshold=0.99, n_records=2, n_pairs=1)
        self.pair = MatchPair.objects.create(
            run=run, left=self.newer, right=self.older, probability=0.962, match_weight=4.7, path=village.path,
            reasons=[
                {"field": "name", "field_label": "姓名", "field_label_en": "Name", "level": "pinyin",
                 "label": "拼音相同", "label_en": "Same pinyin", "weight": 5.1},
                {"field": "birth_date", "field_label": "出生日期", "field_label_en": "Birth date", "level": "exact",
                 "label": "完全相同", "label_en": "Exact", "weight": 7.9},
                {"field": "id_number", "field_label": "身份证号", "field_label_en": "Resident ID", "level": "null",
                 "label": "一方缺失", "label_en": "Missing", "weight": 0.0},
            ])


@pytest.fixture
def planted(transactional_db: None) -> PlantedPair:
    return PlantedPair()


def test_village_doctor_registers_meets_a_duplicate_and_merges_a_pair(live_server: object, planted: PlantedPair,
                                                                      page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    c = planted.c
    base = str(live_server.url)  # type: ignore[attr-defined]
    RESULTS.mkdir(exist_ok=True)

    # Sign in from the residents page, which brings us back to it.
    page.goto(f"{base}/residents/")
    expect(page).to_have_url(f"{base}/login/?next=/residents/")
    page.fill("#id_username", "cunyi")
    page.fill("#id_password", PASSWORD)
    page.click("form[action='/login/'] button[type=submit]")
    expect(page).to_have_url(f"{base}/residents/")
    expect(page.locator("h1")).to_have_text("居民档案")
    expect(page.locator("table.residents tbody tr")).to_have_count(2)

    # Register a new resident through the form.
    page.click("a.button:has-text('新建档案')")
    expect(page.locator("h1")).to_have_text("新建档案")
    born = dt.date(1992, 3, 15)
    number = valid_resident_id(born=born, male=True)
    page.fill("#id_name", "刘洋")
    page.check("input[name=sex][value=M]")
    page.fill("#id_birth_date", born.isoformat())
    page.fill("#id_id_number", number)
    page.fill("#id_phone", "13912345678")
    page.fill("#id_address", "三组 12 号")
    page.select_option("#id_village_code", c.village_a.code)
    page.check("#id_new_household")
    page.select_option("#id_blood_type", "A")
    page.check("input[name=allergies][value=penicillin]")
    page.check("input[name=past_history][value=hypertension]")
    page.check("input[name=family_father][value=diabetes]")
    page.select_option("#id_kitchen", "hood")
    page.select_option("#id_water", "tap")
    page.screenshot(path=str(RESULTS / "residents-register.png"), full_page=True)
    page.click("form.record-form .form-actions button[type=submit]")

    created = Resident.objects.get(id_number=number)
    expect(page).to_have_url(f"{base}/residents/{created.record_no}/")
    expect(page.locator("h1")).to_have_text("刘洋")
    expect(page.locator(".messages")).to_contain_text(f"已建档：刘洋（{created.record_no}）")
    main = page.locator("main")
    for text in (number, c.village_a.name, c.clinics[c.village_a.code].name, c.centres[0].name, "青霉素", "高血压",
                 "父亲：糖尿病", "油烟机", "自来水", "户主"):
        expect(main).to_contain_text(text)
    page.screenshot(path=str(RESULTS / "residents-record.png"), full_page=True)

    # The same resident ID again: nothing is created, the existing record is shown instead.
    page.goto(f"{base}/residents/new/")
    page.fill("#id_name", "刘阳")
    page.check("input[name=sex][value=M]")
    page.fill("#id_birth_date", born.isoformat())
    page.fill("#id_id_number", number)
    page.select_option("#id_village_code", c.village_a.code)
    page.click("form.record-form .form-actions button[type=submit]")
    panel = page.locator("#duplicate")
    expect(panel).to_be_visible()
    expect(panel.locator("h2")).to_have_text("该居民已有档案")
    expect(panel).to_contain_text(created.record_no)
    expect(panel).to_contain_text("刘洋")
    expect(panel.locator("input[name=confirm_distinct]")).to_have_count(0)
    page.screenshot(path=str(RESULTS / "residents-duplicate.png"), full_page=True)
    assert Resident.objects.filter(id_number=number).count() == 1
    panel.locator("a.button").click()
    expect(page).to_have_url(f"{base}/residents/{created.record_no}/")

    # The list finds the new record by its tone-less pinyin.
    page.click("nav.nav a:has-text('居民档案')")
    page.fill("#id_q", "liuyang")
    page.click("form.search button[type=submit]")
    rows = page.locator("table.residents tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(created.record_no)
    page.screenshot(path=str(RESULTS / "residents-list.png"), full_page=True)

    # The review queue: the planted pair side by side, the differing name highlighted.
    page.click("a.button:has-text('疑似重复审核')")
    expect(page.locator("h1")).to_have_text("疑似重复审核")
    card = page.locator(f"#pair-{planted.pair.pk}")
    expect(card).to_contain_text("0.962")
    expect(card.locator("table.compare tr.differs")).to_contain_text(["姓名"])
    expect(card.locator("table.reasons")).to_contain_text("拼音相同")
    # The older record (王芳, with her ID) is proposed as the survivor.
    expect(card.locator(f"input[name=survivor][value='{planted.older.record_no}']")).to_be_checked()
    page.screenshot(path=str(RESULTS / "residents-review.png"), full_page=True)
    card.locator("button[value=merge]").click()
    expect(page.locator(".messages")).to_contain_text(f"已合并：保留档案 {planted.older.record_no}")
    expect(page.locator(f"#pair-{planted.pair.pk}")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("没有待审核的疑似重复档案")

    # The merged record shows as merged and points at the survivor.
    page.goto(f"{base}/residents/{planted.newer.record_no}/")
    expect(page.locator("#record-status")).to_have_text("已合并")
    expect(page.locator("#merged-into a")).to_have_text(f"王芳（{planted.older.record_no}）")
    expect(page.locator("#merges")).to_contain_text("撤销合并")
    page.screenshot(path=str(RESULTS / "residents-merged.png"), full_page=True)
    planted.pair.refresh_from_db()
    planted.newer.refresh_from_db()
    assert planted.pair.status == PairStatus.MERGED
    assert planted.newer.status == RecordStatus.MERGED and planted.newer.merged_into_id == planted.older.pk

    # The home page counts the records in care (the merged one no longer) and the pairs left to review.
    page.click("nav.nav a:has-text('首页')")
    card = page.locator("#residents-card")
    expect(card.locator(".stat b")).to_have_text(["2", "0"])
    page.screenshot(path=str(RESULTS / "residents-home.png"), full_page=True)
    page.goto(f"{base}/residents/{planted.newer.record_no}/")

    # The survivor's page in English.
    page.click("form.lang button[value=en]")
    expect(page.locator("#record-status")).to_have_text("Merged")
    page.locator("#merged-into a").click()
    expect(page.locator("h1")).to_have_text("王芳")
    expect(page.locator("#merges")).to_contain_text("Undo merge")
    page.screenshot(path=str(RESULTS / "residents-survivor-en.png"), full_page=True)
