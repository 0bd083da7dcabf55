"""The residents pages through Django's test client: search, registration and the door check,
the record, transfer, the review queue with merge and unmerge — and scope on every one of them."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import LazySettings
from django.test import Client
from django.urls import reverse

from tests.conftest import MiniCounty
from tests.factories.accounts import UserFactory
from tests.factories.registry import valid_resident_id
from tests.web.conftest import login
from yigongti.accounts.models import Role
from yigongti.core.models import AuditEntry, AuditOutcome
from yigongti.residents import services
from yigongti.residents.choices import PairStatus, RecordStatus
from yigongti.residents.models import DedupeRun, MatchPair, Resident

pytestmark = pytest.mark.django_db

INVALID = "@@INVALID-TEMPLATE-VARIABLE(%s)@@"
BORN = dt.date(1980, 5, 17)


@pytest.fixture
def strict_templates(settings: LazySettings) -> Iterator[None]:
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["OPTIONS"]["string_if_invalid"] = INVALID
    settings.TEMPLATES = templates
    yield


def register(user: Any, village: Any, name: str, *, born: dt.date = BORN, male: bool = True,
             id_number: str | None = None, **extra: Any) -> Resident:
    number = valid_resident_id(born=born, male=male) if id_number is None else id_number
    return services.resident_register(user=user, name=name, sex="M" if male else "F", birth_date=born,
                                      village_code=village.code, id_number=number, **extra)


class Residents:
    """Records in three villages: A (the village doctor's), B (same township), C (other township)."""

    def __init__(self, c: MiniCounty) -> None:
        self.c = c
        self.zhang = register(c.village_doctor, c.village_a, "张三", phone="13800000001", address="一组 3 号",
                              allergies=["penicillin"], past_history=[{"condition": "hypertension",
                                                                       "diagnosed": "2019-03-01"}],
                              family_history={"father": ["diabetes"]}, kitchen="hood")
        self.li = register(c.village_doctor, c.village_a, "李四", born=dt.date(1975, 1, 2), male=False)
        self.wang_b = register(c.director, c.village_b, "王五", born=dt.date(1960, 3, 4))
        self.zhao_c = register(c.other_director, c.village_c, "赵六", born=dt.date(1990, 7, 8))

    def pair(self, left: Resident, right: Resident, probability: float = 0.97) -> MatchPair:
        run = DedupeRun.objects.create(review_threshold=0.5, auto_threshold=0.99, n_records=4, n_pairs=1)
        reasons = [
            {"field": "name", "field_label": "姓名", "field_label_en": "Name", "level": "pinyin",
             "label": "拼音相同", "label_en": "Same pinyin", "weight": 6.5},
            {"field": "id_number", "field_label": "身份证号", "field_label_en": "Resident ID", "level": "else",
             "label": "不同", "label_en": "Different", "weight": -3.2},
        ]
        return MatchPair.objects.create(run=run, left=left, right=right, probability=probability,
                                        match_weight=8.1, reasons=reasons, path=left.path)


@pytest.fixture
def people(county: MiniCounty) -> Residents:
    return Residents(county)


def _form(village: Any, **overrides: Any) -> dict[str, Any]:
    data = {"name": "孙七", "sex": "M", "birth_date": "1980-05-17", "id_number": "", "ethnicity": "01",
            "village_code": village.code, "blood_type": "unknown", "phone": "13900000000"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _body(response: Any) -> str:
    return response.content.decode()


# ---------------------------------------------------------------- every page renders, both languages


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_residents_page_renders_cleanly(people: Residents, client: Client, strict_templates: None,
                                              language: str) -> None:
    c = people.c
    twin = register(c.village_doctor, c.village_a, "张叁", id_number="", confirm_distinct=True)
    pair = people.pair(people.zhang, twin)
    merged_pair = people.pair(people.li, register(c.village_doctor, c.village_a, "李思", id_number="",
                                                  born=dt.date(1975, 1, 2), male=False, confirm_distinct=True))
    services.pair_decide(user=c.village_doctor, pair=merged_pair, decision="merge")
    merge = people.li.merges_absorbed.get()
    login(client, "cunyi")
    client.cookies["django_language"] = language
    detail = reverse("residents:detail", args=[people.zhang.record_no])
    pages = [
        reverse("residents:list"), reverse("residents:list") + "?q=zhang", reverse("residents:list") + "?q=无此人",
        reverse("residents:list") + f"?village={c.village_a.code}&status=merged",
        reverse("residents:new"), detail, reverse("residents:edit", args=[people.zhang.record_no]),
        reverse("residents:transfer", args=[people.zhang.record_no]),
        reverse("residents:detail", args=[people.li.record_no]),
        reverse("residents:detail", args=[merge.merged.record_no]),
        reverse("residents:review"), reverse("residents:pair", args=[pair.pk]),
        reverse("residents:unmerge", args=[merge.pk]), reverse("home"),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = _body(response)
        assert INVALID[:10] not in body, (url, body[body.find(INVALID[:10]) - 200:][:400])
        assert f'<html lang="{language}">' in body, url
    words = {"zh-hans": ("居民档案", "药物过敏史", "青霉素", "高血压", "父亲", "油烟机"),
             "en": ("Resident records", "Drug allergies", "Penicillin", "Hypertension", "Father", "Range hood")}
    body = _body(client.get(detail))
    for word in words[language]:
        assert word in body, word
    review = _body(client.get(reverse("residents:review")))
    assert ("Same pinyin" if language == "en" else "拼音相同") in review
    # Other roles' pages open too.
    for username in ("yuanzhang", "weijian"):
        login(client, username)
        client.cookies["django_language"] = language
        for url in (reverse("residents:list"), detail, reverse("residents:review"), reverse("home")):
            response = client.get(url)
            assert response.status_code == 200 and INVALID[:10] not in _body(response), (username, url)


# ---------------------------------------------------------------- search


def test_search_finds_by_id_record_number_name_pinyin_and_birth_date(people: Residents, client: Client) -> None:
    login(client, "cunyi")
    url = reverse("residents:list")
    old_id = people.zhang.id_number[:6] + people.zhang.id_number[8:17]  # the 15-digit form, before 1999
    for q in (people.zhang.id_number, old_id, people.zhang.record_no, "张三", "张", "zhang san", "zhangsan", "ZHANG",
              "张三 1980-05-17"):
        body = _body(client.get(url, {"q": q}))
        assert people.zhang.record_no in body, q
        assert people.li.record_no not in body, q
    assert people.zhang.record_no not in _body(client.get(url, {"q": "张三 1980-05-18"}))
    assert people.li.record_no in _body(client.get(url, {"q": "li si"}))
    # Filters: village and status.
    body = _body(client.get(url, {"village": people.c.village_a.code, "status": "active"}))
    assert people.zhang.record_no in body and people.li.record_no in body


def test_the_id_is_masked_for_a_user_who_may_only_view(people: Residents, client: Client) -> None:
    c = people.c
    UserFactory(username="chakan", role=Role.TOWNSHIP_STAFF, entry_unit=c.village_b, view_unit=c.townships[0])
    login(client, "cunyi")
    assert people.zhang.id_number in _body(client.get(reverse("residents:list")))
    login(client, "chakan")
    body = _body(client.get(reverse("residents:list")))
    masked = people.zhang.id_number[:6] + "********" + people.zhang.id_number[-4:]
    assert masked in body and people.zhang.id_number not in body
    assert people.wang_b.id_number in body  # village B is inside their entry scope
    detail = _body(client.get(reverse("residents:detail", args=[people.zhang.record_no])))
    assert masked in detail and people.zhang.id_number not in detail
    assert reverse("residents:edit", args=[people.zhang.record_no]) not in detail


# ---------------------------------------------------------------- scope


def test_another_villages_record_is_404_and_absent_from_list_and_queue(people: Residents, client: Client) -> None:
    c = people.c
    pair_ab = people.pair(people.zhang, people.wang_b)
    pair_aa = people.pair(people.zhang, people.li, probability=0.6)
    login(client, "cunyi")
    for name in ("detail", "edit", "transfer"):
        response = client.get(reverse(f"residents:{name}", args=[people.wang_b.record_no]))
        assert response.status_code == 404, name
        assert people.wang_b.name not in _body(response)
    # Each attempt is audited as a miss; opening one's own record as a read.
    misses = AuditEntry.objects.filter(object_type="residents.resident", object_id=people.wang_b.record_no,
                                       outcome=AuditOutcome.NOT_FOUND, user=c.village_doctor)
    assert misses.count() == 3
    client.get(reverse("residents:detail", args=[people.zhang.record_no]))
    assert AuditEntry.objects.filter(object_type="residents.resident", object_id=str(people.zhang.pk),
                                     outcome=AuditOutcome.OK, action="read", channel="web").exists()
    listing = _body(client.get(reverse("residents:list"), {"q": "王五"}))
    assert people.wang_b.record_no not in listing
    assert people.wang_b.record_no not in _body(client.get(reverse("residents:list")))
    queue = _body(client.get(reverse("residents:review")))
    assert f'id="pair-{pair_aa.pk}"' in queue and f'id="pair-{pair_ab.pk}"' not in queue
    assert people.wang_b.name not in queue
    assert client.get(reverse("residents:pair", args=[pair_ab.pk])).status_code == 404
    response = client.post(reverse("residents:pair", args=[pair_ab.pk]), {"decision": "distinct"})
    assert response.status_code == 404
    assert MatchPair.objects.get(pk=pair_ab.pk).status == PairStatus.PENDING
    # A village doctor cannot register in another village either.
    response = client.post(reverse("residents:new"), _form(c.village_b))
    assert response.status_code == 422 and not Resident.objects.filter(name="孙七").exists()
    # The township director sees both villages of the township and the pair, not the other township.
    login(client, "yuanzhang")
    queue = _body(client.get(reverse("residents:review")))
    assert f'id="pair-{pair_ab.pk}"' in queue
    assert client.get(reverse("residents:detail", args=[people.zhao_c.record_no])).status_code == 404


# ---------------------------------------------------------------- registration and the door check


def test_register_creates_the_record_and_shows_it(people: Residents, client: Client) -> None:
    c = people.c
    login(client, "cunyi")
    number = valid_resident_id(born=dt.date(1988, 8, 8), male=False)
    response = client.post(reverse("residents:new"), _form(
        c.village_a, name="孙 七", sex="F", birth_date="1988-08-08", id_number=number.lower(), new_household="on",
        allergies=["penicillin", "sulfonamide"], past_history=["diabetes"], family_mother=["hypertension"],
        disabilities=["visual"], kitchen="hood", fuel="lpg", water="tap", toilet="sanitary", livestock_pen="none"))
    assert response.status_code == 302, _body(response)
    created = Resident.objects.get(id_number=number)
    assert response["Location"] == reverse("residents:detail", args=[created.record_no])
    assert created.name == "孙七" and created.record_no.startswith(c.village_a.code)
    assert created.allergies == ["penicillin", "sulfonamide"]
    assert created.past_history == [{"condition": "diabetes", "diagnosed": None}]
    assert created.family_history == {"mother": ["hypertension"]}
    assert created.household is not None and created.household.head_id == created.pk
    assert created.relation_to_head == "head"
    body = _body(client.get(response["Location"]))
    assert "孙七" in body and "已建档" in body and created.household.code in body


def test_registration_errors_appear_under_their_fields(people: Residents, client: Client) -> None:
    c = people.c
    login(client, "cunyi")
    good = valid_resident_id(born=dt.date(1990, 1, 1))
    cases = [
        ({"name": ""}, "name", "这个字段是必填项"),
        ({"id_number": good[:17] + ("0" if good[17] != "0" else "1"), "birth_date": "1990-01-01"},
         "id_number", "校验位错误"),
        ({"id_number": good, "birth_date": "1990-01-02"}, "birth_date", "不一致"),
        ({"id_number": good, "birth_date": "1990-01-01", "sex": "F"}, "sex", "性别不一致"),
        ({"birth_date": "2999-01-01"}, "birth_date", "不能晚于今天"),
        ({"village_code": c.village_c.code}, "village_code", "选择一个有效的选项"),
        ({"household_code": "NO-SUCH", "relation_to_head": "child"}, "household_code", "不存在"),
    ]
    before = Resident.objects.count()
    for overrides, field, message in cases:
        response = client.post(reverse("residents:new"), _form(c.village_a, **overrides))
        assert response.status_code == 422, overrides
        form = response.context["form"]
        assert field in form.errors and message in " ".join(form.errors[field]), (overrides, form.errors)
        body = _body(response)
        assert 'class="errorlist field-error"' in body
    assert Resident.objects.count() == before


def test_the_same_resident_id_shows_the_existing_record(people: Residents, client: Client) -> None:
    c = people.c
    login(client, "cunyi")
    before = Resident.objects.count()
    response = client.post(reverse("residents:new"),
                           _form(c.village_a, name="张三丰", id_number=people.zhang.id_number))
    assert response.status_code == 409
    body = _body(response)
    assert "该居民已有档案" in body and people.zhang.record_no in body
    assert reverse("residents:detail", args=[people.zhang.record_no]) in body
    assert 'name="confirm_distinct"' not in body  # the same ID is never a different person
    assert Resident.objects.count() == before
    # Registered in another township: no details, only where to turn.
    response = client.post(reverse("residents:new"), _form(c.village_a, name="赵六", birth_date="1990-07-08",
                                                           id_number=people.zhao_c.id_number))
    body = _body(response)
    assert response.status_code == 409 and "已在其他单位登记建档" in body
    assert people.zhao_c.record_no not in body and c.village_c.name not in body
    assert Resident.objects.count() == before


def test_a_strong_match_asks_for_confirmation_then_registers(people: Residents, client: Client) -> None:
    c = people.c
    twin = register(c.village_doctor, c.village_a, "周八", id_number="", born=dt.date(2001, 2, 3))
    login(client, "cunyi")
    data = _form(c.village_a, name="周八", birth_date="2001-02-03")
    response = client.post(reverse("residents:new"), data)
    body = _body(response)
    assert response.status_code == 409 and twin.record_no in body
    assert "确认不是同一人，仍然建档" in body and 'name="confirm_distinct"' in body
    assert Resident.objects.filter(name="周八").count() == 1
    response = client.post(reverse("residents:new"), {**data, "confirm_distinct": "on"})
    assert response.status_code == 302
    assert Resident.objects.filter(name="周八").count() == 2


def test_edit_changes_the_record(people: Residents, client: Client) -> None:
    login(client, "cunyi")
    url = reverse("residents:edit", args=[people.zhang.record_no])
    form = client.get(url).context["form"]
    data = {k: v for k, v in form.initial.items() if v not in (None, "")}
    data.update(birth_date="1980-05-17", phone="13811112222", past_history=["hypertension", "stroke"])
    response = client.post(url, data)
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    people.zhang.refresh_from_db()
    assert people.zhang.phone == "13811112222"
    # The diagnosis date of a condition already on the record is kept.
    assert people.zhang.past_history == [{"condition": "hypertension", "diagnosed": "2019-03-01"},
                                         {"condition": "stroke", "diagnosed": None}]


# ---------------------------------------------------------------- transfer


def test_a_transfer_moves_the_record_out_of_the_old_village_doctors_sight(people: Residents,
                                                                         client: Client) -> None:
    c = people.c
    login(client, "cunyi")
    url = reverse("residents:transfer", args=[people.zhang.record_no])
    page = _body(client.get(url))
    assert c.village_c.name in page and c.townships[1].name in page  # the whole county is offered
    response = client.post(url, {"to_village_code": c.village_c.code, "on": "2025-06-01", "reason": "婚迁"})
    assert response.status_code == 302 and response["Location"] == reverse("residents:list")
    assert client.get(reverse("residents:detail", args=[people.zhang.record_no])).status_code == 404
    assert people.zhang.record_no not in _body(client.get(reverse("residents:list")))
    login(client, "yuanzhang2")
    body = _body(client.get(reverse("residents:detail", args=[people.zhang.record_no])))
    assert c.village_c.name in body and "婚迁" in body and c.village_a.name in body
    assert c.clinics[c.village_c.code].name in body


def test_a_transfer_inside_the_scope_lands_on_the_record(people: Residents, client: Client) -> None:
    c = people.c
    login(client, "yuanzhang")
    url = reverse("residents:transfer", args=[people.zhang.record_no])
    response = client.post(url, {"to_village_code": c.village_b.code})
    assert response["Location"] == reverse("residents:detail", args=[people.zhang.record_no])
    response = client.post(url, {"to_village_code": ""})
    assert response.status_code == 422 and "to_village_code" in response.context["form"].errors


# ---------------------------------------------------------------- review queue, merge, unmerge


def test_merge_from_the_queue_then_unmerge(people: Residents, client: Client) -> None:
    c = people.c
    copy_ = register(c.village_doctor, c.village_a, "张叁", id_number="", phone="", confirm_distinct=True)
    pair = people.pair(people.zhang, copy_)
    login(client, "cunyi")
    queue = _body(client.get(reverse("residents:review")))
    assert f'id="pair-{pair.pk}"' in queue and 'class="differs"' in queue and "0.970" in queue
    response = client.post(reverse("residents:pair", args=[pair.pk]),
                           {"decision": "merge", "survivor": copy_.record_no})
    assert response.status_code == 302 and response["Location"] == reverse("residents:review")
    pair.refresh_from_db()
    people.zhang.refresh_from_db()
    assert pair.status == PairStatus.MERGED
    assert people.zhang.status == RecordStatus.MERGED and people.zhang.merged_into_id == copy_.pk
    assert f'id="pair-{pair.pk}"' not in _body(client.get(reverse("residents:review")))
    merged_page = _body(client.get(reverse("residents:detail", args=[people.zhang.record_no])))
    assert "已合并" in merged_page and copy_.record_no in merged_page and "撤销合并" in merged_page
    # Deciding twice is refused with a clear page.
    again = client.post(reverse("residents:pair", args=[pair.pk]), {"decision": "distinct"})
    assert again.status_code == 409
    merge = copy_.merges_absorbed.get()
    response = client.post(reverse("residents:unmerge", args=[merge.pk]))
    assert response["Location"] == reverse("residents:detail", args=[people.zhang.record_no])
    people.zhang.refresh_from_db()
    assert people.zhang.status == RecordStatus.ACTIVE
    assert client.post(reverse("residents:unmerge", args=[merge.pk])).status_code == 409


def test_not_the_same_person(people: Residents, client: Client) -> None:
    pair = people.pair(people.zhang, people.li)
    login(client, "cunyi")
    response = client.post(reverse("residents:pair", args=[pair.pk]), {"decision": "distinct"})
    assert response.status_code == 302
    pair.refresh_from_db()
    assert pair.status == PairStatus.DISTINCT
    assert Resident.objects.filter(status=RecordStatus.MERGED).count() == 0


def test_a_head_of_household_moves_with_the_whole_household(people: Residents, client: Client) -> None:
    c = people.c
    household = services.household_create(user=c.village_doctor, village_code=c.village_a.code)
    head = register(c.village_doctor, c.village_a, "钱一", born=dt.date(1970, 1, 1), household_code=household.code,
                    relation_to_head="head")
    child = register(c.village_doctor, c.village_a, "钱二", born=dt.date(2000, 2, 2), household_code=household.code,
                     relation_to_head="child")
    login(client, "yuanzhang")
    url = reverse("residents:transfer", args=[head.record_no])
    assert 'name="with_household"' in _body(client.get(url))
    assert 'name="with_household"' not in _body(client.get(reverse("residents:transfer", args=[child.record_no])))
    detail = _body(client.get(reverse("residents:detail", args=[head.record_no])))
    assert reverse("residents:detail", args=[child.record_no]) in detail  # household members link
    response = client.post(url, {"to_village_code": c.village_b.code, "with_household": "on"})
    assert response.status_code == 302
    child.refresh_from_db()
    assert child.village_id == c.village_b.pk and child.household_id == household.pk
