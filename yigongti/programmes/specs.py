"""The spec of a programme as loaded in the database (``ygt rules load``), for the services.

:func:`spec_for` reads the :class:`~.models.ProgrammeVersion` in force on a date and parses its
definition once per ``(code, digest)`` in this process: a reloaded, changed version has a new
digest and is parsed again; an unchanged one is never parsed twice.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yigongti.core.errors import DomainError

from .engine import spec_from_document
from .engine.types import ProgrammeSpec
from .models import ProgrammeVersion


class ProgrammeNotLoaded(DomainError):
    code = "programme_not_loaded"
    status = 409
    message = _("项目 %(code)s 在 %(on)s 没有生效的规则版本，请先运行 ygt rules load。")


_parsed: dict[tuple[str, str], ProgrammeSpec] = {}


def spec_for(programme_code: str, on: dt.date) -> ProgrammeSpec:
    """The spec of ``programme_code`` in force on ``on`` (the latest version starting on or before it)."""
    row = (ProgrammeVersion.objects.filter(programme__code=programme_code, effective_from__lte=on)
           .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on))
           .order_by("-effective_from").values_list("digest", "definition").first())
    if row is None:
        raise ProgrammeNotLoaded(code=programme_code, on=on.isoformat())
    digest, definition = row
    key = (programme_code, digest)
    spec = _parsed.get(key)
    if spec is None:
        spec = _parsed[key] = spec_from_document(definition, name=f"{programme_code}@{digest[:8]}")
    return spec
