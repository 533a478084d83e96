"""The console over real HTTP: pages, actions through the CLI's code, escaping, no secrets, limits."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.support import memory_plugin
from tests.support.processes import wait_for
from tests.web.conftest import RunningConsole, start_console
from zaplite.testing import ZapliteProject

XSS = ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>']


def _wait(check: Any, timeout: float = 20.0) -> Any:
    return wait_for(check, timeout=timeout, interval=0.05)


def _metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text, 0 when it is absent."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_the_zaps_page_lists_every_zap_with_its_state(
    project: ZapliteProject, service: memory_plugin.MemoryService, console: RunningConsole
) -> None:
    project.add_zap(memory_plugin.memory_zap("off", enabled=False))
    for i in range(3):
        service.add(name=f"n{i}")
    project.run_once("z")
    project.store.pause("gone", "paused by a daemon with other zap files")
    page = console.client.get("/")
    assert page.status_code == 200
    html = page.text
    rows = dict(re.findall(r'data-zap="([^"]+)">(.*?)</tr>', html, flags=re.S))
    assert set(rows) >= {"z", "gone"}
    assert 'class="badge on"' in rows["z"] and "3 delivered" in rows["z"]
    assert "<svg" in rows["z"] and "3 delivered in the last 24 hours" in rows["z"]
    assert "paused by a daemon with other zap files" in rows["gone"]
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    partial = console.client.get("/", headers={"X-Zaplite-Partial": "1"}).text
    assert partial.lstrip().startswith('<table class="zaps" id="zaps">')


def test_values_from_records_and_services_are_shown_as_text(
    project: ZapliteProject, service: memory_plugin.MemoryService, console: RunningConsole
) -> None:
    for text in XSS:
        service.add(name=text)
    service.send_faults.append(
        memory_plugin.PermanentError('refused "><img src=x onerror=alert(2)>')
    )
    project.run_once("z")
    pages = [console.client.get("/zaps/z").text, console.client.get("/").text]
    pages += [console.client.get(f"/tasks/{task.id}").text for task in project.tasks()]
    for html in pages:
        assert "<script>alert" not in html and "<img src=x" not in html
    joined = "".join(pages)
    assert "&lt;script&gt;alert(" in joined
    assert "&lt;img src=x onerror=alert(1)&gt;" in joined
    assert "refused &#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in joined  # the service's error
    assert joined.count('<script src="/static/console.js" defer></script>') == len(pages)


def test_a_task_shows_its_steps_request_and_response_and_masks_secrets(
    project: ZapliteProject, service: memory_plugin.MemoryService
) -> None:
    service.add(name="s3cret-memory-token")  # a service echoing a secret back
    project.add_zap(
        memory_plugin.memory_zap(
            "z",
            steps=[
                {
                    "id": "out",
                    "app": "memory",
                    "action": "send_batch",
                    "params": {"to": "{{trigger.name}}"},
                }
            ],
        )
    )
    project.run_once("z")
    [task] = project.tasks()
    console = start_console(project)
    try:
        html = console.client.get(f"/tasks/{task.id}").text
        connections = console.client.get("/connections").text
    finally:
        console.stop()
    assert "s3cret-memory-token" not in html and "****" in html
    assert "memory://sink" in html  # the request, from the action's preview
    assert "position" in html  # the response
    assert "s3cret-memory-token" not in connections and "token</span> ****" in connections
    assert "token from file" in connections  # where the secret comes from, not its value


def test_metrics_count_what_this_process_delivered(
    project: ZapliteProject, service: memory_plugin.MemoryService, console: RunningConsole
) -> None:
    for i in range(7):
        service.add(name=f"n{i}")
    assert console.post("/zaps/z/run").status_code == 303
    _wait(lambda: len(service.received) == 7)

    def finished() -> str | None:
        text = console.client.get("/metrics").text
        return text if _metric(text, "zaplite_runs_total", zap="z", outcome="ok") else None

    text = _wait(finished)
    assert _metric(text, "zaplite_tasks_total", zap="z", status="success") == 7
    assert _metric(text, "zaplite_poll_duration_seconds_count") == 1
    assert _metric(text, "zaplite_zap_paused", zap="z") == 0
    assert _metric(text, "zaplite_last_success_timestamp_seconds", zap="z") > time.time() - 60
    assert "zaplite_delivery_lag_seconds_bucket" in text


def test_pause_resume_and_replay_go_through_the_clis_code(
    project: ZapliteProject, service: memory_plugin.MemoryService, console: RunningConsole
) -> None:
    response = console.post("/zaps/z/pause", back="/zaps/z?status=failed")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/zaps/z?status=failed&done=z%3A+paused")
    history = project.cli("history", "--zap", "z")
    assert "z is paused: paused by hand (from the console)" in history.stdout
    assert project.run_once("z")[0].status == "paused"
    assert console.post("/zaps/z/resume").status_code == 303
    assert project.store.get_status("z").paused_reason is None
    # A task that failed is replayed after its cause is fixed.
    service.add(name="later")
    service.send_faults.append(memory_plugin.PermanentError("the sink is full"))
    project.run_once("z")
    [failed] = project.tasks(status="failed")
    page = console.client.get("/zaps/z").text
    assert "Replay failed tasks" in page and "the sink is full" in page
    done = console.post(f"/tasks/{failed.id}/replay", back=f"/tasks/{failed.id}")
    assert f"task+{failed.id}%3A+success" in done.headers["location"]
    assert project.store.get_task(failed.id).status == "success"
    assert project.store.get_task(failed.id).attempts == 2


def test_replay_of_every_failed_task_of_a_zap(
    project: ZapliteProject, service: memory_plugin.MemoryService, console: RunningConsole
) -> None:
    for i in range(3):
        service.add(name=f"n{i}")
    service.send_faults.extend(memory_plugin.PermanentError("full") for _ in range(3))
    project.run_once("z")
    assert len(project.tasks(status="failed")) == 3
    response = console.post("/zaps/z/replay-failed")
    assert "replaying+3+failed" in response.headers["location"]
    _wait(lambda: not project.tasks(status="failed"))


def test_state_changes_need_post_and_the_csrf_token(
    project: ZapliteProject, console: RunningConsole
) -> None:
    assert console.client.get("/zaps/z/pause").status_code == 405
    refused = console.client.post("/zaps/z/pause", data={"csrf": "forged"})
    assert refused.status_code == 403
    cross_site = console.client.post(
        "/zaps/z/pause", data={"csrf": console.csrf()}, headers={"Origin": "http://evil.example"}
    )
    assert cross_site.status_code == 403
    assert project.store.get_status("z").paused_reason is None
    away = console.post("/zaps/z/pause", back="//evil.example/x")
    assert away.headers["location"].startswith("/zaps/z?")


def test_task_pages_go_by_keyset(
    project: ZapliteProject, service: memory_plugin.MemoryService, console: RunningConsole
) -> None:
    for i in range(120):
        service.add(name=f"n{i}")
    project.add_zap(memory_plugin.memory_zap("z", trigger={"params": {"page_size": 60}}))
    project.run_once("z")
    ids = sorted(t.id for t in project.tasks())
    first = console.client.get("/zaps/z").text
    shown = [int(i) for i in re.findall(r'<a href="/tasks/(\d+)">', first)]
    assert shown == ids[::-1][:50]
    older = re.search(r'href="/zaps/z\?status=&amp;before=(\d+)"', first)
    assert older and int(older.group(1)) == shown[-1]
    second = console.client.get(f"/zaps/z?before={older.group(1)}").text
    assert [int(i) for i in re.findall(r'<a href="/tasks/(\d+)">', second)] == ids[::-1][50:100]
    newer = re.search(r'href="/zaps/z\?status=&amp;after=(\d+)"', second)
    assert newer
    back = console.client.get(f"/zaps/z?after={newer.group(1)}").text
    assert [int(i) for i in re.findall(r'<a href="/tasks/(\d+)">', back)] == shown
    found = console.client.get("/zaps/z", params={"record": "r7"}).text
    assert re.findall(r"<td class=\"key\">([^<]+)</td>", found) == ["r7"]
    assert console.client.get("/zaps/z?before=abc").status_code == 400
    assert console.client.get("/zaps/nope").status_code == 404


def test_query_strings_and_bodies_have_limits(console: RunningConsole) -> None:
    assert console.client.get("/", params={"after": "x" * 5000}).status_code == 414
    big = console.client.post("/zaps/z/pause", content=b"csrf=" + b"x" * 100_000)
    assert big.status_code == 413


@pytest.fixture
def guarded(project: ZapliteProject) -> Any:
    running = start_console(project, token="t0ken-for-the-console-1234")
    yield running
    running.stop()


def test_with_a_token_every_page_needs_it_but_the_probes(guarded: RunningConsole) -> None:
    client = guarded.client
    for path in ("/", "/zaps/z", "/connections", "/metrics"):
        assert client.get(path).status_code == 401, path
    assert client.get("/", headers={"Accept": "text/html"}).headers["location"] == "/login"
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    bearer = {"Authorization": "Bearer t0ken-for-the-console-1234"}
    assert client.get("/metrics", headers=bearer).status_code == 200
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    login = client.get("/login")
    assert login.status_code == 200 and "t0ken-for-the-console" not in login.text
    wrong = guarded.client.post("/login", data={"csrf": guarded.csrf(), "token": "nope"})
    assert wrong.status_code == 401
    signed_in = guarded.client.post(
        "/login", data={"csrf": guarded.csrf(), "token": "t0ken-for-the-console-1234"}
    )
    assert signed_in.status_code == 303
    assert "t0ken-for-the-console-1234" not in str(signed_in.headers)
    assert client.get("/").status_code == 200  # the session cookie
