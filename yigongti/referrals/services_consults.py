"""Teleconsultation (远程会诊): a township centre (or any institution) asks a county specialist about
a patient, with results and files attached; the specialist answers once. Re-exported by
:mod:`.services`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.core import audit
from yigongti.core.errors import ValidationFailed
from yigongti.core.models import AuditAction
from yigongti.registry.choices import InstitutionType, Tier
from yigongti.registry.models import Department, Institution
from yigongti.residents.models import Resident
from yigongti.residents.services import audit_misses

from .checks import by, require_of, resident_for_write, results_for, text
from .choices import ConsultStatus
from .errors import AlreadyAnswered
from .models import ConsultAttachment, Teleconsultation

CONSULT = "referrals.teleconsultation"
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES = 10
MAX_QUESTION = 4000
MAX_ANSWER = 8000


def _files(files: Sequence[UploadedFile]) -> list[tuple[str, str, bytes]]:
    if len(files) > MAX_FILES:
        raise ValidationFailed(field="files", reason=_("最多上传 %(max)s 个附件") % {"max": MAX_FILES})
    read: list[tuple[str, str, bytes]] = []
    for upload in files:
        name = (upload.name or "file")[-200:]
        if (upload.size or 0) > MAX_FILE_BYTES:
            raise ValidationFailed(field="files", reason=_("附件“%(name)s”超过 10 MB") % {"name": name})
        content = upload.read()
        if len(content) > MAX_FILE_BYTES:
            raise ValidationFailed(field="files", reason=_("附件“%(name)s”超过 10 MB") % {"name": name})
        read.append((name, upload.content_type or "application/octet-stream", content))
    return read


@audit_misses
@transaction.atomic
def consult_request(*, user: Any, resident: Resident, specialist_institution: Institution, question: str,
                    department: Department | None = None, result_ids: Sequence[int] = (),
                    files: Sequence[UploadedFile] = (), request: Any = None) -> Teleconsultation:
    """Ask ``specialist_institution`` (county level, not the CDC) about ``resident``.

    The requesting institution is the caller's; results must be the patient's and visible to the
    caller; files at most 10 each of at most 10 MB, stored with the consultation (served only
    through it).
    """
    requesting = getattr(user, "institution", None)
    if requesting is None:
        raise ValidationFailed(field="requesting_institution", reason=_("您的账号未关联机构，不能申请会诊"))
    resident = resident_for_write(user, resident, what=_("申请会诊"))
    if specialist_institution.tier != Tier.COUNTY or specialist_institution.type == InstitutionType.CDC:
        raise ValidationFailed(field="specialist_institution",
                               reason=_("远程会诊须向县级医疗机构申请（“%(name)s”不提供会诊）") % {
                                   "name": specialist_institution.name})
    if specialist_institution.pk == requesting.pk:
        raise ValidationFailed(field="specialist_institution", reason=_("不能向本机构申请会诊"))
    if department is not None and department.institution_id != specialist_institution.pk:
        raise ValidationFailed(field="department", reason=_("会诊科室不属于“%(name)s”") % {
            "name": specialist_institution.name})
    question = text(question, field="question", label=_("会诊问题"), max_length=MAX_QUESTION)
    results = results_for(user, resident, result_ids)
    uploads = _files(files)
    consult = Teleconsultation.objects.create(
        resident=resident, path=resident.path, requesting_institution=requesting,
        specialist_institution=specialist_institution, department=department, from_path=requesting.path,
        to_path=specialist_institution.path, question=question, requested_at=timezone.now(), requested_by=by(user))
    if results:
        consult.results.set(results)
    ConsultAttachment.objects.bulk_create([
        ConsultAttachment(consultation=consult, name=name, content_type=ctype, size=len(content), content=content,
                          uploaded_by=by(user))
        for name, ctype, content in uploads])
    audit.record(user=user, action=AuditAction.CREATE, object_type=CONSULT, object_id=consult.pk, path=consult.path,
                 request=request, detail={"record_no": resident.record_no, "to": specialist_institution.code,
                                          "results": [r.pk for r in results], "files": [u[0] for u in uploads]})
    return consult


@transaction.atomic
def consult_answer(*, user: Any, consultation: Teleconsultation, answer: str, request: Any = None) -> Teleconsultation:
    """The specialist institution answers; once only (409 ``already_answered``, also for the
    second of two concurrent answers)."""
    consult = Teleconsultation.objects.select_for_update(of=("self",)).select_related("specialist_institution").get(
        pk=consultation.pk)
    require_of(user, consult.specialist_institution, _("答复该会诊"))
    answer = text(answer, field="answer", label=_("会诊意见"), max_length=MAX_ANSWER)
    now = timezone.now()
    updated = Teleconsultation.objects.filter(pk=consult.pk, status=ConsultStatus.REQUESTED).update(
        status=ConsultStatus.ANSWERED, answer=answer, answered_at=now, answered_by=by(user))
    if not updated:
        consult.refresh_from_db()
        when = timezone.localtime(consult.answered_at).strftime("%Y-%m-%d %H:%M") if consult.answered_at else "—"
        raise AlreadyAnswered(answered_at=when)
    consult.refresh_from_db()
    audit.record(user=user, action=AuditAction.UPDATE, object_type=CONSULT, object_id=consult.pk, path=consult.path,
                 request=request, detail={"status": ConsultStatus.ANSWERED})
    return consult
