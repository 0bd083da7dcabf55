"""Forms of the residents pages: search, registration / edit (the national form), transfer, review.

The forms check what a clerk can get wrong on the page (an ID that fails its checksum, a birth date
the ID contradicts) so that the error appears under the field; the services check everything again
and are the authority. The village lists are built here from the registry (divisions are not
person-level data): the villages of the caller's data-entry scope for registration, the villages of
the county (grouped by township) for a transfer, which may leave the caller's scope.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from yigongti.core.clock import today
from yigongti.core.ids import resident_id_birth_date, resident_id_problem, resident_id_sex
from yigongti.core.scope import Mode, visible
from yigongti.core.tree import subtree_q
from yigongti.registry.choices import DivisionLevel, Sex
from yigongti.registry.models import Division
from yigongti.registry.selectors import current

from .choices import (
    ETHNICITIES,
    Allergy,
    BloodType,
    Condition,
    Disability,
    Fuel,
    Kitchen,
    LivestockPen,
    RecordStatus,
    Relation,
    Toilet,
    Water,
)
from .identity import id_upgrade

BLANK: list[tuple[str, Any]] = [("", "—")]
# 家族史: the relatives of the national form, each with its list of conditions.
FAMILY_MEMBERS: list[tuple[str, Any]] = [
    ("father", _("父亲")), ("mother", _("母亲")), ("siblings", _("兄弟姐妹")), ("children", _("子女")),
]
LIVING_FIELDS = ("kitchen", "fuel", "water", "toilet", "livestock_pen")


Choices = list[tuple[str, Any]]


def _grouped_villages(villages: list[Division]) -> Choices:
    """``[(township name, [(village code, village name), …]), …]`` for a grouped ``<select>``."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for village in villages:
        label = village.parent.name if village.parent is not None else ""
        groups.setdefault(label, []).append((village.code, f"{village.name}（{village.code}）"))
    return list(groups.items())


def village_choices(user: Any, mode: Mode = "entry") -> Choices:
    """The current villages inside the caller's ``mode`` scope, grouped by township."""
    villages = visible(user, current(Division.objects.filter(level=DivisionLevel.VILLAGE)), mode=mode)
    return _grouped_villages(list(villages.select_related("parent").order_by("path")))


def county_village_choices(path: str) -> Choices:
    """Every current village of the county that ``path`` lies in, grouped by township (for a transfer)."""
    codes = path.split("/")
    county = Division.objects.filter(code__in=codes, level=DivisionLevel.COUNTY).first()
    root = county.path if county is not None else codes[0]
    villages = current(Division.objects.filter(subtree_q(root), level=DivisionLevel.VILLAGE))
    return _grouped_villages(list(villages.select_related("parent").order_by("path")))


class SearchForm(forms.Form):
    """The search box and filters of the residents list; every field optional."""

    q = forms.CharField(label=_("查找"), required=False, max_length=100, widget=forms.TextInput(attrs={
        "placeholder": _("身份证号、档案编号、姓名、拼音，或 姓名 出生日期"), "type": "search"}))
    village = forms.ChoiceField(label=_("村/社区"), required=False)
    status = forms.ChoiceField(label=_("档案状态"), required=False,
                               choices=[("", _("全部状态")), *RecordStatus.choices])

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        village = cast(forms.ChoiceField, self.fields["village"])
        village.choices = [("", _("全部村/社区")), *village_choices(user, "view")]


def _checkboxes(choices: Any, label: Any) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(label=label, required=False, choices=choices,
                                     widget=forms.CheckboxSelectMultiple)


def _select(choices: Any, label: Any, *, blank: bool = True) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, required=False, choices=[*BLANK, *choices] if blank else choices)


class ResidentForm(forms.Form):
    """个人基本信息表 — identity and the basic record items of the national form.

    ``cleaned_items()`` gives the keyword arguments of ``resident_register`` / ``resident_update``
    (model field names; the lists and dicts the model's JSON fields hold).
    """

    # identity
    name = forms.CharField(label=_("姓名"), max_length=50)
    sex = forms.ChoiceField(label=_("性别"), choices=Sex.choices, widget=forms.RadioSelect)
    birth_date = forms.DateField(label=_("出生日期"), widget=forms.DateInput(attrs={"type": "date"}))
    id_number = forms.CharField(label=_("身份证号"), max_length=18, required=False,
                                help_text=_("18 位；15 位旧号自动升位。新生儿等尚无身份证号的可留空。"))
    passport_no = forms.CharField(label=_("护照号"), max_length=32, required=False)
    hkmt_permit_no = forms.CharField(label=_("港澳台通行证号"), max_length=32, required=False)
    insurance_no = forms.CharField(label=_("医保号"), max_length=32, required=False)
    ethnicity = forms.ChoiceField(label=_("民族"), choices=ETHNICITIES, initial="01")
    phone = forms.CharField(label=_("联系电话"), max_length=32, required=False)
    address = forms.CharField(label=_("现住址"), max_length=255, required=False)
    village_code = forms.ChoiceField(label=_("所在村"))
    household_code = forms.CharField(label=_("户编号"), max_length=32, required=False,
                                     help_text=_("加入本村已有家庭时填写，并选择与户主关系。"))
    new_household = forms.BooleanField(label=_("新建家庭，本人为户主"), required=False)
    relation_to_head = _select(Relation.choices, _("与户主关系"))
    # basic record items
    blood_type = forms.ChoiceField(label=_("血型"), choices=BloodType.choices, initial=BloodType.UNKNOWN)
    allergies = _checkboxes(Allergy.choices, _("药物过敏史"))
    allergy_other = forms.CharField(label=_("其他过敏"), max_length=100, required=False)
    exposures = forms.CharField(label=_("暴露史"), max_length=100, required=False)
    past_history = _checkboxes(Condition.choices, _("既往史"))
    genetic_disease = forms.CharField(label=_("遗传病史"), max_length=100, required=False)
    disabilities = _checkboxes(Disability.choices, _("残疾情况"))
    family_father = _checkboxes(Condition.choices, _("父亲"))
    family_mother = _checkboxes(Condition.choices, _("母亲"))
    family_siblings = _checkboxes(Condition.choices, _("兄弟姐妹"))
    family_children = _checkboxes(Condition.choices, _("子女"))
    kitchen = _select(Kitchen.choices, _("厨房排风设施"))
    fuel = _select(Fuel.choices, _("燃料类型"))
    water = _select(Water.choices, _("饮水"))
    toilet = _select(Toilet.choices, _("厕所"))
    livestock_pen = _select(LivestockPen.choices, _("禽畜栏"))
    confirm_distinct = forms.BooleanField(label=_("确认不是同一人，仍然建档"), required=False)

    status = forms.ChoiceField(label=_("档案状态"), choices=[
        (s.value, s.label) for s in (RecordStatus.ACTIVE, RecordStatus.MOVED_OUT, RecordStatus.DECEASED)])

    IDENTITY = ("name", "sex", "birth_date", "id_number", "passport_no", "hkmt_permit_no", "insurance_no",
                "ethnicity", "phone", "address", "village_code", "household_code", "new_household",
                "relation_to_head", "status")
    HISTORY = ("blood_type", "allergies", "allergy_other", "exposures", "past_history", "genetic_disease",
               "disabilities")
    FAMILY = ("family_father", "family_mother", "family_siblings", "family_children")

    def __init__(self, *args: Any, user: Any, resident: Any = None, **kwargs: Any) -> None:
        if resident is not None:
            kwargs.setdefault("initial", self.initial_from(resident))
        super().__init__(*args, **kwargs)
        self.resident = resident
        self.editing = resident is not None
        if self.editing:
            # A move to another village is a transfer, with its own page and history.
            for name in ("village_code", "new_household", "confirm_distinct"):
                del self.fields[name]
            self.fields["id_number"].help_text = ""
        else:
            del self.fields["status"]
            cast(forms.ChoiceField, self.fields["village_code"]).choices = [*BLANK, *village_choices(user, "entry")]

    @classmethod
    def initial_from(cls, resident: Any) -> dict[str, Any]:
        """The form's initial data from an existing record (for the edit page)."""
        names = [n for n in (*cls.IDENTITY, *cls.HISTORY, *LIVING_FIELDS)
                 if n not in ("village_code", "household_code", "new_household", "past_history")]
        initial = {name: getattr(resident, name) for name in names}
        initial["household_code"] = resident.household.code if resident.household else ""
        initial["past_history"] = [row.get("condition") for row in resident.past_history or []
                                   if isinstance(row, dict)]
        for key, _label in FAMILY_MEMBERS:
            initial[f"family_{key}"] = list((resident.family_history or {}).get(key, []))
        return initial

    def clean_name(self) -> str:
        return " ".join(self.cleaned_data["name"].split())

    def clean_id_number(self) -> str:
        value = id_upgrade(self.cleaned_data.get("id_number", ""))
        if value:
            problem = resident_id_problem(value)
            if problem:
                raise forms.ValidationError(problem)
        return value

    def clean_birth_date(self) -> dt.date:
        born: dt.date = self.cleaned_data["birth_date"]
        if born > today():
            raise forms.ValidationError(_("出生日期不能晚于今天"))
        return born

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        id_number = data.get("id_number")
        if id_number:
            if data.get("birth_date") and resident_id_birth_date(id_number) != data["birth_date"]:
                self.add_error("birth_date", _("与身份证号中的出生日期（%(date)s）不一致") % {
                    "date": resident_id_birth_date(id_number).isoformat()})
            if data.get("sex") and resident_id_sex(id_number) != data["sex"]:
                self.add_error("sex", _("与身份证号中的性别不一致"))
        if data.get("new_household"):
            if data.get("household_code"):
                self.add_error("household_code", _("新建家庭时不填户编号"))
            if data.get("relation_to_head") not in ("", Relation.HEAD):
                self.add_error("relation_to_head", _("新建家庭时本人为户主"))
        return data

    def cleaned_items(self) -> dict[str, Any]:
        """Keyword arguments for the services: model field names and the JSON shapes of the model."""
        data = self.cleaned_data
        items = {name: data[name] for name in (*self.IDENTITY, *self.HISTORY, *LIVING_FIELDS)
                 if name in data and name != "new_household"}
        # Keep the diagnosis dates of conditions already on the record (the form edits only the list).
        known = {row.get("condition"): row for row in getattr(self.resident, "past_history", None) or []
                 if isinstance(row, dict)}
        items["past_history"] = [known.get(code) or {"condition": code, "diagnosed": None}
                                 for code in data.get("past_history", [])]
        items["family_history"] = {key: data[f"family_{key}"] for key, _label in FAMILY_MEMBERS
                                   if data.get(f"family_{key}")}
        if self.editing:
            items["household_code"] = data.get("household_code") or ""
        else:
            items["household_code"] = data.get("household_code") or None
            items["confirm_distinct"] = bool(data.get("confirm_distinct"))
        return items

    @property
    def wants_new_household(self) -> bool:
        return bool(getattr(self, "cleaned_data", {}).get("new_household"))

    def sections(self) -> list[tuple[Any, list[forms.BoundField]]]:
        """The fields in the order and sections of the national form, for the template."""
        def bound(names: tuple[str, ...]) -> list[forms.BoundField]:
            return [self[name] for name in names if name in self.fields]
        return [
            (_("身份信息"), bound(self.IDENTITY)),
            (_("健康史"), bound(self.HISTORY)),
            (_("家族史"), bound(self.FAMILY)),
            (_("生活环境"), bound(LIVING_FIELDS)),
        ]


class TransferForm(forms.Form):
    """档案迁移 — the target village (anywhere in the county), the date and the reason."""

    to_village_code = forms.ChoiceField(label=_("迁入村/社区"))
    on = forms.DateField(label=_("迁移日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("原因"), max_length=200, required=False)
    with_household = forms.BooleanField(label=_("户主携全家迁移"), required=False,
                                        help_text=_("不勾选时，本人单独迁出原家庭。"))

    def __init__(self, *args: Any, path: str, current_village: str, is_head: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not is_head:
            del self.fields["with_household"]
        choices = [(group, [(code, label) for code, label in villages if code != current_village])
                   for group, villages in county_village_choices(path)]
        cast(forms.ChoiceField, self.fields["to_village_code"]).choices = [*BLANK, *[(g, v) for g, v in choices if v]]


class PairDecisionForm(forms.Form):
    """合并 (with the surviving record) or 非同一人 for one pair of the review queue."""

    decision = forms.ChoiceField(choices=[("merge", _("合并")), ("distinct", _("非同一人"))])
    survivor = forms.CharField(required=False, max_length=32)
