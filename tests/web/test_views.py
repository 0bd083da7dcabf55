"""The web UI through Django's test client, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories.accounts import PASSWORD
from tests.web.conftest import StaffedCounty, login
from yigongti.core.models import AuditAction, AuditEntry, AuditOutcome
from yigongti.registry.models import Institution

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- login


def _post_login(client: Client, username: str, password: str) -> str:
    response = client.post(reverse("login"), {"username": username, "password": password})
    assert response.status_code == 200  # the form again, with its error
    return response.content.decode()


def test_login_with_the_right_password_goes_home(staffed: StaffedCounty, client: Client) -> None:
    response = client.post(reverse("login"), {"username": "yuanzhang", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200


def test_wrong_password_says_so(staffed: StaffedCounty, client: Client) -> None:
    page = _post_login(client, "yuanzhang", "wrong-password")
    assert "用户名或密码错误。" in page
    assert "已锁定" not in page


def test_fifth_failure_locks_and_the_page_says_for_how_long(staffed: StaffedCounty, client: Client) -> None:
    for _attempt in range(4):
        assert "用户名或密码错误。" in _post_login(client, "yuanzhang", "wrong-password")
    page = _post_login(client, "yuanzhang", "wrong-password")
    assert "账户已锁定，请 15 分钟后再试" in page
    # Locked: even the right password is refused, with the minutes left.
    page = _post_login(client, "yuanzhang", PASSWORD)
    assert "账户已锁定，请 15 分钟后再试" in page
    assert "_auth_user_id" not in client.session


def test_login_failure_message_in_english(staffed: StaffedCounty, client: Client) -> None:
    client.cookies["django_language"] = "en"
    page = _post_login(client, "yuanzhang", "wrong-password")
    assert "Wrong user name or password." in page
    assert '<html lang="en">' in page


@pytest.mark.parametrize("name,args", [
    ("home", []), ("registry:tree", []), ("registry:standards", []),
    ("registry:institution_detail", ["H0001"]), ("registry:division", ["522399"]),
])
def test_pages_require_login(staffed: StaffedCounty, client: Client, name: str, args: list[str]) -> None:
    url = reverse(name, args=args)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_logout_is_a_post(staffed: StaffedCounty, client: Client) -> None:
    login(client, "cunyi")
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert client.get(reverse("home")).status_code == 302


# ---------------------------------------------------------------- home per role


def test_village_doctor_home_shows_their_clinic(staffed: StaffedCounty, client: Client) -> None:
    page = login(client, "cunyi").get(reverse("home")).content.decode()
    assert "村卫生室工作台" in page
    assert staffed.clinic_a.name in page
    assert reverse("registry:institution_detail", args=[staffed.clinic_a.code]) in page
    assert '<b>2</b><span>在岗人员</span>' in page
    assert "全部达标" in page  # clinic A has its rooms and a 乡村医生
    assert staffed.clinic_b.name not in page


def test_township_director_home_lists_the_township(staffed: StaffedCounty, client: Client) -> None:
    page = login(client, "yuanzhang").get(reverse("home")).content.decode()
    c = staffed.c
    assert "镇1 · 乡镇概况" in page
    for inst in (c.centres[0], staffed.clinic_a, staffed.clinic_b):
        assert inst.name in page
    assert staffed.clinic_c.name not in page and c.centres[1].name not in page
    assert "<b>4</b><span>在岗人员</span>" in page  # 2 + 1 + the centre's 全科医师
    # Clinic B lacks the four rooms and a qualified village doctor; clinic A is fine.
    assert "村卫生室四室分设" in page and "村卫生室至少有 1 名合格乡村医生" in page
    assert page.count(f">{staffed.clinic_b.name}</a>") >= 2  # in the table and the findings


def test_county_home_shows_the_overview(staffed: StaffedCounty, client: Client) -> None:
    page = login(client, "weijian").get(reverse("home")).content.decode()
    assert "云溪县 · 县域概况" in page
    for label in ("县人民医院", "乡镇卫生院", "村卫生室", "乡村医生", "全科医师", "执业医师"):
        assert label in page, label
    assert "<b>7</b><span>机构</span>" in page  # hospital + 2 centres + 4 clinics
    assert "<b>7</b><span>在岗人员</span>" in page
    assert reverse("registry:standards") + "?category=qualify" in page
    assert reverse("registry:standards") + "?category=staff" in page


def test_superuser_without_role_gets_the_county_overview(staffed: StaffedCounty, client: Client,
                                                         django_user_model: type) -> None:
    django_user_model.objects.create_superuser("root", password=PASSWORD)
    page = login(client, "root").get(reverse("home")).content.decode()
    assert "云溪县 · 县域概况" in page
    assert "管理后台" in page


def test_user_without_a_view_unit_is_told(staffed: StaffedCounty, client: Client) -> None:
    staffed.c.village_doctor.view_unit = None
    staffed.c.village_doctor.save()
    page = login(client, "cunyi").get(reverse("home")).content.decode()
    assert "尚未分配数据查看范围" in page


def test_pages_say_so_when_no_standards_rule_is_loaded(county: object, client: Client) -> None:
    login(client, "weijian")
    notice = "尚未加载达标规则"
    assert notice in client.get(reverse("home")).content.decode()
    assert notice in client.get(reverse("registry:standards")).content.decode()
    response = client.get(reverse("registry:standards") + "?format=csv")
    assert response.status_code == 409 and notice in response.content.decode()


# ---------------------------------------------------------------- scope: 404, never shown


def test_village_doctor_cannot_reach_another_village(staffed: StaffedCounty, client: Client) -> None:
    login(client, "cunyi")
    other = staffed.clinic_b
    response = client.get(reverse("registry:institution_detail", args=[other.code]))
    assert response.status_code == 404
    page = response.content.decode()
    assert "未找到。" in page and other.name not in page and "Traceback" not in page
    assert client.get(reverse("registry:division", args=[staffed.c.village_b.code])).status_code == 404
    assert client.get(reverse("registry:division", args=[staffed.c.village_b.code]),
                      headers={"HX-Request": "true"}).status_code == 404
    tree = client.get(reverse("registry:tree")).content.decode()
    assert staffed.clinic_a.name in tree and other.name not in tree and staffed.c.village_b.name not in tree
    standards = client.get(reverse("registry:standards")).content.decode()
    assert other.name not in standards and other.code not in standards
    csv_text = client.get(reverse("registry:standards") + "?format=csv").content.decode("utf-8-sig")
    assert other.name not in csv_text
    missed = AuditEntry.objects.get(outcome=AuditOutcome.NOT_FOUND)
    assert (missed.username, missed.object_id) == ("cunyi", other.code)


def test_absent_institution_is_the_same_404(staffed: StaffedCounty, client: Client) -> None:
    login(client, "cunyi")
    response = client.get(reverse("registry:institution_detail", args=["NOPE"]))
    assert response.status_code == 404 and "未找到。" in response.content.decode()


# ---------------------------------------------------------------- tree and detail


def test_tree_opens_at_the_view_unit_and_expands_by_htmx(staffed: StaffedCounty, client: Client) -> None:
    login(client, "yuanzhang")
    c = staffed.c
    tree = client.get(reverse("registry:tree")).content.decode()
    assert c.townships[0].name in tree and c.centres[0].name in tree
    assert c.village_a.name in tree and c.village_b.name in tree
    assert c.townships[1].name not in tree and c.village_c.name not in tree and c.county.name not in tree
    assert "机构 1 · 下级区划 0" in tree  # each village row: its clinic, no children
    assert "机构 3 · 下级区划 2" in tree  # the township: centre + 2 clinics
    url = reverse("registry:division", args=[c.village_a.code])
    assert f'hx-get="{url}"' in tree and f'href="{url}"' in tree  # htmx, and a plain link without JS
    partial = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert staffed.clinic_a.name in partial and "<html" not in partial
    full = client.get(url).content.decode()
    assert staffed.clinic_a.name in full and "<html" in full and c.townships[0].name in full  # crumbs


def test_county_tree_counts_the_subtree(staffed: StaffedCounty, client: Client) -> None:
    tree = login(client, "weijian").get(reverse("registry:tree")).content.decode()
    assert "机构 7 · 下级区划 2" in tree
    assert tree.count("机构 3 · 下级区划 2") == 2  # each township row


def test_institution_detail_shows_everything_and_audits_each_staff_read(
        staffed: StaffedCounty, client: Client) -> None:
    login(client, "yuanzhang")
    before = AuditEntry.objects.filter(action=AuditAction.READ).count()
    page = client.get(reverse("registry:institution_detail", args=[staffed.clinic_a.code])).content.decode()
    for text in ("村卫生室", "村级", "未定级", staffed.c.village_a.name, staffed.c.centres[0].name,
                 "诊室", "治疗室", "公共卫生室", "药房", "李村医", "王护理", "乡村医生", "无执业资格", "全部达标"):
        assert text in page, text
    reads = AuditEntry.objects.filter(action=AuditAction.READ, outcome=AuditOutcome.OK)
    assert reads.count() == before + 2
    assert set(reads.values_list("object_id", flat=True)) == {str(staffed.doctor_a.pk), str(staffed.helper_a.pk)}
    assert set(reads.values_list("username", "object_type", "channel")) == {
        ("yuanzhang", "registry.staffmember", "web")}


def test_institution_detail_lists_its_findings(staffed: StaffedCounty, client: Client) -> None:
    login(client, "yuanzhang")
    page = client.get(reverse("registry:institution_detail", args=[staffed.clinic_b.code])).content.decode()
    assert "缺少：诊室、治疗室、公共卫生室、药房" in page
    assert "没有持有效" in page
    assert "无执业资格" in page


# ---------------------------------------------------------------- standards page and CSV


def test_standards_page_groups_and_filters(staffed: StaffedCounty, client: Client) -> None:
    login(client, "weijian")
    page = client.get(reverse("registry:standards")).content.decode()
    assert "三合格" in page and "三达标" in page
    assert staffed.clinic_b.name in page and staffed.clinic_c.name in page
    assert "乡镇卫生院具备 DR、B超和检验室" in page  # the centres have no equipment registered
    only = client.get(reverse("registry:standards") + "?category=staff").content.decode()
    assert "村卫生室至少有 1 名合格乡村医生" in only
    assert "村卫生室四室分设" not in only


def test_standards_csv_has_a_bom_and_the_columns(staffed: StaffedCounty, client: Client) -> None:
    login(client, "yuanzhang")
    response = client.get(reverse("registry:standards") + "?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["类别", "规则", "标准", "区划代码", "区划", "机构代码", "机构", "原因"]
    body = rows[1:]
    assert {row[6] for row in body if row[6]} == {staffed.clinic_b.name, staffed.c.centres[0].name}
    assert ["三合格", "HG-VILLAGE-FOUR-ROOMS"] == body[[r[1] for r in body].index("HG-VILLAGE-FOUR-ROOMS")][:2]
    staff_only = client.get(reverse("registry:standards") + "?format=csv&category=staff")
    rules = {row[1] for row in list(csv.reader(io.StringIO(staff_only.content.decode("utf-8-sig"))))[1:]}
    assert rules == {"DB-VILLAGE-DOCTOR"}


def test_standards_csv_in_english(staffed: StaffedCounty, client: Client) -> None:
    login(client, "yuanzhang")
    client.cookies["django_language"] = "en"
    response = client.get(reverse("registry:standards") + "?format=csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Category", "Rule", "Standard", "Division code", "Division", "Institution code",
                       "Institution", "Reason"]
    assert any(row[2] == "Village clinic has at least one qualified village doctor" for row in rows[1:])


def test_standards_csv_cells_never_start_a_formula(staffed: StaffedCounty, client: Client) -> None:
    Institution.objects.filter(pk=staffed.clinic_b.pk).update(name='=HYPERLINK("http://x","卫生室")')
    login(client, "yuanzhang")
    text = client.get(reverse("registry:standards") + "?format=csv").content.decode("utf-8-sig")
    names = {row[6] for row in list(csv.reader(io.StringIO(text)))[1:]}
    assert "'=HYPERLINK(\"http://x\",\"卫生室\")" in names
    assert not any(name.startswith("=") for name in names)
