"""Reads of the residents app. Person-level: every read passes the caller's scope
(:func:`yigongti.core.scope.visible`); reading one record is audited, a miss as ``not_found``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db.models import Q, QuerySet

from yigongti.core import audit
from yigongti.core.errors import NotFound
from yigongti.core.scope import covers, get_visible, visible
from yigongti.core.tree import subtree_q
from yigongti.registry.models import Division

from .choices import PairStatus, RecordStatus, Relation
from .identity import id_upgrade, name_clean, name_pinyin
from .models import MatchPair, Resident, ResidentMerge, ResidentTransfer

_ID = re.compile(r"^(\d{15}|\d{17}[\dX])$")
_RECORD_NO = re.compile(r"^\d{17}$")
_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$")
_HAN = re.compile(r"[\u3400-\u9fff]")
# Tone-less pinyin syllables: an optional initial and a final (over-generates a little — harmless
# for splitting what a clerk typed without spaces, ``zhangsan`` → ``zhang san``).
_SYLLABLE = re.compile(
    r"^(zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(iang|iong|uang|ang|eng|ing|ong|uan|ian|iao|uai|van|ai|ei|ao|ou|an|en|in|un|vn|ia|ie|iu|ua|uo|ue|ui|ve|er"
    r"|a|o|e|i|u|v)$"
)


def _base() -> QuerySet[Resident]:
    return Resident.objects.select_related("village", "clinic", "township_centre", "household", "merged_into")


def pinyin_split(text: str) -> str:
    """``zhangsan`` → ``zhang san`` (longest syllables first; unchanged when it does not split)."""

    def split(rest: str) -> list[str] | None:
        if not rest:
            return []
        for n in range(min(6, len(rest)), 0, -1):
            if _SYLLABLE.match(rest[:n]):
                tail = split(rest[n:])
                if tail is not None:
                    return [rest[:n], *tail]
        return None

    parts = split(text)
    return " ".join(parts) if parts else text


def _name_q(text: str) -> Q:
    """Name exact/prefix, or its tone-less pinyin exact/prefix (homophones meet), index-friendly."""
    if _HAN.search(text):
        cleaned = name_clean(text)
        py = name_pinyin(cleaned)
        return Q(name__startswith=cleaned) | Q(name_pinyin=py) | Q(name_pinyin__startswith=py + " ")
    latin = " ".join(text.lower().replace("ü", "v").split())
    variants = {latin, pinyin_split(latin.replace(" ", ""))}
    q = Q()
    for v in variants:
        q |= Q(name_pinyin__startswith=v)
    return q


def _date(token: str) -> dt.date | None:
    m = _DATE.match(token)
    if not m:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def resident_query(q: str) -> Q:
    """The filter a free-text query stands for: a resident ID (15 or 18), a record number, a birth
    date (YYYY-MM-DD), a name or its pinyin — or a name and a birth date (``张三 1980-05-17``)."""
    text = " ".join((q or "").split())
    if not text:
        return Q()
    compact = text.upper().replace(" ", "")
    if _ID.match(compact):
        return Q(id_number=id_upgrade(compact))
    if _RECORD_NO.match(compact):
        return Q(record_no=compact)
    filters = Q()
    words = []
    for token in text.split(" "):
        born = _date(token) if token[:1].isdigit() else None
        if born is not None:
            filters &= Q(birth_date=born)
        else:
            words.append(token)
    if words:
        rest = " ".join(words)
        if rest.isdigit() and len(rest) >= 6:
            filters &= Q(record_no__startswith=rest) | Q(id_number__startswith=rest)
        else:
            filters &= _name_q(rest)
    return filters


def resident_search(*, user: Any, q: str = "", village_code: str | None = None,
                    status: str | None = None) -> QuerySet[Resident]:
    """Records in the caller's view scope matching ``q`` (see :func:`resident_query`); merged
    records only when ``status="merged"`` is asked for. ``village_code`` may be any division code
    inside the scope (its subtree)."""
    qs = visible(user, _base())
    if village_code:
        division = get_visible(user, Division.objects.all(), code=village_code.strip())
        qs = qs.filter(subtree_q(division.path))
    qs = qs.filter(status=status) if status else qs.exclude(status=RecordStatus.MERGED)
    return qs.filter(resident_query(q)).order_by("name", "birth_date", "record_no")


def resident_get(*, user: Any, record_no: str, request: Any = None) -> Resident:
    """One record in the caller's view scope (audited ``read``), else :class:`NotFound` (audited
    ``not_found`` — absent and out of scope look the same)."""
    try:
        resident = get_visible(user, _base(), record_no=(record_no or "").strip())
    except NotFound:
        audit.read_missed(user=user, object_type="residents.resident", object_id=record_no, request=request)
        raise
    audit.read(user=user, objects=[resident], request=request)
    return resident


def review_queue(*, user: Any) -> QuerySet[MatchPair]:
    """Pending pairs whose both records the caller can see, most probable first."""
    qs = MatchPair.objects.filter(status=PairStatus.PENDING).select_related("left", "right", "left__village",
                                                                             "right__village")
    qs = visible(user, visible(user, qs, path_field="left__path"), path_field="right__path")
    return qs.order_by("-probability", "pk")


def pair_get(*, user: Any, pk: int, request: Any = None) -> MatchPair:
    """One pair (any status) whose both records the caller can see, else :class:`NotFound`."""
    qs = MatchPair.objects.select_related("left", "right", "left__village", "right__village")
    qs = visible(user, visible(user, qs, path_field="left__path"), path_field="right__path")
    pair = qs.filter(pk=pk).first()
    if pair is None:
        audit.read_missed(user=user, object_type="residents.matchpair", object_id=pk, request=request)
        raise NotFound()
    return pair


def merge_get(*, user: Any, pk: int, request: Any = None) -> ResidentMerge:
    """One merge whose both records the caller can see, else :class:`NotFound`."""
    qs = ResidentMerge.objects.select_related("survivor", "merged")
    qs = visible(user, visible(user, qs, path_field="survivor__path"), path_field="merged__path")
    merge = qs.filter(pk=pk).first()
    if merge is None:
        audit.read_missed(user=user, object_type="residents.residentmerge", object_id=pk, request=request)
        raise NotFound()
    return merge


def resident_history(*, user: Any, resident: Resident) -> dict[str, list[Any]]:
    """The transfers of a record and the merges it took part in (oldest first)."""
    if not covers(user, resident.path):
        raise NotFound()
    transfers = list(ResidentTransfer.objects.filter(resident=resident)
                     .select_related("from_village", "to_village", "by").order_by("at", "pk"))
    merges = list(ResidentMerge.objects.filter(Q(survivor=resident) | Q(merged=resident))
                  .select_related("survivor", "merged", "by", "undone_by").order_by("at", "pk"))
    return {"transfers": transfers, "merges": merges}


def household_members(*, user: Any, resident: Resident) -> list[Resident]:
    """The live members of the resident's household that the caller may see (head, spouse, then by age)."""
    if resident.household_id is None:
        return []
    members = visible(user, _base().filter(household_id=resident.household_id).exclude(status=RecordStatus.MERGED))
    order: dict[str, int] = {Relation.HEAD: 0, Relation.SPOUSE: 1}
    return sorted(members, key=lambda m: (order.get(m.relation_to_head, 2), m.birth_date, m.pk))
