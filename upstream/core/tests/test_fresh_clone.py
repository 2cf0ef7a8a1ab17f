"""`make run` on a fresh clone: installs, starts embedded PostgreSQL, migrates, seeds and serves the API."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.integration
def test_make_run_on_fresh_clone_serves_health_and_demo_login(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE", "CI"}
    }
    port = _free_port()
    log = (tmp_path / "run.log").open("w")
    proc = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=clone,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        health = None
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = requests.get(f"{base}/api/v1/health/", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(1)
        output = (tmp_path / "run.log").read_text()
        assert health is not None, f"make run never served (exit {proc.poll()}):\n{output[-3000:]}"
        assert health.status_code == 200
        assert health.json()["checks"]["database"]["status"] == "ok"
        assert "analyst@demo.upstream.local" in output  # credentials printed
        login = requests.post(
            f"{base}/api/v1/auth/token/",
            timeout=10,
            json={"email": "analyst@demo.upstream.local", "password": "Demo-Analyst-2026!"},
        )
        assert login.status_code == 200, login.text
        assert login.json()["customer"]["slug"] == "demo-clinic"
        assert requests.get(f"{base}/api/docs/", timeout=5).status_code == 200
        assert (clone / ".pgdata" / "PG_VERSION").exists()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        subprocess.run(["make", "stop-db"], cwd=clone, env=env, capture_output=True, timeout=120)
        log.close()
