"""`bookshop serve`, the command the compose file runs for each web service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
from loopback_server import bound_socket

REPO = Path(__file__).resolve().parents[3]


def test_serve_runs_the_app_in_several_processes_with_json_logs(
    tmp_path: Path, redis_url: str
) -> None:
    env = {
        **os.environ,
        "CATALOGUE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'catalogue.db'}",
        "REDIS_URL": redis_url,
        "BOOKSHOP_LOG_FORMAT": "json",
    }
    bookshop = [sys.executable, "-m", "services.cli"]
    subprocess.run([*bookshop, "migrate", "catalogue"], cwd=REPO, env=env, check=True, timeout=120)
    with bound_socket() as sock:
        port = sock.getsockname()[1]
    log = tmp_path / "serve.log"
    server = subprocess.Popen(
        [*bookshop, "serve", "catalogue", "--port", str(port), "--workers", "2"],
        cwd=REPO,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        answer = None
        deadline = time.monotonic() + 60
        while answer is None and time.monotonic() < deadline:
            assert server.poll() is None, log.read_text()
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/health/catalogue", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
        assert answer is not None and answer.status_code == 200, log.read_text()
        assert answer.json()["status"] == "ok"
        # uvicorn's supervisor and one child per worker.
        assert len(psutil.Process(server.pid).children()) >= 2
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        assert any(line.get("service") == "catalogue" for line in lines), log.read_text()
    finally:
        server.terminate()
        server.wait(timeout=20)
