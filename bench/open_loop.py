"""Open-loop load (`python -m bench load --open-loop`): readers autosave at a realistic rate, Poisson arrivals, while
the padded scans of every page they move to are downloaded alongside; p50/p99 per offered rate and the capacity.

Each of `--readers` readers starts (welcome form), then autosaves its current task at exponentially distributed
intervals (mean `readers / rate` seconds, so that all together offer `rate` saves per second), moving to its next task
page every `--saves-per-page` saves (after the fourth task it goes back to the first and changes its answers, as
readers may), and each page's scans are then downloaded by a pool of `--delivery-threads` "browsers" with Chromium's
Accept-Encoding (zstd: the padded copies). Latency is measured from the moment a save was due, not from when it was
sent: a reader whose previous save is still waiting sends late, and that wait counts (no coordinated omission);
saves still due `OVERRUN_SECONDS` after a step's end are not sent but counted (unsent: the server was saturated).

The rates of `--rates` are offered one after the other for `--step-seconds` each; the headline is the rate of one
save every `--interval` seconds per reader (2 s: 100 saves/s at 200 readers), the capacity the highest offered rate
with p99 < 100 ms. Then the headline rate once more, with a gunicorn worker SIGKILLed half-way; a save that fails
is sent once more after 0.2 s, as a reader would. Afterwards every acknowledged save is checked in the database
(`bench.load.verify`).
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import CONNECTION_ERRORS, SLUG, percentile, save_payload, stored_value, verify
from bench.platform_server import (
    Client,
    Gunicorn,
    free_port,
    platform_environment,
    set_up_study,
    start_reader,
    task_page_data,
)

CHROMIUM_ACCEPT = "gzip, deflate, br, zstd"
CAPACITY_P99_MS = 100.0
TASKS = 4
OVERRUN_SECONDS = 5.0
"""How long after a step's end its readers may still send saves that were due during it."""


@dataclass
class Step:
    """What one offered rate produced."""

    rate: float
    seconds: float
    interval: float
    """Mean seconds between one reader's saves."""
    save_ms: list[float] = field(default_factory=list)
    acknowledged: int = 0
    late: int = 0
    unsent: int = 0
    """Saves still due when the step's time was over by `OVERRUN_SECONDS` (the server could not keep up)."""
    errors: dict[str, int] = field(default_factory=dict)
    retried_ok: int = 0
    delivery_ms: list[float] = field(default_factory=list)
    delivery_bytes: int = 0
    delivery_lengths: set[int] = field(default_factory=set)
    killed: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1


@dataclass
class Reader:
    """One simulated reader: its session, the task page it is on and every save it sent."""

    token: str
    number: int
    client: Client
    task: dict = field(default_factory=dict)
    csrf: str = ""
    names: list[str] = field(default_factory=list)
    position: int = 0
    saves_here: int = 0
    sent: int = 0
    record: dict = field(default_factory=lambda: {"acked": [], "unacked": []})


def start_readers(base: str, tokens: list[str]) -> list[Reader]:
    """Open each invitation and press Start (not measured); the readers on their first task page."""
    readers = []
    for number, token in enumerate(tokens):
        reader = Reader(token, number, Client(base, timeout=120))
        status, page = start_reader(reader.client, token)
        if status != 200:
            raise RuntimeError(f"reader {number}: first task page answered {status}")
        reader.task, reader.csrf, reader.names = task_page_data(page)
        readers.append(reader)
    return readers


class Delivery:
    """`threads` downloaders of the scans of pages readers move to, as their browsers fetch them (zstd)."""

    def __init__(self, base: str, threads: int):
        self.host, port = base.rsplit("/", 1)[-1].split(":")
        self.port = int(port)
        self.urls: queue.Queue = queue.Queue()
        self.step: Step | None = None
        self.threads = [threading.Thread(target=self._work, daemon=True) for _ in range(threads)]
        for thread in self.threads:
            thread.start()

    def _work(self) -> None:
        while True:
            url = self.urls.get()
            if url is None:
                return
            step = self.step
            start = time.perf_counter()
            try:
                connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
                connection.request("GET", url, headers={"Accept-Encoding": CHROMIUM_ACCEPT})
                response = connection.getresponse()
                body = response.read()
                connection.close()
            except (OSError, http.client.HTTPException) as error:
                if step:
                    step.error(f"scan: {type(error).__name__}")
                continue
            if step is None:
                continue
            if response.status != 200 or response.getheader("Content-Encoding") != "zstd":
                step.error(f"scan: HTTP {response.status} {response.getheader('Content-Encoding')}")
                continue
            with step.lock:
                step.delivery_ms.append((time.perf_counter() - start) * 1000)
                step.delivery_bytes += len(body)
                step.delivery_lengths.add(len(body))

    def close(self) -> None:
        """Drop the downloads still queued (the readers have stopped) and stop the downloaders."""
        self.step = None
        while True:
            try:
                self.urls.get_nowait()
            except queue.Empty:
                break
        for _ in self.threads:
            self.urls.put(None)
        for thread in self.threads:
            thread.join(timeout=150)


def save_once(reader: Reader, payload: dict, step: Step) -> str:
    """POST one autosave: 'acked', 'failed' (connection error or 5xx) or 'refused' (4xx)."""
    try:
        status, _, body = reader.client.post_json(f"/r/{reader.token}/answer", payload, reader.csrf)
    except CONNECTION_ERRORS as error:
        step.error(f"connection: {type(error).__name__}")
        return "failed"
    if status == 200 and json.loads(body).get("saved"):
        return "acked"
    step.error(f"HTTP {status}")
    return "failed" if status >= 500 else "refused"


def next_page(reader: Reader, delivery: Delivery, step: Step) -> None:
    """Move the reader to its next task page (the first after the last) and queue that page's scans for download."""
    position = (reader.position + 1) % TASKS
    for _ in (1, 2):  # a reader reloads once
        try:
            status, _, page = reader.client.get(f"/r/{reader.token}/task/{position + 1}/")
            break
        except CONNECTION_ERRORS as error:
            step.error(f"page: {type(error).__name__}")
    else:
        return
    if status != 200:
        step.error(f"page: HTTP {status}")
        return
    reader.task, reader.csrf, reader.names = task_page_data(page)
    reader.position, reader.saves_here = position, 0
    for name in reader.names:
        delivery.urls.put(f"/r/{reader.token}/scan/{name}.nii")


def run_reader(reader: Reader, step: Step, end: float, saves_per_page: int, delivery: Delivery, seed: int) -> None:
    """The reader's saves during one step, each due at its Poisson arrival time."""
    arrivals = random.Random(seed)
    mean = step.interval
    due = time.monotonic() + arrivals.expovariate(1 / mean)
    while due < end:
        if time.monotonic() > end + OVERRUN_SECONDS:
            with step.lock:
                step.unsent += 1
            due += arrivals.expovariate(1 / mean)
            continue
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        elif wait < -0.01:
            with step.lock:
                step.late += 1
        payload = save_payload(reader.task, reader.names, reader.number, reader.sent)
        reader.sent += 1
        for attempt in (1, 2):
            outcome = save_once(reader, payload, step)
            if outcome == "acked":
                done = time.monotonic()
                reader.record["acked"].append([reader.position, stored_value(payload)])
                with step.lock:
                    step.save_ms.append((done - due) * 1000)
                    step.acknowledged += 1
                    step.retried_ok += attempt == 2
                break
            reader.record["unacked"].append([reader.position, stored_value(payload)])
            if outcome == "refused":
                break
            time.sleep(0.2)
        reader.saves_here += 1
        if reader.saves_here >= saves_per_page:
            next_page(reader, delivery, step)
        due += arrivals.expovariate(1 / mean)


def offer(
    readers: list[Reader],
    rate: float,
    seconds: float,
    saves_per_page: int,
    delivery: Delivery,
    server: Gunicorn | None = None,
) -> Step:
    """Offer `rate` saves per second for `seconds` (SIGKILLing a worker of `server` half-way, if given)."""
    step = Step(rate, seconds, len(readers) / rate)
    delivery.step = step
    end = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=run_reader,
            args=(reader, step, end, saves_per_page, delivery, hash((rate, reader.number, server is None))),
            daemon=True,
        )
        for reader in readers
    ]
    for thread in threads:
        thread.start()
    if server is not None:
        time.sleep(seconds / 2)
        before = server.worker_pids()
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        moment = time.monotonic()
        replaced = float("nan")
        while time.monotonic() - moment < 30:
            now = server.worker_pids()
            if victim not in now and len(now) == len(before):
                replaced = time.monotonic() - moment
                break
            time.sleep(0.01)
        step.killed = f"worker {victim} SIGKILLed at {seconds / 2:.0f} s, replaced after {replaced:.2f} s"
    for thread in threads:
        thread.join(timeout=seconds + 150)
    stuck = sum(thread.is_alive() for thread in threads)
    if stuck:
        step.error(f"reader threads still waiting at the end: {stuck}")
    return step


def run_open_loop(database: str, database_url: str | None, args, bundle: Path, work: Path) -> dict:
    """Fresh platform, the rate sweep, the SIGKILL step, the database check: everything the table needs."""
    port = free_port()
    env = platform_environment(work / "data", port, database_url)
    tokens = set_up_study(env, bundle, SLUG, args.readers)
    headline = args.readers / args.interval
    rates = sorted({*args.rates, headline})
    with Gunicorn(env, port, workers=args.workers, logs=work / "logs") as server:
        readers = start_readers(server.url, tokens)
        delivery = Delivery(server.url, args.delivery_threads)
        steps = [offer(readers, rate, args.step_seconds, args.saves_per_page, delivery) for rate in rates]
        killed = (
            None if args.no_kill else offer(readers, headline, args.step_seconds, args.saves_per_page, delivery, server)
        )
        delivery.close()
        statuses = server.access_statuses()
    check = verify(env, {reader.token: reader.record for reader in readers}, work)
    return {
        "database": database,
        "steps": steps,
        "killed": killed,
        "check": check,
        "statuses": statuses,
        "headline": headline,
    }


def table(results: list[dict], args, skipped: list[str]) -> str:
    """The open-loop table: one row per database and offered rate, then capacity and the SIGKILL step."""
    lines = [
        f"Open loop: {args.readers} readers, Poisson autosaves ({args.step_seconds:g} s per offered rate), a page move "
        f"every {args.saves_per_page} saves with its scans downloaded alongside (zstd, padded; {args.delivery_threads} "
        f"downloaders); gunicorn {args.workers} sync workers on 127.0.0.1, {os.cpu_count()} CPUs shared with the "
        "client; latency from the moment each save was due",
        f"{'database':<11} {'offered/s':>9} {'per reader':>10} {'acked/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'late':>5} {'unsent':>6} {'errors':>6} {'scans':>6} {'scan MB/s':>9} {'scan p50 ms':>11} "
        f"{'scan sizes':>10}",
    ]

    def row(database: str, step: Step, label: str = "") -> str:
        sizes = len(step.delivery_lengths)
        return (
            f"{database:<11} {step.rate:>9.0f} {step.interval:>9.2f}s {step.acknowledged / step.seconds:>7.0f} "
            f"{percentile(step.save_ms, 0.5):>7.0f} {percentile(step.save_ms, 0.99):>7.0f} "
            f"{max(step.save_ms, default=float('nan')):>7.0f} {step.late:>5} {step.unsent:>6} "
            f"{sum(step.errors.values()):>6} "
            f"{len(step.delivery_ms):>6} {step.delivery_bytes / step.seconds / 1e6:>9.1f} "
            f"{percentile(step.delivery_ms, 0.5):>11.0f} {('one' if sizes == 1 else sizes):>10}{label}"
        )

    for result in results:
        for step in result["steps"]:
            mark = "  ← headline" if step.rate == result["headline"] else ""
            lines.append(row(result["database"], step, mark))
        if result["killed"]:
            lines.append(row(result["database"], result["killed"], "  ← worker SIGKILLed half-way"))
    lines.append(
        "late = saves sent more than 10 ms after they were due (the reader's previous save was still waiting); "
        f"unsent = saves still due {OVERRUN_SECONDS:g} s after the step ended, not sent (the server was saturated); "
        "scan sizes = distinct byte lengths of the scans downloaded (one: padded delivery)."
    )
    for result in results:
        good = [
            step.rate
            for step in result["steps"]
            if percentile(step.save_ms, 0.99) < CAPACITY_P99_MS and not step.unsent and not step.errors
        ]
        tested = [step.rate for step in result["steps"]]
        if not good:
            capacity = f"below {min(tested):.0f} saves/s"
        elif max(good) == max(tested):
            capacity = f"at least {max(good):.0f} saves/s (the highest offered)"
        else:
            capacity = f"{max(good):.0f} saves/s"
        c = result["check"]
        lost = c["missing_in_audit"] + c["wrong_final"]
        notes = [f"capacity (p99 < {CAPACITY_P99_MS:.0f} ms, nothing unsent, no errors): {capacity}"]
        errors = {}
        for step in [*result["steps"], *([result["killed"]] if result["killed"] else [])]:
            for kind, count in step.errors.items():
                errors[kind] = errors.get(kind, 0) + count
        if errors:
            notes.append("errors: " + ", ".join(f"{kind} ×{n}" for kind, n in sorted(errors.items())))
        if result["killed"]:
            notes.append(f"{result['killed'].killed}; retried and acknowledged: {result['killed'].retried_ok}")
        server_errors = {s: n for s, n in result["statuses"].items() if s.startswith("5")}
        notes.append(f"server log 5xx: {server_errors or 0}")
        notes.append(f"database: {c['acked']} acknowledged saves checked, {lost} lost")
        lines.append(f"  {result['database']}: " + "; ".join(notes))
        for example in c["examples"]:
            lines.append(f"    LOST: {example}")
    lines += [f"  {line}" for line in skipped]
    return "\n".join(lines)
