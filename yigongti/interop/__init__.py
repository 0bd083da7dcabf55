"""interop — imports (CSV/XLSX with row-level errors), later FHIR and DHIS2."""
