"""The surveillance pages: the card form (from an encounter, by hand, its errors in place, the
duplicate's merge offer), the card page and its review steps with their refusals, the lists and
their downloads, timeliness, the signal queue and page, outbreaks — each for the users who use it,
scoped (another township's card or signal is 404) and with every card shown audited."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
from django.test import Client
from openpyxl import load_workbook

from tests.factories.residents import ResidentFactory
from tests.surveillance.conftest import SurvCounty, at
from tests.surveillance.web_support import hfmd_encounter, login, signal_scene
from yigongti.core.clock import now
from yigongti.core.models import AuditEntry
from yigongti.surveillance.models import CardEvent, CaseCard, Outbreak, Signal
from yigongti.surveillance.views_common import deadline_clock

TODAY = dt.date(2026, 6, 15)
# Cards are diagnosed and reported yesterday: "now" is the frozen date at the real time of day, and
# a time of today could still lie in the future when the suite runs early in the morning.
YESTERDAY = TODAY - dt.timedelta(days=1)
NEW = "/surveillance/cards/new/"


def _card_url(card: CaseCard, action: str = "") -> str:
    return f"/surveillance/cards/{card.pk}/" + (f"{action}/" if action else "")


def _reads(card: CaseCard) -> int:
    return AuditEntry.objects.filter(action="read", object_type="surveillance.casecard", object_id=str(card.pk),
                                     outcome="ok").count()


def _other_township_card(surv: SurvCounty) -> CaseCard:
    """A card of a resident of village C (township 2), reported by its clinic's township director."""
    other = ResidentFactory(village=surv.village_c, name="乙镇患儿", birth_date=dt.date(2020, 2, 2))
    return surv.report(user=surv.other_director, institution=surv.clinic_c, resident=other)


def _form(**fields: str) -> dict[str, str]:
    """A card by hand for a patient who is not a resident (a visitor from outside the county)."""
    data = {"patient_name": "外来患儿", "sex": "F", "birth_date": "2022-01-05", "address": "邻县某镇某村",
            "icd10": "B08.4", "diagnosis_type": "clinical", "onset_date": "2026-06-13",
            "diagnosed_at": "2026-06-14T08:30", "institution": "V522399101201"}
    data.update(fields)
    return data


# ---------------------------------------------------------------- every page, every user


@pytest.mark.parametrize("username", ["cunyi", "yuanzhang", "xianyi", "weijian", "jikong"])
def test_every_page_opens_for_each_user(surv: SurvCounty, username: str) -> None:
    surv.report()
    client = login(Client(), username)
    for url in ("/surveillance/", "/surveillance/cards/", NEW, "/surveillance/timeliness/", "/surveillance/signals/",
                "/surveillance/outbreaks/"):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    home = client.get("/surveillance/").content.decode()
    assert 'aria-current="page">传染病</a>' in home  # the top navigation marks the section
    assert ('id="stat-signals"' in home) == (username == "jikong")
    signals = client.get("/surveillance/signals/").content.decode()
    assert ('id="alerts-run"' in signals) == (username == "jikong")


def test_landing_page_shows_my_queues(surv: SurvCounty) -> None:
    card = surv.report()
    director = login(Client(), "yuanzhang").get("/surveillance/").content.decode()
    assert card.card_no in director.split('id="to-review"')[1].split("</section>")[0]
    doctor = login(Client(), "cunyi").get("/surveillance/").content.decode()
    assert card.card_no not in doctor.split('id="to-review"')[1].split("</section>")[0]  # a reporter reviews nothing
    assert card.card_no in doctor.split('id="recent"')[1]
    assert _reads(card) == 2


# ---------------------------------------------------------------- the card form


def test_a_card_from_an_encounter_is_prefilled_and_filed_on_time(surv: SurvCounty) -> None:
    encounter = hfmd_encounter(surv, day=TODAY)
    client = login(Client(), "xianyi")
    page = client.get(f"/care/encounters/{encounter.pk}/").content.decode()
    assert 'id="notifiable-panel"' in page and f'href="{NEW}?encounter={encounter.pk}&amp;disease=hfmd"' in page
    response = client.get(NEW, {"encounter": encounter.pk, "disease": "hfmd"})
    form = response.context["form"]
    assert form["record_no"].value() == surv.resident.record_no and form["icd10"].value() == "B08.4"
    assert form["institution"].value() == "H0001" and form["clinician_name"].value() == "李医生"
    assert form["disease"].value() == "hfmd" and form["diagnosis_type"].value() == "clinical"
    diagnosed = form["diagnosed_at"].value()
    assert diagnosed.date() == TODAY and diagnosed <= now().replace(tzinfo=None)  # shown in local time
    assert "报告时限：诊断后 24 小时" in response.content.decode()
    data = {name: form[name].value() or "" for name in form.fields}
    data.update({"diagnosed_at": diagnosed.strftime("%Y-%m-%dT%H:%M"), "onset_date": "2026-06-13"})
    filed = client.post(NEW, data)
    card = CaseCard.objects.get()
    assert filed.status_code == 302 and filed["Location"] == _card_url(card)
    assert card.encounter == encounter and card.resident == surv.resident and card.on_time
    assert card.institution == surv.hospital and card.township == surv.townships[0]
    page = client.get(_card_url(card)).content.decode()
    assert "在 24 小时时限内（及时）" in page and 'id="timeliness-badge">及时' in page
    # The encounter now shows the card instead of offering it.
    page = client.get(f"/care/encounters/{encounter.pk}/").content.decode()
    assert card.card_no in page and 'id="report-hfmd"' not in page


def test_a_late_card_by_hand_says_so(surv: SurvCounty) -> None:
    """Diagnosed 30 hours before now (rounded down to the minute): past the 24-hour deadline."""
    client = login(Client(), "cunyi")
    diagnosed = now() - dt.timedelta(hours=30)
    response = client.post(NEW, _form(diagnosed_at=diagnosed.strftime("%Y-%m-%dT%H:%M"),
                                      onset_date=(diagnosed.date() - dt.timedelta(days=1)).isoformat()), follow=True)
    card = CaseCard.objects.get()
    assert not card.on_time and card.resident is None and card.path == "" and card.patient_name == "外来患儿"
    page = response.content.decode()
    assert "超过 24 小时时限（迟报）" in page and 'id="timeliness-badge">迟报' in page


@pytest.mark.parametrize(("fields", "field", "text"), [
    ({"icd10": "I10"}, "icd10", "不属于法定报告传染病"),
    ({"onset_date": "2026-06-15", "diagnosed_at": "2026-06-14T09:00"}, "onset_date", "不能晚于诊断日期"),
    ({"onset_date": "2026-06-20"}, "onset_date", "不能是将来的日期"),
    ({"diagnosed_at": "2026-06-17T09:00"}, "diagnosed_at", "不能是将来的时间"),
    ({"icd10": "", "disease": ""}, "disease", "请选择病种"),
    ({"patient_name": ""}, "patient_name", "请填写患者姓名"),
    ({"disease": "measles"}, "icd10", "与所选病种"),
    ({"record_no": "NOPE"}, "record_no", "未找到该居民档案"),
])
def test_bad_input_shows_under_its_field_and_writes_nothing(surv: SurvCounty, fields: dict[str, str], field: str,
                                                            text: str) -> None:
    response = login(Client(), "cunyi").post(NEW, _form(**fields))
    assert response.status_code == 422
    assert text in " ".join(str(e) for e in response.context["form"].errors[field])
    assert re.search(rf'id="field-{field}"[^>]*>', response.content.decode())
    assert 'class="field invalid"' in response.content.decode() and not CaseCard.objects.exists()


def test_a_duplicate_is_offered_for_merge_and_merges(surv: SurvCounty) -> None:
    first = surv.report(diagnosis_type="suspected")
    client = login(Client(), "cunyi")
    data = {"record_no": surv.resident.record_no, "icd10": "B08.4", "diagnosis_type": "confirmed",
            "onset_date": "2026-06-13", "diagnosed_at": "2026-06-14T11:00", "institution": "V522399101201"}
    offered = client.post(NEW, data)
    page = offered.content.decode()
    assert offered.status_code == 409 and 'id="duplicate-notice"' in page and first.card_no in page
    assert f'name="merge_into" value="{first.pk}"' in page and f'href="{_card_url(first)}"' in page
    merged = client.post(NEW, {**data, "merge_into": str(first.pk)})
    assert merged.status_code == 302 and merged["Location"] == _card_url(first)
    assert CaseCard.objects.count() == 1
    first.refresh_from_db()
    assert first.diagnosis_type == "confirmed"
    assert CardEvent.objects.filter(card=first, action="merge").count() == 1


def test_the_deadline_clock() -> None:
    """Diagnosed 08:00, 24-hour deadline, seen at 09:30: due 08:00 next day, 22 h 30 min left;
    a 2-hour deadline seen at 11:15 is 1 h 15 min past (10:00)."""
    diagnosed = at(TODAY, 8)
    clock = deadline_clock(diagnosed, 24, at=at(TODAY, 9, 30))
    assert clock.deadline == at(TODAY + dt.timedelta(days=1), 8) and not clock.overdue and clock.parts == (22, 30)
    late = deadline_clock(diagnosed, 2, at=at(TODAY, 11, 15))
    assert late.overdue and late.parts == (1, 15)


def test_the_deadline_partial_follows_disease_and_time(surv: SurvCounty) -> None:
    client = login(Client(), "cunyi")
    cholera = client.get(f"{NEW}deadline/", {"disease": "cholera", "diagnosed_at": "2026-06-13T08:00"}).content.decode()
    assert "诊断后 2 小时（截止 2026-06-13 10:00）" in cholera and "已超时" in cholera
    by_code = client.get(f"{NEW}deadline/", {"icd10": "B08.4", "diagnosed_at": "2026-06-15T08:00"}).content.decode()
    assert "诊断后 24 小时（截止 2026-06-16 08:00）" in by_code and "剩余" in by_code
    nothing = client.get(f"{NEW}deadline/", {"disease": "", "diagnosed_at": "2026-06-1"}).content.decode()
    assert "后显示报告时限" in nothing


# ---------------------------------------------------------------- the card page and its review


def test_card_page_shows_the_clock_the_history_and_is_audited(surv: SurvCounty) -> None:
    """Diagnosed 09:00, reported 10:00 (the fixture's defaults): 1 h 0 min, within 24 hours."""
    card = surv.report()
    page = login(Client(), "yuanzhang").get(_card_url(card)).content.decode()
    assert "诊断 → 报告 用时 1 小时 0 分" in page and "时限 24 小时" in page
    assert 'id="timeliness-badge">及时' in page and 'class="event event-report"' in page
    assert f'href="/residents/{surv.resident.record_no}/"' in page
    assert 'id="accept-form"' in page and "乡镇初审通过" in page
    assert _reads(card) == 1


def test_another_township_is_not_found(surv: SurvCounty) -> None:
    """A card of township 2 is 404 for the village doctor and the director of township 1 (page and
    action, which writes nothing); township 1's signal is 404 for the village doctor and township 2."""
    card = _other_township_card(surv)
    scene = signal_scene(surv, YESTERDAY)
    for username in ("cunyi", "yuanzhang"):
        client = login(Client(), username)
        assert client.get(_card_url(card)).status_code == 404
        assert client.post(_card_url(card, "accept")).status_code == 404
        assert client.post(_card_url(card, "return"), {"return-reason": "x"}).status_code == 404
        assert card.card_no not in client.get("/surveillance/cards/").content.decode()
    for username in ("cunyi", "yuanzhang2"):
        assert login(Client(), username).get(f"/surveillance/signals/{scene.hfmd.pk}/").status_code == 404
    card.refresh_from_db()
    assert card.status == "reported"
    assert AuditEntry.objects.filter(object_type="surveillance.casecard", object_id=str(card.pk),
                                     outcome="not_found").count() >= 2


def test_review_township_then_county(surv: SurvCounty) -> None:
    card = surv.report()
    director = login(Client(), "yuanzhang")
    assert director.post(_card_url(card, "accept")).status_code == 302
    card.refresh_from_db()
    assert card.status == "township_checked"
    again = director.post(_card_url(card, "accept"))
    assert again.status_code == 409 and "不能审核通过" in again.content.decode()
    cdc = login(Client(), "jikong")
    assert "县疾控终审通过" in cdc.get(_card_url(card)).content.decode()
    assert cdc.post(_card_url(card, "accept"), follow=True).status_code == 200
    card.refresh_from_db()
    assert card.status == "accepted"
    assert list(card.events.values_list("action", flat=True)) == ["report", "township_accept", "accept"]


def test_a_reporter_may_not_review(surv: SurvCounty) -> None:
    card = surv.report()
    response = login(Client(), "cunyi").post(_card_url(card, "accept"))
    assert response.status_code == 403
    assert "只有乡镇卫生院或县疾控的审核人员可以审核" in response.content.decode()
    card.refresh_from_db()
    assert card.status == "reported"


def test_return_correct_revise_delete(surv: SurvCounty) -> None:
    card = surv.report()
    other = surv.report(resident=ResidentFactory(village=surv.village_a), diagnosed=at(YESTERDAY, 8))
    cdc = login(Client(), "jikong")
    missing = cdc.post(_card_url(card, "return"), {"return-reason": ""})
    assert missing.status_code == 422 and not CardEvent.objects.filter(action="return").exists()
    assert cdc.post(_card_url(card, "return"), {"return-reason": "发病日期有误"}).status_code == 302
    card.refresh_from_db()
    assert card.status == "returned" and card.return_reason == "发病日期有误"
    # The reporter sees the card among the returned ones and corrects the onset date.
    doctor = login(Client(), "cunyi")
    assert card.card_no in doctor.get("/surveillance/").content.decode().split('id="returned"')[1]
    page = doctor.get(_card_url(card))
    assert 'id="correct-form"' in page.content.decode()
    form = page.context["correct_form"]
    data = {f"correct-{name}": form[name].value() or "" for name in form.fields}
    data["correct-diagnosed_at"] = form["diagnosed_at"].value().strftime("%Y-%m-%dT%H:%M")
    data["correct-onset_date"] = "2026-06-12"
    assert doctor.post(_card_url(card, "correct"), data).status_code == 302
    card.refresh_from_db()
    assert card.status == "reported" and card.onset_date == dt.date(2026, 6, 12)
    assert CardEvent.objects.get(card=card, action="correct").changes == {"onset_date": ["2026-06-13", "2026-06-12"]}
    # The CDC revises the 病例分类 …
    assert cdc.post(_card_url(card, "revise"), {"revise-diagnosis_type": "confirmed",
                                                "revise-note": "实验室确诊"}).status_code == 302
    card.refresh_from_db()
    assert card.diagnosis_type == "confirmed"
    # … and deletes the other card as its duplicate (unknown number first: nothing happens).
    unknown = cdc.post(_card_url(other, "delete"), {"delete-reason": "重卡", "delete-duplicate_no": "000"})
    assert unknown.status_code == 422 and "未找到报告卡 000" in unknown.content.decode()
    deleted = cdc.post(_card_url(other, "delete"), {"delete-reason": "重卡", "delete-duplicate_no": card.card_no},
                       follow=True)
    other.refresh_from_db()
    assert other.status == "deleted" and other.duplicate_of == card
    assert f'id="duplicate-of-link">{card.card_no}' in deleted.content.decode()
    twice = cdc.post(_card_url(other, "delete"), {"delete-reason": "再删"})
    assert twice.status_code == 409 and "已删除" in twice.content.decode()


# ---------------------------------------------------------------- lists, downloads, timeliness


def test_card_list_filters_pages_and_downloads(surv: SurvCounty) -> None:
    hfmd = surv.report()
    measles = surv.report(user=surv.director, institution=surv.centres[0], icd10="B05.9",
                          resident=ResidentFactory(village=surv.village_b))
    client = login(Client(), "yuanzhang")
    listed = client.get("/surveillance/cards/", {"disease": "measles"}).content.decode()
    assert measles.card_no in listed and hfmd.card_no not in listed
    book = load_workbook(io.BytesIO(client.get("/surveillance/cards/", {"format": "xlsx"}).content))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][0] == "报告卡编号" and {r[0] for r in rows[1:]} == {hfmd.card_no, measles.card_no}
    assert rows[1][12] == 1.0  # hours from diagnosis to report
    text = client.get("/surveillance/cards/", {"format": "csv", "status": "reported"}).content.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][0] == "报告卡编号" and len(table) == 3
    # Every card shown was audited: the list (measles only), the workbook and the CSV.
    assert _reads(measles) == 3 and _reads(hfmd) == 2


def test_timeliness_per_institution_worst_first(surv: SurvCounty) -> None:
    """Clinic A: delays 1 h, 3 h (on time) and 30 h (late) → 2/3 = 66.7 %, median 3.0 h; the hospital:
    one card 2 h → 100 %, median 2.0 h. A deleted duplicate counts nowhere."""
    kids = [ResidentFactory(village=surv.village_a) for _ in range(4)]
    surv.report(resident=kids[0], diagnosed=at(YESTERDAY, 1), reported=at(YESTERDAY, 2))
    surv.report(resident=kids[1], diagnosed=at(YESTERDAY, 1), reported=at(YESTERDAY, 4))
    surv.report(resident=kids[2], diagnosed=at(YESTERDAY - dt.timedelta(days=2), 2), reported=at(YESTERDAY, 8))
    surv.report(user=surv.clinician, institution=surv.hospital, resident=kids[3], diagnosed=at(YESTERDAY, 6),
                reported=at(YESTERDAY, 8))
    client = login(Client(), "jikong")
    response = client.get("/surveillance/timeliness/")
    rows = response.context["rows"]
    assert [(t.institution.code, t.reported, t.on_time) for t in rows] == [
        (surv.clinic_a.code, 3, 2), ("H0001", 1, 1)]
    assert round(rows[0].rate, 1) == 66.7 and rows[0].median_hours == 3.0 and rows[1].median_hours == 2.0
    assert "66.7%" in response.content.decode()
    book = load_workbook(io.BytesIO(client.get("/surveillance/timeliness/", {"format": "xlsx"}).content))
    sheet = list(book.active.iter_rows(values_only=True))
    assert sheet[1] == (surv.clinic_a.code, surv.clinic_a.name, 3, 2, 66.7, 3.0)


# ---------------------------------------------------------------- signals and outbreaks


def test_signal_queue_for_the_cdc_and_read_only_for_the_township(surv: SurvCounty) -> None:
    scene = signal_scene(surv, YESTERDAY)
    queue = login(Client(), "jikong").get("/surveillance/signals/").content.decode()
    assert f'id="signal-{scene.hfmd.pk}"' in queue and f'id="signal-{scene.measles.pk}"' in queue
    row = queue.split(f'id="signal-{scene.hfmd.pk}"')[1].split("</tr>")[0]
    assert "EARS C3" in row and "2.96" in row and ">3<" in row  # observed 3, threshold 2.96, 3 cases
    township = login(Client(), "yuanzhang")
    assert 'id="read-only-note"' in township.get("/surveillance/signals/").content.decode()
    page = township.get(f"/surveillance/signals/{scene.hfmd.pk}/").content.decode()
    assert 'id="verify-form"' not in page
    refused = township.post(f"/surveillance/signals/{scene.hfmd.pk}/verify/", {"verify-note": "我来核实"})
    assert refused.status_code == 403 and "只有县疾控可以核实" in refused.content.decode()
    assert scene.hfmd.pk not in {r.pk for r in login(Client(), "yuanzhang2").get(
        "/surveillance/signals/").context["rows"]}


def test_signal_page_chart_cases_and_verify(surv: SurvCounty) -> None:
    scene = signal_scene(surv, YESTERDAY)
    client = login(Client(), "jikong")
    url = f"/surveillance/signals/{scene.hfmd.pk}/"
    response = client.get(url)
    page = response.content.decode()
    assert "EARS C3：近3天 C2 统计量超过 1 的部分之和大于 z 即预警（α=0.025）" in page
    figure = json.loads(page.split('<script id="signal-figure" type="application/json">')[1].split("</script>")[0])
    assert [trace["type"] for trace in figure["data"]] == ["bar", "scatter", "scatter"]
    assert figure["layout"]["shapes"][0]["x0"] == YESTERDAY.isoformat()
    day = figure["data"][0]["x"].index(YESTERDAY.isoformat())
    assert figure["data"][0]["y"][day] == 3.0 and figure["data"][2]["y"][day] == pytest.approx(2.96, abs=0.01)
    assert figure["data"][0]["x"][-1] == TODAY.isoformat()  # the days after the signal, up to today
    assert figure["data"][0]["y"][0] is None  # before the county's first card: missing, not zero
    for card in scene.hfmd_cards:
        assert card.card_no in page and _reads(card) == 1
    assert client.post(f"{url}verify/", {"verify-note": ""}).status_code == 422
    assert client.post(f"{url}verify/", {"verify-note": "电话核实 3 例均为同一幼儿园"}, follow=True).status_code == 200
    scene.hfmd.refresh_from_db()
    assert scene.hfmd.status == "verified" and "幼儿园" in scene.hfmd.note
    again = client.post(f"{url}verify/", {"verify-note": "再核实"})
    assert again.status_code == 409 and "不能核实" in again.content.decode()


def test_run_today_from_the_queue(surv: SurvCounty) -> None:
    """Yesterday's signals are already in the queue; a measles case reported today is a new one."""
    signal_scene(surv, YESTERDAY)
    surv.report(icd10="B05.9", resident=ResidentFactory(village=surv.village_b), user=surv.director,
                institution=surv.centres[0], diagnosed=now() - dt.timedelta(minutes=1), reported=now())
    done = login(Client(), "jikong").post("/surveillance/signals/run/", follow=True).content.decode()
    assert "新信号 1 条，已存在 0 条" in done
    assert Signal.objects.filter(date=TODAY, disease__code="measles", method="single").count() == 1
    assert login(Client(), "yuanzhang").post("/surveillance/signals/run/").status_code == 403


def test_investigate_link_and_close(surv: SurvCounty) -> None:
    scene = signal_scene(surv, YESTERDAY)
    client = login(Client(), "jikong")
    first, second, third = scene.hfmd_cards
    opened = client.post(f"/surveillance/signals/{scene.hfmd.pk}/investigate/", {
        "investigate-title": "镇1幼儿园手足口病聚集", "investigate-note": "现场调查",
        "investigate-cases": [str(first.pk), str(second.pk)]})
    outbreak = Outbreak.objects.get()
    assert opened.status_code == 302 and opened["Location"] == f"/surveillance/outbreaks/{outbreak.pk}/"
    assert set(outbreak.cases.values_list("pk", flat=True)) == {first.pk, second.pk}
    url = f"/surveillance/outbreaks/{outbreak.pk}/"
    unknown = client.post(f"{url}link/", {"card_nos": f"{third.card_no}, 999"})
    assert unknown.status_code == 422 and "未找到报告卡：999" in unknown.content.decode()
    assert client.post(f"{url}link/", {"card_nos": third.card_no}).status_code == 302
    assert outbreak.cases.count() == 3
    assert client.post(f"{url}close/", {"summary": ""}).status_code == 422
    closed = client.post(f"{url}close/", {"summary": "托幼机构聚集，已消毒停课"}, follow=True).content.decode()
    outbreak.refresh_from_db()
    assert outbreak.status == "closed" and 'id="link-form"' not in closed
    assert outbreak.code in login(Client(), "jikong").get("/surveillance/outbreaks/").content.decode()
