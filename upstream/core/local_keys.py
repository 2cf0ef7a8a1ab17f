"""Local development keys for PHI encryption, generated once into a git-ignored file.

Only used when ``PHI_ENCRYPTION_KEYS`` is unset outside production; production refuses to start without
explicit keys (see ``config.settings``).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path


def new_key_spec(key_id: str) -> str:
    """A ``<key id>:<base64 32-byte key>`` entry as ``PHI_ENCRYPTION_KEYS`` expects."""
    return f"{key_id}:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}"


def load_or_create_local_keys(path: Path) -> dict[str, str]:
    """Return ``{"phi_encryption_keys": ..., "phi_blind_index_key": ...}``, creating the file if missing."""
    if path.exists():
        data: dict[str, str] = json.loads(path.read_text())
        return data
    data = {
        "phi_encryption_keys": new_key_spec("local1"),
        "phi_blind_index_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    # Write to a private temporary file, then hard-link it into place: the link fails if another process
    # (web server and worker starting together) won the race, and then everyone uses the winner's keys.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    winner: dict[str, str] = json.loads(path.read_text())
    return winner
