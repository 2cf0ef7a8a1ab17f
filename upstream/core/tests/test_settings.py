"""Production refuses insecure defaults; local defaults need nothing configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SAFE = {
    "UPSTREAM_ENV": "production",
    "SECRET_KEY": "x" * 64,
    "DATABASE_URL": "postgres://upstream@db.internal:5432/upstream",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "PHI_ENCRYPTION_KEYS": "k1:" + "A" * 43 + "=",
    "PHI_BLIND_INDEX_KEY": "B" * 43 + "=",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.internal:587",
    "ALLOWED_HOSTS": "api.upstream.example",
}


def load_settings(**overrides: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in SAFE and k != "DEBUG"}
    for key, value in {**SAFE, **overrides}.items():
        if value is not None:
            env[key] = value
    code = (
        "import django; django.setup(); from django.conf import settings; print(settings.SECURE_SSL_REDIRECT)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
    )


def test_production_with_everything_set_starts() -> None:
    result = load_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_production_refuses_each_insecure_default() -> None:
    cases = {
        "SECRET_KEY": "SECRET_KEY must be set",
        "DATABASE_URL": "DATABASE_URL must be set",
        "REDIS_URL": "REDIS_URL must be set",
        "PHI_ENCRYPTION_KEYS": "PHI_ENCRYPTION_KEYS and PHI_BLIND_INDEX_KEY must be set",
        "EMAIL_URL": "EMAIL_URL must be set",
    }
    for missing, message in cases.items():
        result = load_settings(**{missing: None})
        assert result.returncode != 0, missing
        assert "Refusing to start in production" in result.stderr, missing
        assert message in result.stderr, (missing, result.stderr[-500:])
    assert "DEBUG must be off" in load_settings(DEBUG="true").stderr
    assert "ALLOWED_HOSTS must not contain '*'" in load_settings(ALLOWED_HOSTS="*").stderr
    all_missing = load_settings(SECRET_KEY=None, DATABASE_URL=None, REDIS_URL=None)
    assert all(m in all_missing.stderr for m in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL"))
