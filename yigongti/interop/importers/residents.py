"""``ygt import residents``: resident records (居民健康档案) from CSV/XLSX, at county scale.

Columns: record_no (optional), id_number, name, sex, birth_date, village_code, phone, address,
ethnicity (code ``01`` or name ``汉族``/``汉``), household_code, relation_to_head, insurance_no,
passport_no, hkmt_permit_no — Chinese headers too. A 15-digit ID is upgraded to 18 digits; sex
and birth date are taken from the ID when their cells are empty, and must agree with it otherwise.

Unlike the registry importers (one service call per row), this one works in batches so that a
million rows take minutes, not hours: one validation pass, existing records looked up by record
number and by ID 5,000 keys per query, new rows written by
:func:`yigongti.residents.bulk.residents_bulk_insert` (COPY on PostgreSQL). The contract is the
same: row-level errors, all-or-nothing in one transaction, dry run rolled back, idempotent — a
row whose record (by record_no, else by live ID) holds the same data is "unchanged"; with other
data it is "updated" field by field and audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from yigongti.core import audit
from yigongti.core.clock import today
from yigongti.core.errors import ImportRejected
from yigongti.core.ids import resident_id_birth_date, resident_id_problem, resident_id_sex
from yigongti.core.models import AuditAction
from yigongti.interop.tabular import Column, Row, read_table
from yigongti.registry.choices import DivisionLevel, Sex
from yigongti.registry.models import Division
from yigongti.residents.bulk import RESIDENT, residents_bulk_insert
from yigongti.residents.choices import ETHNICITIES, RecordStatus, Relation
from yigongti.residents.identity import id_upgrade, name_clean, name_pinyin
from yigongti.residents.models import Household, Resident

from .base import Importer, ImportResult, Parsed, Progress
from .fields import choice_parser, parse_date
from .staff import SEX_SYNONYMS

LOOKUP_BATCH = 5000
# Columns compared for "unchanged" and written on "updated" (when the file has the column).
PLAIN = ("name", "sex", "birth_date", "id_number", "phone", "address", "ethnicity", "relation_to_head",
         "insurance_no", "passport_no", "hkmt_permit_no")
_ETHNICITY = {**{code: code for code, _name in ETHNICITIES}, **{name: code for code, name in ETHNICITIES},
              **{name.removesuffix("族"): code for code, name in ETHNICITIES if len(name) > 2}}
_RELATION_SYNONYMS = {"本人": Relation.HEAD, "妻": Relation.SPOUSE, "夫": Relation.SPOUSE, "妻子": Relation.SPOUSE,
                      "丈夫": Relation.SPOUSE, "子": Relation.CHILD, "女": Relation.CHILD, "儿子": Relation.CHILD,
                      "女儿": Relation.CHILD, "儿媳": Relation.CHILD_IN_LAW, "女婿": Relation.CHILD_IN_LAW,
                      "孙子": Relation.GRANDCHILD, "孙女": Relation.GRANDCHILD, "父亲": Relation.PARENT,
                      "母亲": Relation.PARENT}


@dataclass
class ResidentItem(Parsed):
    values: dict[str, Any] = field(default_factory=dict)  # resident fields present in the file
    record_no: str = ""
    village_code: str = ""
    household_code: str | None = None


class ResidentImporter(Importer[ResidentItem]):
    kind = "residents"
    columns = (
        Column("record_no", ("档案编号", "档案号", "健康档案编号")),
        Column("id_number", ("身份证号", "身份证号码", "公民身份号码", "证件号码", "身份证")),
        Column("name", ("姓名", "名字"), required=True),
        Column("sex", ("性别", "gender")),
        Column("birth_date", ("出生日期", "出生年月日", "生日", "dob")),
        Column("village_code", ("村代码", "所在村代码", "村居代码", "区划代码", "行政区划代码"), required=True),
        Column("phone", ("电话", "手机", "手机号", "联系电话", "本人电话")),
        Column("address", ("现住址", "住址", "地址", "家庭住址")),
        Column("ethnicity", ("民族",)),
        Column("household_code", ("户编号", "家庭编号", "户号")),
        Column("relation_to_head", ("与户主关系", "户主关系", "relation")),
        Column("insurance_no", ("医保号", "医保卡号", "医疗保险号", "参保号")),
        Column("passport_no", ("护照号", "护照号码", "passport")),
        Column("hkmt_permit_no", ("港澳台通行证号", "通行证号", "港澳台居民来往内地通行证号")),
    )
    key_column = "id_number"
    models = (("resident", Resident._meta.verbose_name), ("household", Household._meta.verbose_name))

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.parse_sex = choice_parser(Sex, str(Resident._meta.get_field("sex").verbose_name), SEX_SYNONYMS)
        self.parse_relation = choice_parser(Relation, str(Resident._meta.get_field("relation_to_head").verbose_name),
                                            _RELATION_SYNONYMS)
        self.villages: set[str] = set()
        self.today = today()
        self._record_nos: dict[str, int] = {}

    # ------------------------------------------------------------ parsing (one pass, no queries)

    def key_of(self, row: Row) -> str:
        return id_upgrade(row.get("id_number"))

    def parse(self, row: Row) -> ResidentItem | None:
        n = row.number
        before = len(self.errors)
        id_number = id_upgrade(row.get("id_number"))
        if id_number:
            problem = (resident_id_problem(id_number) if id_number.isascii()
                       else _("身份证号只能包含数字，最后一位可为 X"))
            if problem:
                self.error(n, "id_number", problem)
                id_number = ""
        name = name_clean(row.get("name"))
        if not name:
            self.error(n, "name", _("不能为空"))
        sex = self.value(row, "sex", self._sex)
        birth_date = self.value(row, "birth_date", parse_date)
        if id_number:
            id_sex, id_born = resident_id_sex(id_number), resident_id_birth_date(id_number)
            if sex and sex != id_sex:
                self.error(n, "sex", _("性别“%(sex)s”与身份证号第 17 位（%(id_sex)s）不符") % {
                    "sex": row.get("sex"), "id_sex": Sex(id_sex).label})
            if birth_date and birth_date != id_born:
                self.error(n, "birth_date", _("出生日期 %(date)s 与身份证号中的出生日期 %(id_date)s 不符") % {
                    "date": birth_date.isoformat(), "id_date": id_born.isoformat()})
            sex, birth_date = sex or id_sex, birth_date or id_born
        elif not row.get("id_number"):
            if not row.get("sex"):
                self.error(n, "sex", _("没有身份证号时，性别不能为空"))
            if not row.get("birth_date"):
                self.error(n, "birth_date", _("没有身份证号时，出生日期不能为空"))
        if birth_date and birth_date > self.today:
            self.error(n, "birth_date", _("出生日期 %(date)s 晚于今天") % {"date": birth_date.isoformat()})
        village_code = row.get("village_code")
        if village_code and village_code not in self.villages:
            self.error(n, "village_code", _("村代码“%(code)s”不存在") % {"code": village_code})
        elif not village_code:
            self.error(n, "village_code", _("不能为空"))
        record_no = row.get("record_no")
        if record_no:
            first = self._record_nos.setdefault(record_no, n)
            if first != n:
                self.error(n, "record_no", _("“%(key)s”与第 %(row)s 行重复") % {"key": record_no, "row": first})
        values: dict[str, Any] = {"name": name, "sex": sex, "birth_date": birth_date, "id_number": id_number}
        for column in ("phone", "address", "insurance_no", "passport_no", "hkmt_permit_no"):
            if self.table.has(column):
                values[column] = row.get(column)
        if self.table.has("ethnicity"):
            text = row.get("ethnicity")
            code = _ETHNICITY.get(text.zfill(2) if text.isdigit() else text) if text else "01"
            if code is None:
                self.error(n, "ethnicity", _("民族“%(value)s”无效（填写代码如 01 或名称如 汉族）") % {"value": text})
            values["ethnicity"] = code
        if self.table.has("relation_to_head"):
            values["relation_to_head"] = self.value(row, "relation_to_head", self.parse_relation) or ""
        household = row.get("household_code") if self.table.has("household_code") else None
        if len(self.errors) > before:
            return None
        return ResidentItem(row=n, key=id_number, values=values, record_no=record_no, village_code=village_code,
                            household_code=household)

    def _sex(self, text: str) -> str:
        return {"男": "M", "女": "F", "M": "M", "F": "F"}.get(text) or self.parse_sex(text)

    def write(self, item: ResidentItem) -> None:  # pragma: no cover - the batch run below replaces it
        raise NotImplementedError

    # ------------------------------------------------------------ the run, in batches

    def run(self, source: str | Path, *, data: bytes | None = None, dry_run: bool = False,
            progress: Progress | None = None) -> ImportResult:
        self.table = table = read_table(source, self.columns, data=data)
        self.errors = list(table.problems)
        self.villages = set(Division.objects.filter(level=DivisionLevel.VILLAGE).values_list("code", flat=True))
        items, _failed = self._parse_all(table)
        n_rows = len(table.rows)
        table.rows.clear()  # a million rows: keep only the parsed items in memory
        with transaction.atomic():
            self._write_all(items, progress)
            result = ImportResult(kind=self.kind, file=table.name, rows=n_rows, dry_run=dry_run,
                                  counts=self.counts, labels={k: str(label) for k, label in self.models},
                                  ignored_columns=table.ignored)
            if not self.errors and not dry_run:
                audit.record(user=self.user, action=AuditAction.IMPORT, object_type=f"interop.{self.kind}",
                             object_id=table.name, request=self.request,
                             detail={"kind": self.kind, "file": table.name, "rows": n_rows,
                                     "counts": self.counts})
            if self.errors or dry_run:
                transaction.set_rollback(True)
        if self.errors:
            raise ImportRejected(sorted(self.errors, key=lambda e: (e.row, e.column)))
        return result

    def _existing(self, items: list[ResidentItem]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """Records the file names: by record_no, and live ones by ID — 5,000 keys per query. A row
        with neither (a child without ID, a file that never had record numbers) is looked up by
        village, name, sex and birth date among the live records without ID, so a re-run does not
        register the child again; those are keyed ``"~village|name|sex|date"`` in the second dict."""
        wanted = ["id", "record_no", *PLAIN, "village__code", "household__code", "status"]
        by_record: dict[str, dict[str, Any]] = {}
        by_id: dict[str, dict[str, Any]] = {}
        record_nos = [i.record_no for i in items if i.record_no]
        for start in range(0, len(record_nos), LOOKUP_BATCH):
            for r in Resident.objects.filter(record_no__in=record_nos[start:start + LOOKUP_BATCH]).values(*wanted):
                by_record[r["record_no"]] = r
        ids = [i.key for i in items if i.key]
        for start in range(0, len(ids), LOOKUP_BATCH):
            for r in (Resident.objects.filter(id_number__in=ids[start:start + LOOKUP_BATCH])
                      .exclude(status=RecordStatus.MERGED).values(*wanted)):
                by_id[r["id_number"]] = r
        anonymous = [i for i in items if not i.key and not i.record_no]
        names = sorted({i.values["name"] for i in anonymous})
        villages = sorted({i.village_code for i in anonymous})
        for start in range(0, len(names), LOOKUP_BATCH):
            for r in (Resident.objects.filter(id_number="", name__in=names[start:start + LOOKUP_BATCH],
                                              village__code__in=villages)
                      .exclude(status=RecordStatus.MERGED).values(*wanted)):
                by_id.setdefault(_identity_key(r["village__code"], r["name"], r["sex"], r["birth_date"]), r)
        return by_record, by_id

    def _write_all(self, items: list[ResidentItem], progress: Progress | None) -> None:
        by_record, by_id = self._existing(items)
        new_rows: list[dict[str, Any]] = []
        household_codes = {i.household_code for i in items if i.household_code}
        known_households = set(Household.objects.filter(code__in=household_codes).values_list("code", flat=True)) \
            if household_codes else set()
        updates: list[tuple[ResidentItem, dict[str, Any]]] = []
        for item in items:
            values = item.values
            existing = by_record.get(item.record_no) if item.record_no else None
            holder = by_id.get(item.key) if item.key else None
            if not item.key and not item.record_no:
                existing = by_id.get(_identity_key(item.village_code, values["name"], values["sex"],
                                                   values["birth_date"]))
            if holder is not None and (
                    holder["id"] != existing["id"] if existing is not None
                    else holder["name"] != values["name"] or holder["birth_date"] != values["birth_date"]):
                self.error(item.row, "id_number", _("身份证号已属于档案 %(record_no)s（%(name)s，%(born)s）") % {
                    "record_no": holder["record_no"], "name": holder["name"],
                    "born": holder["birth_date"].isoformat()})
                continue
            existing = existing or holder
            if existing is None:
                values.update(village_code=item.village_code, record_no=item.record_no,
                              household_code=item.household_code or "")
                new_rows.append(values)
            elif self._checked(item, existing):
                updates.append((item, existing))
        if self.errors:
            return  # parse errors or conflicts: nothing is written, every error is reported
        for done, (item, existing) in enumerate(updates, start=1):
            self._update(item, existing)
            if progress is not None and done % 1000 == 0:
                progress(done, len(items))
        new_households = {r["household_code"] for r in new_rows if r.get("household_code")} - known_households
        self.counts["household"]["created"] += len(new_households)
        self.counts["resident"]["created"] += residents_bulk_insert(new_rows, created_by=self.user,
                                                                    audit_detail={"import": self.table.name})
        if progress is not None:
            progress(len(items), len(items))

    def _checked(self, item: ResidentItem, existing: dict[str, Any]) -> bool:
        """Whether the row may update ``existing``: same village (a move is a transfer, 档案迁移),
        and no change to a merged record."""
        if existing["village__code"] != item.village_code:
            self.error(item.row, "village_code", _("档案 %(record_no)s 属于村 %(code)s；迁移档案请使用档案迁移") % {
                "record_no": existing["record_no"], "code": existing["village__code"]})
            return False
        if existing["status"] == RecordStatus.MERGED and self._changes(item, existing)[0]:
            self.error(item.row, "record_no", _("已合并的档案不能修改，请修改存活档案"))
            return False
        return True

    @staticmethod
    def _changes(item: ResidentItem, existing: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        changed = {k: v for k, v in item.values.items() if k in PLAIN and existing[k] != v}
        household_changed = item.household_code is not None and (existing["household__code"] or "") != \
            item.household_code
        return changed, household_changed or bool(changed)

    def _update(self, item: ResidentItem, existing: dict[str, Any]) -> None:
        """Same data: unchanged. Other data: the changed fields written and audited."""
        changed, any_change = self._changes(item, existing)
        household_changed = item.household_code is not None and (
            existing["household__code"] or "") != item.household_code
        if not any_change:
            self.count("resident", "unchanged")
            return
        resident = Resident.objects.select_for_update().get(pk=existing["id"])
        for key, value in changed.items():
            setattr(resident, key, value)
        if "name" in changed:
            resident.name_pinyin = name_pinyin(resident.name)
        fields = sorted(changed)
        if household_changed:
            resident.household = self._household(item, resident) if item.household_code else None
            fields.append("household")
        resident.save()
        audit.record(user=self.user, action=AuditAction.UPDATE, object_type=RESIDENT, object_id=resident.pk,
                     path=resident.path, request=self.request,
                     detail={"record_no": resident.record_no, "fields": fields, "import": self.table.name})
        self.count("resident", "updated")

    def _household(self, item: ResidentItem, resident: Resident) -> Household:
        household, created = Household.objects.get_or_create(
            code=item.household_code, defaults={"village_id": resident.village_id, "address": resident.address,
                                                "path": resident.path})
        if created:
            self.count("household", "created")
        if resident.relation_to_head == Relation.HEAD and household.head_id is None:
            household.head = resident
            household.save(update_fields=["head"])
        return household


def _identity_key(village_code: str, name: str, sex: str, born: Any) -> str:
    return f"~{village_code}|{name}|{sex}|{born}"
