"""Forms of the surveillance pages: the 传染病报告卡 (filed, corrected), the review steps, the CDC's
answers to a signal, an outbreak's cases and conclusion, and the filters of the lists.

The forms only shape the input; the services are the authority on every rule (a non-notifiable
code, onset after diagnosis, a date in the future, a duplicate card): the views put a service's
message back under the field it names. So the dates carry no ``max``: the browser must not stop a
value that the service should explain.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from yigongti.registry.choices import DivisionLevel, Sex
from yigongti.registry.models import Division, Institution

from .choices import CardStatus, DiagnosisType, DiseaseClass, SignalStatus
from .models import Disease

Choices = list[tuple[Any, Any]]
BLANK: Choices = [("", "—")]
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
_NUMBER_SPLIT = re.compile(r"[;；,，\s]+")


def disease_choices(diseases: Iterable[Disease]) -> Choices:
    """``[(甲类, [(code, name), …]), (乙类, …), (丙类, …)]`` for a grouped ``<select>``."""
    groups: dict[str, list[tuple[str, str]]] = {value: [] for value in DiseaseClass.values}
    for disease in diseases:
        groups.setdefault(disease.disease_class, []).append((disease.code, disease.name))
    labels = dict(DiseaseClass.choices)
    return [(labels.get(key, key), rows) for key, rows in groups.items() if rows]


def division_choices(divisions: Iterable[Division]) -> Choices:
    """Townships and their villages as ``[(镇1, [(镇1 code, 镇1（乡镇）), (village code, name), …]), …]``."""
    groups: dict[int, tuple[str, list[tuple[str, str]]]] = {}
    for division in divisions:
        if division.level == DivisionLevel.TOWNSHIP:
            groups.setdefault(division.pk, (division.name, []))[1].insert(
                0, (division.code, f"{division.name}（{_('乡镇')}）"))
        elif division.parent_id is not None:
            groups.setdefault(division.parent_id, (str(division.parent_id), []))[1].append(
                (division.code, division.name))
    return [(label, rows) for label, rows in groups.values()]


def institution_choices(institutions: Iterable[Institution]) -> Choices:
    return [(i.code, i.name) for i in institutions]


def _set_choices(form: forms.Form, name: str, choices: Choices) -> None:
    field: Any = form.fields[name]
    field.choices = choices


def card_numbers(text: str) -> list[str]:
    """Card numbers typed one per line or separated by commas/spaces."""
    return [n for n in _NUMBER_SPLIT.split(text or "") if n]


class CardForm(forms.Form):
    """传染病报告卡. A resident is named by the record number (档案编号); a patient who is not a resident
    by name, sex, birth date, ID and phone. ``disease`` may stay empty when the ICD-10 code says it."""

    record_no = forms.CharField(label=_("居民档案编号"), required=False, max_length=32,
                                help_text=_("本县居民填写档案编号；非本县居民留空并填写下列身份信息。"))
    patient_name = forms.CharField(label=_("患者姓名"), required=False, max_length=50)
    sex = forms.ChoiceField(label=_("性别"), required=False, choices=BLANK + list(Sex.choices))
    birth_date = forms.DateField(label=_("出生日期"), required=False, widget=DATE_INPUT)
    id_number = forms.CharField(label=_("有效证件号"), required=False, max_length=18)
    phone = forms.CharField(label=_("联系电话"), required=False, max_length=32)
    division = forms.ChoiceField(label=_("现住址（乡镇/村）"), required=False)
    address = forms.CharField(label=_("现住址（详细）"), required=False, max_length=255,
                              help_text=_("县外患者只填详细地址。"))
    disease = forms.ChoiceField(label=_("病种"), required=False)
    icd10 = forms.CharField(label=_("ICD-10 编码"), required=False, max_length=16,
                            widget=forms.TextInput(attrs={"placeholder": "B08.4", "size": 10}))
    diagnosis_type = forms.ChoiceField(label=_("病例分类"), choices=BLANK + list(DiagnosisType.choices))
    onset_date = forms.DateField(label=_("发病日期"), widget=DATE_INPUT)
    diagnosed_at = forms.DateTimeField(label=_("诊断时间"), widget=DATETIME_INPUT)
    institution = forms.ChoiceField(label=_("报告单位"))
    clinician_name = forms.CharField(label=_("报告医生"), required=False, max_length=50)
    note = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    encounter = forms.IntegerField(required=False, widget=forms.HiddenInput)

    PATIENT = ("record_no", "patient_name", "sex", "birth_date", "id_number", "phone", "division", "address")
    DIAGNOSIS = ("disease", "icd10", "diagnosis_type", "onset_date", "diagnosed_at")
    REPORTER = ("institution", "clinician_name", "note")

    def __init__(self, *args: Any, diseases: Iterable[Disease], divisions: Iterable[Division],
                 institutions: Iterable[Institution], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.diseases = {d.code: d for d in diseases}
        self.divisions = {d.code: d for d in divisions}
        self.institutions = {i.code: i for i in institutions}
        _set_choices(self, "disease", [*BLANK, *disease_choices(self.diseases.values())])
        _set_choices(self, "division", [*BLANK, *division_choices(self.divisions.values())])
        _set_choices(self, "institution", institution_choices(self.institutions.values()))

    def group(self, names: Iterable[str]) -> list[forms.BoundField]:
        return [self[name] for name in names]

    def patient_fields(self) -> list[forms.BoundField]:
        return self.group(self.PATIENT)

    def diagnosis_fields(self) -> list[forms.BoundField]:
        return self.group(self.DIAGNOSIS)

    def reporter_fields(self) -> list[forms.BoundField]:
        return self.group(self.REPORTER)

    def chosen_disease(self) -> Disease | None:
        return self.diseases.get(self.cleaned_data.get("disease") or "")

    def chosen_division(self) -> Division | None:
        return self.divisions.get(self.cleaned_data.get("division") or "")

    def chosen_institution(self) -> Institution:
        return self.institutions[self.cleaned_data["institution"]]


class CorrectForm(forms.Form):
    """订正: the reporting institution corrects a returned card (the correctable fields only)."""

    patient_name = forms.CharField(label=_("患者姓名"), max_length=50)
    sex = forms.ChoiceField(label=_("性别"), required=False, choices=BLANK + list(Sex.choices))
    birth_date = forms.DateField(label=_("出生日期"), required=False, widget=DATE_INPUT)
    id_number = forms.CharField(label=_("有效证件号"), required=False, max_length=18)
    phone = forms.CharField(label=_("联系电话"), required=False, max_length=32)
    division = forms.ChoiceField(label=_("现住址（乡镇/村）"), required=False)
    address = forms.CharField(label=_("现住址（详细）"), required=False, max_length=255)
    diagnosis_type = forms.ChoiceField(label=_("病例分类"), choices=list(DiagnosisType.choices))
    onset_date = forms.DateField(label=_("发病日期"), widget=DATE_INPUT)
    diagnosed_at = forms.DateTimeField(label=_("诊断时间"), widget=DATETIME_INPUT)
    clinician_name = forms.CharField(label=_("报告医生"), required=False, max_length=50)
    note = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, divisions: Iterable[Division], **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "correct")
        super().__init__(*args, **kwargs)
        self.divisions = {d.code: d for d in divisions}
        _set_choices(self, "division", [*BLANK, *division_choices(self.divisions.values())])

    @classmethod
    def initial_of(cls, card: Any) -> dict[str, Any]:
        initial = {name: getattr(card, name) for name in cls.base_fields if name != "division"}
        initial["division"] = card.division.code if card.division_id else ""
        return initial

    def changes(self, card: Any) -> dict[str, Any]:
        """The fields whose value differs from the card's (what the service is asked to change)."""
        found: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            if name == "division":
                value = self.divisions.get(value or "")
                if (value.pk if value else None) != card.division_id:
                    found[name] = value
                continue
            stored = getattr(card, name)
            if isinstance(stored, dt.datetime):  # the form shows minutes: seconds are not a change
                stored = stored.replace(second=0, microsecond=0)
            if (value if value is not None else "") != (stored if stored is not None else ""):
                found[name] = value
        return found


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=500, widget=forms.TextInput(attrs={"size": 50}))


class ReturnForm(ReasonForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["prefix"] = "return"
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = _("退回原因")


class DeleteForm(ReasonForm):
    duplicate_no = forms.CharField(label=_("重复于（报告卡编号）"), required=False, max_length=32)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["prefix"] = "delete"
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = _("删除原因")


class ReviseForm(forms.Form):
    """订正诊断: the disease and/or the 病例分类, with a note."""

    disease = forms.ChoiceField(label=_("病种"), required=False)
    diagnosis_type = forms.ChoiceField(label=_("病例分类"), required=False,
                                       choices=BLANK + list(DiagnosisType.choices))
    note = forms.CharField(label=_("说明"), required=False, max_length=500,
                           widget=forms.TextInput(attrs={"size": 40}))

    def __init__(self, *args: Any, diseases: Iterable[Disease], **kwargs: Any) -> None:
        kwargs["prefix"] = "revise"
        super().__init__(*args, **kwargs)
        self.diseases = {d.code: d for d in diseases}
        _set_choices(self, "disease", [*BLANK, *disease_choices(self.diseases.values())])

    def chosen_disease(self) -> Disease | None:
        return self.diseases.get(self.cleaned_data.get("disease") or "")


class NoteForm(forms.Form):
    """核实 (with a note) or 排除 (with the reason)."""

    note = forms.CharField(label=_("核实记录"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, prefix: str, label: Any, **kwargs: Any) -> None:
        kwargs["prefix"] = prefix
        super().__init__(*args, **kwargs)
        self.fields["note"].label = label


class InvestigateForm(forms.Form):
    """开展暴发调查: a title, a note, and which of the signal's cases to link (all by default)."""

    title = forms.CharField(label=_("调查标题"), required=False, max_length=200)
    note = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    cases = forms.TypedMultipleChoiceField(label=_("关联病例"), required=False, coerce=int,
                                           widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, cases: Iterable[Any], **kwargs: Any) -> None:
        kwargs["prefix"] = "investigate"
        super().__init__(*args, **kwargs)
        rows = list(cases)
        _set_choices(self, "cases", [(c.pk, f"{c.card_no} {c.patient_name}") for c in rows])
        self.fields["cases"].initial = [c.pk for c in rows]


class LinkForm(forms.Form):
    card_nos = forms.CharField(label=_("报告卡编号"), widget=forms.Textarea(attrs={"rows": 2}),
                               help_text=_("每行一个，或用逗号、空格分隔。"))


class CloseForm(forms.Form):
    summary = forms.CharField(label=_("调查结论"), widget=forms.Textarea(attrs={"rows": 3}))


# ---------------------------------------------------------------- filters


class RangeForm(forms.Form):
    start = forms.DateField(label=_("开始日期"), required=False, widget=DATE_INPUT)
    end = forms.DateField(label=_("结束日期"), required=False, widget=DATE_INPUT)

    def range(self, default_start: dt.date | None = None,
              default_end: dt.date | None = None) -> tuple[dt.date | None, dt.date | None]:
        data = self.cleaned_data if self.is_valid() else {}
        start, end = data.get("start") or default_start, data.get("end") or default_end
        if start and end and start > end:
            start, end = end, start
        return start, end


class CardFilterForm(RangeForm):
    status = forms.ChoiceField(label=_("审核状态"), required=False, choices=[("", _("全部")), *CardStatus.choices])
    disease = forms.ChoiceField(label=_("病种"), required=False)
    institution = forms.ChoiceField(label=_("报告单位"), required=False)

    def __init__(self, *args: Any, diseases: Iterable[Disease], institutions: Iterable[Institution],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "disease", [("", _("全部")), *disease_choices(diseases)])
        _set_choices(self, "institution", [("", _("全部")), *institution_choices(institutions)])

    def value(self, name: str) -> str:
        return str((self.cleaned_data if self.is_valid() else {}).get(name) or "")


SIGNAL_STATUSES: Choices = [("", _("待处理（待核实、已核实）")), ("all", _("全部")), *SignalStatus.choices]


class SignalFilterForm(RangeForm):
    status = forms.ChoiceField(label=_("状态"), required=False, choices=SIGNAL_STATUSES)
    disease = forms.ChoiceField(label=_("病种"), required=False)

    def __init__(self, *args: Any, diseases: Iterable[Disease], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "disease", [("", _("全部")), *disease_choices(diseases)])

    def value(self, name: str) -> str:
        return str((self.cleaned_data if self.is_valid() else {}).get(name) or "")
