"""Forms of the referral pages: the request, the actions on a referral (accept, reject, cancel,
complete, send down), slots, teleconsultations and the statistics filter.

The forms only shape the input; the services are the authority on every rule (a route an
institution does not take, a slot that is full, a transition the state machine refuses): their
errors are put back under the field by the view.

Choice lists of institutions and departments are reference data, not person-level rows, so they
are read here without the caller's scope: a village doctor must be able to pick the county
hospital, which lies outside the village's subtree.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yigongti.core.clock import today
from yigongti.registry.choices import InstitutionType, Tier
from yigongti.registry.models import Department, Institution
from yigongti.registry.selectors import current

from .choices import ReferralKind, Urgency

Choices = list[tuple[Any, Any]]
BLANK: Choices = [("", "—")]
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
SLOT_DAYS = 14  # slots offered with a request or an acceptance: the next two weeks
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES = 10
# The programmes a down-referral's care plan may name. Referrals sit beside programmes and must not
# import them (import-linter layers), so the list is a constant here; the programmes app checks the
# code when the care plan arrives (care.signals.care_plan_issued).
CARE_PROGRAMMES: Choices = [
    ("hypertension", _("高血压")), ("diabetes", _("糖尿病")), ("mental", _("严重精神障碍")), ("tb", _("肺结核")),
]
NO_PROGRAMME = "none"
# Institutions that receive referrals and consultations: the county level (but the CDC, which sees
# no patients) and the township centres.
_RECEIVING = Q(tier=Tier.COUNTY) & ~Q(type=InstitutionType.CDC) | Q(
    type__in=[InstitutionType.TOWNSHIP_CENTRE, InstitutionType.COMMUNITY_CENTRE])


def receiving_institutions(*, county_only: bool = False) -> list[Institution]:
    """Current institutions that take referrals (county tier first), or only the county-tier ones."""
    query = Q(tier=Tier.COUNTY) & ~Q(type=InstitutionType.CDC) if county_only else _RECEIVING
    rows = current(Institution.objects.filter(query))
    return sorted(rows, key=lambda i: ({Tier.COUNTY: 0, Tier.TOWNSHIP: 1}.get(i.tier, 2), i.path, i.code))


def institution_choices(institutions: Iterable[Institution]) -> Choices:
    return [(i.code, i.name) for i in institutions]


def departments_of(institutions: Iterable[Institution]) -> list[Department]:
    """The clinical departments of ``institutions`` (reference data, like the institutions)."""
    return list(Department.objects.filter(institution__in=list(institutions), is_clinical=True)
                .select_related("institution").order_by("institution_id", "code"))


def department_choices(departments: Sequence[Department]) -> Choices:
    """``(pk, "institution · department")``; the department name alone when all are of one institution."""
    many = len({d.institution_id for d in departments}) > 1
    return [(d.pk, f"{d.institution.name} · {d.name}" if many else d.name) for d in departments]


def slot_label(slot: Any, *, with_institution: bool = True) -> str:
    """``内科 2026-06-16 08:00–11:30 孙医生（余 3）`` (the institution first when several are offered)."""
    band = f"{slot.date:%Y-%m-%d} {slot.start_time:%H:%M}–{slot.end_time:%H:%M}"
    where = f"{slot.institution.name} · " if with_institution else ""
    who = f" {slot.clinician_name}" if slot.clinician_name else ""
    return str(_("%(where)s%(department)s %(band)s%(who)s（余 %(free)s）") % {
        "where": where, "department": slot.department.name, "band": band, "who": who,
        "free": slot.capacity - slot.booked})


def slot_choices(slots: Iterable[Any], *, with_institution: bool = True) -> Choices:
    """The slots that still have a free place, as choices."""
    return [(s.pk, slot_label(s, with_institution=with_institution)) for s in slots if s.booked < s.capacity]


def result_label(result: Any) -> str:
    value = result.value_text or (f"{result.value.normalize():f}" if result.value is not None else "")
    unit = f" {result.unit}" if result.unit and value else ""
    flag = f" [{result.get_flag_display()}]" if result.flag and result.flag != "N" else ""
    return (f"{result.reported_at:%Y-%m-%d} {result.item.name} {value}{unit}{flag}"
            f" · {result.performed_by.name}").strip()


def result_choices(results: Iterable[Any]) -> Choices:
    return [(r.pk, result_label(r)) for r in results]


def _set_choices(form: forms.Form, name: str, choices: Choices) -> None:
    field: Any = form.fields[name]
    field.choices = choices


class ReferralRequestForm(forms.Form):
    """发起转诊 — to whom, why, how urgent; the results to send along; optionally a booked slot."""

    to_institution = forms.ChoiceField(label=_("接收机构"))
    to_department = forms.TypedChoiceField(label=_("接收科室"), required=False, coerce=int, empty_value=None)
    kind = forms.ChoiceField(label=_("转诊类别"), choices=ReferralKind.choices, initial=ReferralKind.OUTPATIENT)
    urgency = forms.ChoiceField(label=_("紧急程度"), choices=Urgency.choices, initial=Urgency.ROUTINE)
    reason = forms.CharField(label=_("转诊原因"), max_length=500,
                             widget=forms.TextInput(attrs={"size": 60}))
    diagnosis_code = forms.CharField(label=_("初步诊断编码(ICD-10)"), required=False, max_length=16,
                                     widget=forms.TextInput(attrs={"placeholder": "I10", "size": 8}))
    diagnosis_name = forms.CharField(label=_("初步诊断"), required=False, max_length=200)
    summary = forms.CharField(label=_("病情摘要"), required=False, max_length=4000,
                              widget=forms.Textarea(attrs={"rows": 4, "cols": 60}))
    results = forms.TypedMultipleChoiceField(label=_("附检查检验结果"), required=False, coerce=int,
                                             widget=forms.CheckboxSelectMultiple)
    slot = forms.TypedChoiceField(label=_("预约号源"), required=False, coerce=int, empty_value=None,
                                  help_text=_("可选：接收机构未来 14 天内尚有余号的号源。"))
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, institutions: Sequence[Institution], departments: Choices,
                 results: Choices, slots: Choices, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("idempotency_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)
        self.institutions = {i.code: i for i in institutions}
        _set_choices(self, "to_institution", BLANK + institution_choices(institutions))
        _set_choices(self, "to_department", BLANK + departments)
        _set_choices(self, "results", results)
        _set_choices(self, "slot", BLANK + slots)

    def clean_diagnosis_code(self) -> str:
        return str(self.cleaned_data.get("diagnosis_code") or "").strip().upper()

    def institution(self) -> Institution:
        return self.institutions[self.cleaned_data["to_institution"]]


class AcceptForm(forms.Form):
    """接收 — an optional note and an optional slot of the receiving institution."""

    slot = forms.TypedChoiceField(label=_("预约号源"), required=False, coerce=int, empty_value=None)
    note = forms.CharField(label=_("备注"), required=False, max_length=500)

    def __init__(self, *args: Any, slots: Choices = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        kwargs.setdefault("prefix", "accept")
        super().__init__(*args, **kwargs)
        _set_choices(self, "slot", BLANK + list(slots))


class ReasonForm(forms.Form):
    """拒绝 / 撤销 — a reason, required."""

    reason = forms.CharField(label=_("原因"), max_length=500, error_messages={"required": _("请填写原因。")})


class CompleteForm(forms.Form):
    """完成 — the feedback to the sender (出院小结), required."""

    feedback = forms.CharField(label=_("出院小结"), max_length=8000,
                               widget=forms.Textarea(attrs={"rows": 5, "cols": 60}),
                               error_messages={"required": _("请填写出院小结。")})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "complete")
        super().__init__(*args, **kwargs)


class DownForm(forms.Form):
    """下转 — back to the sender (or another township centre) with a care plan."""

    to_institution = forms.ChoiceField(label=_("接收机构"), required=False,
                                       help_text=_("留空：转回原转出机构。"))
    reason = forms.CharField(label=_("下转原因"), max_length=500, error_messages={"required": _("请填写下转原因。")})
    summary = forms.CharField(label=_("诊疗摘要"), required=False, max_length=8000,
                              widget=forms.Textarea(attrs={"rows": 4, "cols": 60}))
    programme = forms.ChoiceField(label=_("照护计划：管理项目"), initial=NO_PROGRAMME,
                                  choices=[(NO_PROGRAMME, _("无")), *CARE_PROGRAMMES])
    follow_up_days = forms.IntegerField(label=_("随访时限（天）"), initial=14, min_value=1, max_value=366)
    instructions = forms.CharField(label=_("照护指导"), required=False, max_length=2000,
                                   widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))

    def __init__(self, *args: Any, institutions: Sequence[Institution] = (), **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "down")
        super().__init__(*args, **kwargs)
        self.institutions = {i.code: i for i in institutions}
        _set_choices(self, "to_institution", BLANK + institution_choices(institutions))

    def institution(self) -> Institution | None:
        code = self.cleaned_data.get("to_institution")
        return self.institutions.get(code) if code else None

    def care_plan(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if data["programme"] == NO_PROGRAMME:
            return None
        return {"programme": data["programme"], "follow_up_days": data["follow_up_days"],
                "instructions": data.get("instructions", "").strip()}


class SlotForm(forms.Form):
    """发布号源 — a band of places in one department of the user's institution."""

    department = forms.TypedChoiceField(label=_("科室"), coerce=int)
    date = forms.DateField(label=_("日期"), widget=DATE_INPUT)
    start_time = forms.TimeField(label=_("开始时间"), widget=TIME_INPUT)
    end_time = forms.TimeField(label=_("结束时间"), widget=TIME_INPUT)
    capacity = forms.IntegerField(label=_("号源数"), min_value=1, max_value=500, initial=10)
    clinician_name = forms.CharField(label=_("出诊医生"), required=False, max_length=50)

    def __init__(self, *args: Any, departments: Choices, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"date": today()})
        super().__init__(*args, **kwargs)
        _set_choices(self, "department", BLANK + departments)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start_time"), data.get("end_time")
        if start is not None and end is not None and end <= start:
            self.add_error("end_time", _("结束时间应晚于开始时间。"))
        return data


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one ``<input type=file multiple>``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        cleaned = [super(MultipleFileField, self).clean(f, initial) for f in files]
        if len(cleaned) > MAX_FILES:
            raise forms.ValidationError(_("最多上传 %(n)s 个文件。") % {"n": MAX_FILES})
        for upload in cleaned:
            if upload.size is not None and upload.size > MAX_FILE_BYTES:
                raise forms.ValidationError(_("文件“%(name)s”超过 10 MB。") % {"name": upload.name})
        return cleaned


class ConsultForm(forms.Form):
    """申请远程会诊 — a question to a county specialist, with results and files."""

    specialist_institution = forms.ChoiceField(label=_("会诊机构"))
    department = forms.TypedChoiceField(label=_("会诊科室"), required=False, coerce=int, empty_value=None)
    question = forms.CharField(label=_("会诊问题"), max_length=8000,
                               widget=forms.Textarea(attrs={"rows": 5, "cols": 60}))
    results = forms.TypedMultipleChoiceField(label=_("附检查检验结果"), required=False, coerce=int,
                                             widget=forms.CheckboxSelectMultiple)
    attachments = MultipleFileField(label=_("附件"), required=False,
                              help_text=_("心电图、影像截图、病历等，每个不超过 10 MB。"))

    def __init__(self, *args: Any, institutions: Sequence[Institution], departments: Choices, results: Choices,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.institutions = {i.code: i for i in institutions}
        _set_choices(self, "specialist_institution", BLANK + institution_choices(institutions))
        _set_choices(self, "department", BLANK + departments)
        _set_choices(self, "results", results)

    def institution(self) -> Institution:
        return self.institutions[self.cleaned_data["specialist_institution"]]


class AnswerForm(forms.Form):
    answer = forms.CharField(label=_("会诊意见"), max_length=8000, widget=forms.Textarea(attrs={"rows": 6, "cols": 60}),
                             error_messages={"required": _("请填写会诊意见。")})


