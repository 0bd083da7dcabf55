"""The plan engine: pure functions from a programme's definition, an anchor date and the services
received to the visits and doses due — no database, no clock. See :mod:`.types` for the values."""

from .classify import classify
from .doses import BEFORE_MIN_AGE, INTERVAL_TOO_SHORT, VariantInvalid
from .fields import ValuesInvalid, validate_values
from .plan import plan, still_to_do
from .spec import SpecInvalid, document_digest, document_json, fixture_specs, spec_from_document

__all__ = [
    "BEFORE_MIN_AGE",
    "INTERVAL_TOO_SHORT",
    "SpecInvalid",
    "ValuesInvalid",
    "VariantInvalid",
    "classify",
    "document_digest",
    "document_json",
    "fixture_specs",
    "plan",
    "spec_from_document",
    "still_to_do",
    "validate_values",
]
