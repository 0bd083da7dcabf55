"""``ygt rules load`` for resident insurance policies (kind ``insurance.policy``, one file each:
``fixtures/policy-*.yaml``): the document is validated as :func:`~.policy.policy_from_mapping`
reads it and stored by ``code``; loading the same file again writes nothing. After the upserts the
stored policies are checked together, so a policy whose effective dates overlap another of the
same county fails the whole load (nothing is written).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from yigongti.core.rule_fixtures import LoadResult, RuleFixture, upsert_by_code

from .errors import PolicyInvalid, PolicyOverlap
from .models import PolicyVersion
from .policy import POLICY_KIND, policy_from_mapping
from .selectors import stored_policies


def _plain(value: Any) -> Any:
    """The YAML document as JSON (dates as ISO text)."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def policy_load(fixture: RuleFixture) -> LoadResult:
    """Store (or update) the policy of one file, then refuse overlapping effective dates."""
    try:
        policy = policy_from_mapping(fixture.document, name=fixture.name)
    except PolicyInvalid as exc:
        raise fixture.invalid(str(exc)) from None
    result = LoadResult()
    result.add(upsert_by_code(PolicyVersion, code=policy.code, values={
        "name": policy.name, "name_en": policy.name_en, "county": policy.county,
        "effective_from": policy.effective_from, "effective_to": policy.effective_to, "source": policy.source,
        "document": _plain(fixture.document)}), policy.code)
    try:
        stored_policies(fresh=True)
    except PolicyOverlap as exc:
        raise fixture.invalid(str(exc)) from None
    return result


LOADERS = {POLICY_KIND: policy_load}
