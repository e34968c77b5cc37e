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
import sys
import threading
import time
from contextlib import contextmanager
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
from deploy.nginx import Nginx
from deploy.probe import delivery_problems_after

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
    load: float = float("nan")
    """The 1-minute load average when the step ended (the machine is shared)."""
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
        reader = Reader(token, number, Client(base, timeout=120, keep_alive=True))
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
    disrupt=None,
) -> Step:
    """Offer `rate` saves per second for `seconds`; `disrupt(seconds)`, if given, runs meanwhile (from half-way) and
    returns what it did."""
    step = Step(rate, seconds, len(readers) / rate)
    delivery.step = step
    end = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=run_reader,
            args=(reader, step, end, saves_per_page, delivery, hash((rate, reader.number, disrupt is None))),
            daemon=True,
        )
        for reader in readers
    ]
    for thread in threads:
        thread.start()
    if disrupt is not None:
        time.sleep(seconds / 2)
        step.killed = disrupt(seconds)
    for thread in threads:
        thread.join(timeout=seconds + 150)
    stuck = sum(thread.is_alive() for thread in threads)
    if stuck:
        step.error(f"reader threads still waiting at the end: {stuck}")
    step.load = os.getloadavg()[0]
    return step


def kill_worker(server: Gunicorn, label: str = "") -> str:
    """SIGKILL the longest-serving worker of `server`; say when its master replaced it."""
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
    return f"{label}worker {victim} SIGKILLed, replaced after {replaced:.2f} s"


@dataclass
class Site:
    """How one serving set-up is reached and disrupted: its URL, its gunicorn masters, its nginx (or None)."""

    url: str
    hosts: list[Gunicorn]
    nginx: Nginx | None = None

    def disrupt(self, seconds: float) -> str:
        """SIGKILL a worker half-way; behind nginx also reload nginx a quarter of the step later."""
        done = [kill_worker(self.hosts[0], "host 1: " if self.nginx else "") + f" at {seconds / 2:.0f} s"]
        if self.nginx is not None:
            time.sleep(seconds / 4)
            self.nginx.reload()
            done.append(f"nginx reloaded at {3 * seconds / 4:.0f} s")
        return "; ".join(done)

    def statuses(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for host in self.hosts:
            for status, count in host.access_statuses().items():
                counts[status] = counts.get(status, 0) + count
        return counts


SERVINGS = {
    "gunicorn": "gunicorn alone: {workers} sync workers stream scans and take saves (before nginx)",
    "nginx": "nginx + 2 gunicorn hosts × {host_workers} gthread workers × {threads} threads, scans by X-Accel",
}


@contextmanager
def serving(kind: str, env: dict[str, str], args, work: Path, static_root: Path):
    """The platform served one way: gunicorn alone (sync workers, the old way), or nginx in front of two gunicorn
    processes on two ports standing in for two app hosts (deploy/), checked by the start-up probe."""
    if kind == "gunicorn":
        port = int(env["PLATFORM_BASE_URL"].rsplit(":", 1)[1])
        with Gunicorn(env, port, workers=args.workers, logs=work / "logs") as server:
            yield Site(server.url, [server])
        return
    ports = [free_port(), free_port()]
    hosts = [
        Gunicorn(env, port, workers=args.host_workers, logs=work / f"logs-{n}", threads=args.threads)
        for n, port in enumerate(ports, start=1)
    ]
    proxy = Nginx(
        work / "nginx",
        int(env["PLATFORM_BASE_URL"].rsplit(":", 1)[1]),
        [f"127.0.0.1:{port}" for port in ports],
        static_root,
        Path(env["PLATFORM_DATA_DIR"]),
    )
    with hosts[0], hosts[1], proxy:
        problems = delivery_problems_after(proxy.url, 60)
        if problems:
            sys.exit("bench load: nginx is not serving as deployed: " + " | ".join(problems))
        yield Site(proxy.url, hosts, proxy)


def run_open_loop(database: str, database_url: str | None, kind: str, args, bundle: Path, work: Path, static: Path):
    """Fresh platform served as `kind`, the rate sweep, the disrupted step, the database check: what the table needs."""
    port = free_port()
    env = platform_environment(work / "data", port, database_url)
    env["DJANGO_STATIC_ROOT"] = str(static)
    if kind == "nginx":
        env["PLATFORM_X_ACCEL"] = "true"
    tokens = set_up_study(env, bundle, SLUG, args.readers)
    headline = args.readers / args.interval
    rates = sorted({*args.rates, headline})
    with serving(kind, env, args, work, static) as site:
        readers = start_readers(site.url, tokens)
        delivery = Delivery(site.url, args.delivery_threads)
        steps = [offer(readers, rate, args.step_seconds, args.saves_per_page, delivery) for rate in rates]
        killed = (
            None
            if args.no_kill
            else offer(readers, headline, args.step_seconds, args.saves_per_page, delivery, site.disrupt)
        )
        delivery.close()
        statuses = site.statuses()
    check = verify(env, {reader.token: reader.record for reader in readers}, work)
    return {
        "database": database,
        "serving": kind,
        "steps": steps,
        "killed": killed,
        "check": check,
        "statuses": statuses,
        "headline": headline,
    }


def capacity(result: dict) -> float:
    """The highest offered rate with p99 < CAPACITY_P99_MS, nothing unsent and no errors (0: none)."""
    good = [
        step.rate
        for step in result["steps"]
        if percentile(step.save_ms, 0.99) < CAPACITY_P99_MS and not step.unsent and not step.errors
    ]
    return max(good, default=0.0)


def table(results: list[dict], args, skipped: list[str]) -> str:
    """The open-loop table: one row per database, serving and offered rate; then capacity, the disrupted step and
    the new serving's capacity and headline p99 as ratios to the old one's, measured in the same run."""
    lines = [
        f"Open loop: {args.readers} readers, Poisson autosaves ({args.step_seconds:g} s per offered rate), a page move "
        f"every {args.saves_per_page} saves with its scans downloaded alongside (zstd, padded; {args.delivery_threads} "
        f"downloaders); {os.cpu_count()} CPUs shared with the client (and, here, with other users: see load); "
        "latency from the moment each save was due",
        *(f"  {kind}: {text.format(**vars(args))}" for kind, text in SERVINGS.items() if kind in args.serving),
        f"{'database':<11} {'serving':<9} {'offered/s':>9} {'acked/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'late':>5} {'unsent':>6} {'errors':>6} {'scans':>6} {'scan MB/s':>9} {'scan p50 ms':>11} "
        f"{'scan sizes':>10} {'load':>5}",
    ]

    def row(result: dict, step: Step, label: str = "") -> str:
        sizes = len(step.delivery_lengths)
        return (
            f"{result['database']:<11} {result['serving']:<9} {step.rate:>9.0f} "
            f"{step.acknowledged / step.seconds:>7.0f} "
            f"{percentile(step.save_ms, 0.5):>7.0f} {percentile(step.save_ms, 0.99):>7.0f} "
            f"{max(step.save_ms, default=float('nan')):>7.0f} {step.late:>5} {step.unsent:>6} "
            f"{sum(step.errors.values()):>6} "
            f"{len(step.delivery_ms):>6} {step.delivery_bytes / step.seconds / 1e6:>9.1f} "
            f"{percentile(step.delivery_ms, 0.5):>11.0f} {('one' if sizes == 1 else sizes):>10} "
            f"{step.load:>5.1f}{label}"
        )

    for result in results:
        for step in result["steps"]:
            mark = "  ← headline" if step.rate == result["headline"] else ""
            lines.append(row(result, step, mark))
        if result["killed"]:
            lines.append(row(result, result["killed"], "  ← disrupted (below)"))
    lines.append(
        "late = saves sent more than 10 ms after they were due (the reader's previous save was still waiting); "
        f"unsent = saves still due {OVERRUN_SECONDS:g} s after the step ended, not sent (the server was saturated); "
        "scan sizes = distinct byte lengths of the scans downloaded (one: padded delivery); load = 1-minute load "
        "average at the step's end."
    )
    tested = sorted({step.rate for result in results for step in result["steps"]})
    for result in results:
        found = capacity(result)
        if not found:
            text = f"below {min(tested):.0f} saves/s"
        elif found == max(tested):
            text = f"at least {found:.0f} saves/s (the highest offered)"
        else:
            text = f"{found:.0f} saves/s"
        c = result["check"]
        lost = c["missing_in_audit"] + c["wrong_final"]
        notes = [f"capacity (p99 < {CAPACITY_P99_MS:.0f} ms, nothing unsent, no errors): {text}"]
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
        lines.append(f"  {result['database']} / {result['serving']}: " + "; ".join(notes))
        for example in c["examples"]:
            lines.append(f"    LOST: {example}")
    for database in dict.fromkeys(result["database"] for result in results):
        pair = {result["serving"]: result for result in results if result["database"] == database}
        if {"gunicorn", "nginx"} <= set(pair):
            old, new = pair["gunicorn"], pair["nginx"]
            headline = [
                percentile(next(s for s in r["steps"] if s.rate == r["headline"]).save_ms, 0.99) for r in (old, new)
            ]
            ratio = f"{capacity(new) / capacity(old):.0f}×" if capacity(old) else "(old: none)"
            lines.append(
                f"  {database}: nginx + 2 hosts against gunicorn alone, same run: capacity {capacity(new):.0f} against "
                f"{capacity(old):.0f} saves/s ({ratio}); p99 at the headline rate {headline[1]:.0f} ms against "
                f"{headline[0]:.0f} ms ({headline[0] / headline[1]:.1f}× lower)"
            )
    lines += [f"  {line}" for line in skipped]
    return "\n".join(lines)
