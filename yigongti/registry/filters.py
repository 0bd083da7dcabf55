"""The unit-and-year filter of the statistics pages (转诊统计, 互认与预约统计 …): a unit of the
caller's scope — their view unit or a township below it — and a year."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from yigongti.core.clock import today
from yigongti.core.errors import NotFound
from yigongti.core.scope import visible
from yigongti.core.tree import subtree_q

from .choices import DivisionLevel
from .models import Division
from .selectors import current, division_root_for


def org_choices(user: Any) -> list[tuple[str, str]]:
    """The caller's view unit and the townships below it (codes and names)."""
    root = division_root_for(user)
    if root is None:
        return []
    below = visible(user, current(Division.objects.filter(subtree_q(root.path), level=DivisionLevel.TOWNSHIP)))
    return [(root.code, f"{root.name}（{root.code}）"),
            *((d.code, f"　{d.name}（{d.code}）") for d in below.exclude(pk=root.pk).order_by("path"))]


class OrgYearForm(forms.Form):
    """A unit of the caller's scope and a year."""

    org = forms.ChoiceField(label=_("单位"), required=False)
    year = forms.IntegerField(label=_("年度"), required=False, min_value=2000, max_value=2100,
                              widget=forms.NumberInput(attrs={"size": 6}))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["org"]).choices = org_choices(user)


def org_year_params(request: HttpRequest) -> tuple[OrgYearForm, str | None, int]:
    """The bound filter and the unit and year it asks for: by default the caller's view unit
    (``None`` when they have none) and this year. A unit outside the caller's scope is not found,
    as everywhere."""
    root = division_root_for(request.user)
    org, year = (root.code if root is not None else None), today().year
    form = OrgYearForm(request.GET or None, user=request.user, initial={"org": org, "year": year})
    if form.is_bound:
        form.is_valid()
        if "org" in form.errors:
            raise NotFound()
        org = form.cleaned_data.get("org") or org
        year = form.cleaned_data.get("year") or year
    return form, org, year
