"""``ygt rules load`` for the programmes (kind ``programmes.programme``): one fixture = one version.

Each fixture is checked by :func:`~.engine.spec_from_document` (a bad file stops the whole load), then
upserts its :class:`~.models.Programme` (by code) and :class:`~.models.ProgrammeVersion` (by programme
and ``effective_from``). ``definition`` is the document with dates as ISO strings and ``digest`` the
sha256 of its canonical JSON: the same digest means unchanged, nothing is written. When the rules of
an existing version change, every active plan of the programme is recomputed
(:func:`~.services.programme_replan_all`).
"""

from __future__ import annotations

from yigongti.core.rule_fixtures import LoadResult, Outcome, RuleFixture, upsert_by_code

from . import services
from .engine import SpecInvalid, document_digest, spec_from_document
from .models import Programme, ProgrammeVersion

FIXTURE_KIND = "programmes.programme"


def programme_rules_load(fixture: RuleFixture) -> LoadResult:
    """Load one programme version; idempotent (an unchanged digest writes nothing)."""
    try:
        spec = spec_from_document(fixture.document, name=fixture.name)
    except SpecInvalid as exc:
        raise fixture.invalid(exc.params.get("key", "") + ": " + str(exc.params.get("reason", ""))) from exc
    result = LoadResult()
    names = {"name": spec.name.zh, "name_en": spec.name.en, "sort_order": spec.sort_order}
    programme = Programme.objects.filter(code=spec.code).first()
    newer = programme is not None and ProgrammeVersion.objects.filter(
        programme=programme, effective_from__gt=spec.effective_from).exists()
    # The latest version names the programme; an older file loaded after it leaves the name alone
    # (so that loading old and new versions again changes nothing).
    outcome: Outcome = "unchanged" if newer else upsert_by_code(Programme, code=spec.code, values=names)
    result.add(outcome, spec.code)
    programme = Programme.objects.get(code=spec.code)
    definition = dict(spec.document)
    digest = document_digest(definition)
    values = {"effective_to": spec.effective_to, "source": spec.source, "definition": definition, "digest": digest}
    version = ProgrammeVersion.objects.filter(programme=programme, effective_from=spec.effective_from).first()
    version_outcome: Outcome
    if version is None:
        ProgrammeVersion.objects.create(programme=programme, effective_from=spec.effective_from, **values)
        version_outcome = "created"
    elif version.digest == digest:  # the digest covers the whole document, dates and source included
        version_outcome = "unchanged"
    else:
        for name, value in values.items():
            setattr(version, name, value)
        version.save()
        version_outcome = "updated"
        services.programme_replan_all(programme_code=spec.code)
    result.add(version_outcome, f"{spec.code}@{spec.effective_from.isoformat()}")
    return result


LOADERS = {FIXTURE_KIND: programme_rules_load}
