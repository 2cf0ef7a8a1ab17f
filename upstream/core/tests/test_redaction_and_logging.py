"""PHI patterns (core.redaction) and the logging filter that applies them to every record (core.logging)."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from pythonjsonlogger.json import JsonFormatter

from upstream.core.logging import PHIScrubFilter, RequestContextFilter
from upstream.core.redaction import find_phi, redact_value, scrub

# --- patterns -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SSN 123-45-6789 on file", "SSN [REDACTED-SSN] on file"),
        ("ssn:123 45 6789.", "ssn:[REDACTED-SSN]."),
        ("(123-45-6789)", "([REDACTED-SSN])"),
        ("call 555-123-4567 now", "call [REDACTED-PHONE] now"),
        ("call 555.123.4567 now", "call [REDACTED-PHONE] now"),
        ("call 555 123 4567 now", "call [REDACTED-PHONE] now"),
        ("call (555) 123-4567 now", "call [REDACTED-PHONE] now"),
        ("call (555)123-4567 now", "call [REDACTED-PHONE] now"),
        ("call +1 555 123 4567 now", "call [REDACTED-PHONE] now"),
        ("call +1 (555) 123-4567 now", "call [REDACTED-PHONE] now"),
        ("call 1-800-555-1234 now", "call [REDACTED-PHONE] now"),
        ("call +15551234567 now", "call [REDACTED-PHONE] now"),
        ("mail jane.doe+claims@example.co.uk today", "mail [REDACTED-EMAIL] today"),
        ("from J_Roe99@clinic-north.org", "from [REDACTED-EMAIL]"),
        ("MRN: 00123456 admitted", "[REDACTED-MRN] admitted"),
        ("patient mrn=AB-1234", "patient [REDACTED-MRN]"),
        ("MRN#A1234", "[REDACTED-MRN]"),
        ("MRN 778899", "[REDACTED-MRN]"),
        ("Medical record number 778899", "[REDACTED-MRN]"),
        ("medical record no. 12345,", "[REDACTED-MRN],"),
    ],
)
def test_scrub_redacts_phi(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Service date 2026-01-15",
        "2026-01-15T10:30:00.123456+00:00",
        "dates 01/15/2026 and 2026/01/15",
        "CPT 99213",
        "CPT codes 99213 99214 99215",
        "claim CLM-000123",
        "claim CLM-000-123-4567",
        "amount 1,234.56",
        "paid $1,234,567.89 of 2,000,000.00",
        "NPI 1234567893",
        "ICD-10 E11.9 and Z00.00",
        "MRN field is required",
        "MRNs must be unique",
        "rows 1000000 in 12.5 s",
        "upload 3f2c9a1e-5b7d-4c2a-9e1f-0a1b2c3d4e5f",
        "from 10.0.12.200 port 5432",
        "version 5.2.19",
        "",
    ],
)
def test_scrub_leaves_non_phi_alone(text: str) -> None:
    assert scrub(text) == text
    assert find_phi(text) == []


def test_scrub_mixed_text() -> None:
    text = (
        "Patient jane@x.org, SSN 123-45-6789, MRN: A12345, phone (555) 123-4567; "
        "CPT 99213 on 2026-01-15 for 1,234.56 (CLM-000123)"
    )
    assert scrub(text) == (
        "Patient [REDACTED-EMAIL], SSN [REDACTED-SSN], [REDACTED-MRN], phone [REDACTED-PHONE]; "
        "CPT 99213 on 2026-01-15 for 1,234.56 (CLM-000123)"
    )
    assert find_phi(text) == ["SSN", "EMAIL", "MRN", "PHONE"]


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("123-45-6789", ["SSN"]),
        ("jane@x.org", ["EMAIL"]),
        ("MRN: 00123456", ["MRN"]),
        ("(555) 123-4567", ["PHONE"]),
        ("jane@x.org or 555-123-4567", ["EMAIL", "PHONE"]),
    ],
)
def test_find_phi_names_the_kinds_present(text: str, kinds: list[str]) -> None:
    assert find_phi(text) == kinds


@pytest.mark.parametrize(
    ("value", "keep", "expected"),
    [
        ("123456789", 0, "***(9 chars)"),
        ("ABCDEFGH", 2, "AB***(8 chars)"),
        ("ABC", 2, "***(3 chars)"),
        ("", 0, ""),
    ],
)
def test_redact_value(value: str, keep: int, expected: str) -> None:
    assert redact_value(value, keep=keep) == expected


# --- the logging filter, end to end -------------------------------------------------------------------------


@pytest.fixture
def text_logger() -> Iterator[tuple[logging.Logger, StringIO]]:
    """A real logger with a plain-text handler carrying the PHI filter, isolated from the root logger."""
    stream = StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(PHIScrubFilter())
    logger = logging.getLogger(f"upstream.tests.phi.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield logger, stream
    logger.removeHandler(handler)


@pytest.fixture
def json_logger() -> Iterator[tuple[logging.Logger, StringIO]]:
    """A real logger with the JSON formatter and filters exactly as ``settings.LOGGING`` configures them."""
    config: dict[str, Any] = settings.LOGGING
    formatter_config = config["formatters"]["json"]
    stream = StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter(fmt=formatter_config["fmt"], rename_fields=formatter_config["rename_fields"])
    )
    assert config["handlers"]["console"]["filters"] == ["context", "phi_scrub"]
    handler.addFilter(RequestContextFilter())
    handler.addFilter(PHIScrubFilter())
    logger = logging.getLogger(f"upstream.tests.phi.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield logger, stream
    logger.removeHandler(handler)


def test_message_arguments_are_scrubbed(text_logger: tuple[logging.Logger, StringIO]) -> None:
    logger, stream = text_logger
    logger.info("patient %s phone %s", "jane@x.org", "(555) 123-4567")
    logger.warning("data=%s", {"ssn": "123-45-6789", "cpt": "99213"})
    logger.info("claim %s on %s for %s", "CLM-000123", "2026-01-15", "1,234.56")
    assert stream.getvalue().splitlines() == [
        "INFO patient [REDACTED-EMAIL] phone [REDACTED-PHONE]",
        "WARNING data={'ssn': '[REDACTED-SSN]', 'cpt': '99213'}",
        "INFO claim CLM-000123 on 2026-01-15 for 1,234.56",
    ]


def test_exception_text_is_scrubbed(text_logger: tuple[logging.Logger, StringIO]) -> None:
    logger, stream = text_logger
    try:
        raise ValueError("bad SSN 123-45-6789 for jane@x.org")
    except ValueError:
        logger.exception("failed for %s", "MRN: 998877")
    output = stream.getvalue()
    lines = output.splitlines()
    assert lines[0] == "ERROR failed for [REDACTED-MRN]"
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: bad SSN [REDACTED-SSN] for [REDACTED-EMAIL]"
    for phi in ("123-45-6789", "jane@x.org", "998877"):
        assert phi not in output


def test_a_malformed_record_is_still_logged(text_logger: tuple[logging.Logger, StringIO]) -> None:
    logger, stream = text_logger
    logger.info("%s and %s about jane@x.org", "only one argument")
    assert stream.getvalue().splitlines() == ["INFO %s and %s about [REDACTED-EMAIL]"]


def test_filter_is_idempotent() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "ssn %s", ("123-45-6789",), None)
    phi_filter = PHIScrubFilter()
    assert phi_filter.filter(record) is True
    assert phi_filter.filter(record) is True
    assert (record.getMessage(), record.msg, record.args) == (
        "ssn [REDACTED-SSN]",
        "ssn [REDACTED-SSN]",
        None,
    )


def test_json_output_is_scrubbed_including_traceback_and_extras(
    json_logger: tuple[logging.Logger, StringIO],
) -> None:
    logger, stream = json_logger
    ids = ["123-45-6789", 7]
    try:
        raise RuntimeError("lookup failed for (555) 123-4567")
    except RuntimeError:
        logger.error(
            "ingest row %s failed",
            "jane@x.org",
            exc_info=True,
            extra={"patient_email": "jane@x.org", "ids": ids, "rows": 12, "claim": "CLM-000123"},
        )
    raw = stream.getvalue()
    for phi in ("123-45-6789", "jane@x.org", "123-4567"):
        assert phi not in raw
    record = json.loads(raw)
    assert record["message"] == "ingest row [REDACTED-EMAIL] failed"
    assert record["level"] == "ERROR"
    assert record["patient_email"] == "[REDACTED-EMAIL]"
    assert record["ids"] == ["[REDACTED-SSN]", 7]
    assert record["rows"] == 12
    assert record["claim"] == "CLM-000123"
    assert record["request_id"] is None
    assert record["customer_id"] is None
    assert record["exc_info"].startswith("Traceback (most recent call last):")
    assert record["exc_info"].endswith("RuntimeError: lookup failed for [REDACTED-PHONE]")
    assert ids == ["123-45-6789", 7]  # the caller's objects are not modified


def test_json_dict_message_keeps_its_shape(json_logger: tuple[logging.Logger, StringIO]) -> None:
    logger, stream = json_logger
    logger.info({"event": "upload.rejected", "contact": "jane@x.org", "rows": 3, "codes": ["99213"]})
    record = json.loads(stream.getvalue())
    assert record["event"] == "upload.rejected"
    assert record["contact"] == "[REDACTED-EMAIL]"
    assert record["rows"] == 3
    assert record["codes"] == ["99213"]
    assert "jane@x.org" not in stream.getvalue()
