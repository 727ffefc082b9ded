"""Killing the bot in the middle of a fan-out loses nothing and repeats nothing that was recorded as sent."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import text

from bot.bootstrap import build_app
from bot.settings import Settings
from dialogue.directory_import import import_directory
from dialogue.events import Command, Identity
from dialogue.programme import load_programme
from storage import SqlStore

RECIPIENTS = 400
SECRET = "crash-test-secret-key-0123456789"
WORKER_CONCURRENCY = 16  # bot.bootstrap's default: at most this many messages are in flight at a kill
PULSE = {
    "pulse": [
        {
            "name": "Crash pulse",
            "question": [{"kind": "scale", "text": "How was your week?"}],
        }
    ]
}
SENT_TO = re.compile(r"^-> (p\d+): ", re.MULTILINE)


def _env(url: str, data_dir: Path, lease: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "NEXTPRACTICE_DATA_DIR": str(data_dir),
        "NEXTPRACTICE_SECRET_KEY": SECRET,
        "NEXTPRACTICE_DELIVERY_LEASE_SECONDS": str(lease),
        "PORT": "0",  # any free port for the health check
        "PYTHONUNBUFFERED": "1",  # a line printed is a line sent: nothing waits in a buffer at the kill
    }


async def _enqueue_fan_out(url: str, data_dir: Path) -> None:
    """A manager sends a pulse to RECIPIENTS people; the bot only writes the outbox here."""
    settings = Settings(data_dir=data_dir, secret_key=SECRET.encode(), database_url=url)
    app = await build_app(settings)
    try:
        rows = [{"handle": "boss", "name": "The Boss", "roles": "manager", "team": "Head Office"}]
        rows += [
            {"handle": f"p{i}", "name": f"Person {i}", "team": f"Team {i % 20}"} for i in range(RECIPIENTS)
        ]
        assert not (await import_directory(app.store, rows)).errors
        await load_programme(app.store, PULSE)
        reply = await app.dialogue.handle(Command(Identity("console", "", "boss"), "pulse send Crash pulse"))
        assert "401" in reply.messages[0].fallback(), reply.messages[0].fallback()
    finally:
        await app.close()


async def _recorded_as_sent(url: str) -> set[str]:
    """Handles whose message the outbox records as sent."""
    store = SqlStore(url)
    try:
        async with store.engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT p.handle FROM deliveries d JOIN people p ON p.id = d.person_id"
                    " WHERE d.status = 'sent'"
                )
            )
            return {handle for (handle,) in rows}
    finally:
        await store.close()


def _serve(url: str, data_dir: Path, log: Path, lease: int) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:  # the child keeps its own copy of the file descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--console"],  # no platform: the console prints
            env=_env(url, data_dir, lease),
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _sent(log: Path) -> list[str]:
    return SENT_TO.findall(log.read_text(encoding="utf-8", errors="replace"))


def _wait_for(log: Path, count: int, process: subprocess.Popen[bytes], within: float) -> None:
    """Block until the log shows ``count`` messages sent (run in a thread)."""
    deadline = time.monotonic() + within
    while len(_sent(log)) < count:
        assert process.poll() is None, log.read_text(encoding="utf-8")
        assert time.monotonic() < deadline, f"only {len(_sent(log))} sent:\n{log.read_text(encoding='utf-8')}"
        time.sleep(0.02)


async def test_a_killed_fan_out_resumes_and_each_person_gets_one_message(
    database_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    await _enqueue_fan_out(database_url, data_dir)
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"

    first = _serve(database_url, data_dir, first_log, lease=2)
    await asyncio.to_thread(_wait_for, first_log, 60, first, 60)
    first.send_signal(signal.SIGKILL)
    first.wait()
    before_kill = _sent(first_log)
    assert len(before_kill) < RECIPIENTS, "the fan-out finished before the kill; the test proved nothing"
    recorded = await _recorded_as_sent(database_url)

    second = _serve(database_url, data_dir, second_log, lease=2)
    try:
        await asyncio.to_thread(_wait_for, second_log, RECIPIENTS - len(set(before_kill)), second, 90)
        await asyncio.sleep(0.5)  # anything sent twice would show up now
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0, second_log.read_text(encoding="utf-8")

    received = Counter(before_kill + _sent(second_log))
    assert set(received) == {f"p{i}" for i in range(RECIPIENTS)}
    twice = [handle for handle, n in received.items() if n > 1]
    # A message recorded as sent is never sent again; only one in flight at the kill can repeat.
    assert not set(twice) & recorded
    assert len(twice) <= WORKER_CONCURRENCY, twice
    print(f"killed after {len(before_kill)} of {RECIPIENTS}; {len(twice)} sent twice (in flight at the kill)")
    assert "Stopped." in second_log.read_text(encoding="utf-8")
