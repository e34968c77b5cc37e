"""Load: 200 simulated readers autosaving at once against gunicorn, on SQLite and PostgreSQL, then again while one
gunicorn worker is killed with SIGKILL midway; afterwards every acknowledged answer must be in the database.

Each reader has its own invitation (`manage.py invite_reader`) and behaves like the browser, with no pauses: opens
the link, presses Start (form with CSRF token), then for each of its 4 tasks loads the task page and autosaves
`--saves` answers the way autosave.js does (JSON POST with the page's X-CSRFToken and the session's cookies; a
recognition option with a note unique to that save, or a complete set of ranks). One thread per reader, all released
together; each reader makes a fixed number of requests, and no new request starts after `--deadline` seconds. A
save that fails (connection error or HTTP 5xx) is counted as an error and sent once more, as a reader would.

Baseline, measured in the same run on the same server: one reader alone autosaving `--idle-saves` times; the table
gives the 200-reader p50 and p99 as ratios to the lone reader's p50.

Afterwards a separate process reads the database through Django and checks every acknowledged save: its value is in
the audit trail (each save changes the answer, so each makes one AnswerChange), and each task's stored answer is the
last acknowledged one (or a later save that was sent but whose reply was lost). In the SIGKILL runs, a worker is
killed once half of the planned saves are acknowledged, at a moment when mostly autosaves are in flight; errors of
requests it was serving are expected, are counted, and nothing acknowledged may be missing.

PostgreSQL: a throwaway database (created and dropped) on the server of `--postgres URL`, else of $DATABASE_URL or
$TEST_POSTGRES_URL when they name PostgreSQL, else of postgres://medsyn:medsyn@127.0.0.1:5432/medsyn (what .ci/run
sets up); skipped, saying so, when none answers.
Run: `python -m bench load [--readers 200] [--workers 4] [--saves 2] [--postgres URL | --no-postgres] [--no-kill]
[--kills 1]`.

`--open-loop` measures instead at a realistic rate (`bench/open_loop.py`): Poisson autosaves, each reader every
`--interval` seconds on average (2), the offered rates of `--rates` one after the other (`--step-seconds` each),
p50/p99 from the moment each save was due, the capacity (highest offered rate with p99 < 100 ms), the padded scans of
each page downloaded alongside, a worker SIGKILLed half-way through a last step at the headline rate (behind nginx,
then nginx reloaded), and the same database check; each database served both ways in the same run: gunicorn alone
(`--workers` sync workers, as before) and as deployed (nginx in front of two gunicorn processes on two ports,
`--host-workers` gthread workers × `--threads` each, scans by X-Accel-Redirect). `python -m bench load --open-loop
[--interval 2] [--rates 25,50,100,200,400] [--step-seconds 20] [--saves-per-page 10] [--delivery-threads 4]
[--size 32] [--serving gunicorn,nginx] [--host-workers 2] [--threads 4]`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: `python bench/load.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.platform_server import (
    ROOT,
    Client,
    Gunicorn,
    ThrowawayDatabase,
    free_port,
    manage,
    platform_environment,
    postgres_server,
    set_up_study,
    start_reader,
    task_page_data,
)

SLUG = "bench-load"
OPTIONS = ("Consolidation", "Pleural effusion", "Cardiomegaly")
CONNECTION_ERRORS = (OSError, http.client.HTTPException)
"""What a request on a killed worker raises: reset or refused connections, a reply that stops before its status line."""


def make_bundle(folder: Path, size: int = 32) -> Path:
    """A `size`³ bundle like the platform tests' (32³ by default): 8 volumes, 2 recognition items and 2 ranking sets,
    so 4 tasks per reader.
    """
    from bench.synthetic import write_chest
    from studies.build import build_bundle

    (folder / "scans").mkdir(parents=True)
    tables = []
    for number in (1, 2):
        for i, source in enumerate(("real", "medsyn", "ha-gan", "medical-diffusion")):
            volume_id = f"{source}-{number}"
            write_chest(
                folder / f"scans/{volume_id}.nii.gz",
                (size, size, size),
                spacing=(256 / size,) * 3,
                noise_hu=20.0,
                seed=10 * number + i,
            )
            finding = '\nfinding = "Consolidation"' if number == 1 and i < 2 else ""
            tables.append(
                f'[[volume]]\nid = "{volume_id}"\nfile = "scans/{volume_id}.nii.gz"\nsource = "{source}"{finding}'
            )
    manifest = folder / "study.toml"
    manifest.write_text(
        f'[study]\ntitle = "Load benchmark"\nslug = "{SLUG}"\nseed = 7\nshape = [{size}, {size}, {size}]\n'
        f"spacing = {256 / size}\n\n" + "\n\n".join(tables) + '\n\n[recognition]\nvolumes = ["real-1", "medsyn-1"]\n\n'
        '[[ranking]]\nstructure = "lobes and fissures"\n'
        'volumes = ["real-1", "medsyn-1", "ha-gan-1", "medical-diffusion-1"]\n\n'
        '[[ranking]]\nstructure = "vessels"\nvolumes = ["real-2", "medsyn-2", "ha-gan-2", "medical-diffusion-2"]\n'
    )
    return build_bundle(manifest, folder / "bundle", workers=1, progress=False)


# --- the simulated readers ---------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What all readers of one run saw, shared between their threads."""

    planned_saves: int
    deadline: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    save_ms: list[float] = field(default_factory=list)
    page_ms: list[float] = field(default_factory=list)
    acknowledged: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    retried_ok: int = 0
    not_started: int = 0
    readers: dict[str, dict] = field(default_factory=dict)  # token -> {"acked": [...], "unacked": [...]}
    in_flight: dict[str, int] = field(default_factory=lambda: {"save": 0, "page": 0})  # sent, reply not yet read

    def error(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1


def timed(tally: Tally, samples: list[float], call, *args):
    """Call a Client method, adding its milliseconds to `samples` (and counting it in flight meanwhile)."""
    kind = "save" if samples is tally.save_ms else "page"
    with tally.lock:
        tally.in_flight[kind] += 1
    start = time.perf_counter()
    try:
        reply = call(*args)
    finally:
        with tally.lock:
            tally.in_flight[kind] -= 1
    elapsed = (time.perf_counter() - start) * 1000
    with tally.lock:
        samples.append(elapsed)
    return reply


def simulated_reader(base: str, token: str, number: int, saves: int, tally: Tally, gate: threading.Barrier) -> None:
    """One reader: start, then each task page and its autosaves, in order; every outcome recorded in `tally`."""
    record = {"acked": [], "unacked": []}
    with tally.lock:
        tally.readers[token] = record
    client = Client(base, timeout=120)
    gate.wait()
    try:
        with tally.lock:
            tally.in_flight["page"] += 1
        try:
            status, page = start_reader(client, token)
        finally:
            with tally.lock:
                tally.in_flight["page"] -= 1
    except (RuntimeError, *CONNECTION_ERRORS) as error:
        tally.error(f"start: {type(error).__name__}")
        with tally.lock:
            tally.not_started += 1
        return
    position = 0
    sent = 0
    while True:
        if status != 200 or b'id="task-data"' not in page:
            tally.error(f"task page HTTP {status}")
            return
        task, csrf, names = task_page_data(page)
        for _ in range(saves):
            if time.monotonic() > tally.deadline:
                return
            payload = save_payload(task, names, number, sent)
            sent += 1
            for attempt in (1, 2):
                outcome = post_save(client, token, payload, csrf, tally)
                if outcome == "acked":
                    record["acked"].append([position, stored_value(payload)])
                    with tally.lock:
                        tally.acknowledged += 1
                        tally.retried_ok += attempt == 2
                    break
                record["unacked"].append([position, stored_value(payload)])
                if outcome == "refused":  # a 4xx: sending it again would not help
                    break
                time.sleep(0.2)
        position += 1
        if position >= 4:
            return
        try:
            status, _, page = timed(tally, tally.page_ms, client.get, f"/r/{token}/task/{position + 1}/")
        except CONNECTION_ERRORS as error:
            tally.error(f"page: {type(error).__name__}")
            try:  # a reader reloads once
                status, _, page = client.get(f"/r/{token}/task/{position + 1}/")
            except CONNECTION_ERRORS:
                return


def save_payload(task: dict, names: list[str], reader: int, save: int) -> dict:
    """An autosave as autosave.js posts it, whose value differs from this reader's previous save of the task."""
    if task["kind"] == "recognition":
        return {**task, "option": OPTIONS[save % len(OPTIONS)], "note": f"reader {reader} save {save}", "seconds": 0.5}
    order = names[save % len(names) :] + names[: save % len(names)]
    return {**task, "ranks": {name: rank for rank, name in enumerate(order, start=1)}, "seconds": 0.5}


def stored_value(payload: dict) -> dict:
    """What the audit trail (AnswerChange.value) records for this save."""
    if "ranks" in payload:
        return {"ranks": payload["ranks"]}
    return {"option": payload["option"], "note": payload["note"]}


def post_save(client: Client, token: str, payload: dict, csrf: str, tally: Tally) -> str:
    """POST one autosave: 'acked' (HTTP 200 with saved: true), 'failed' (connection error or 5xx) or 'refused' (4xx)."""
    try:
        status, _, body = timed(tally, tally.save_ms, client.post_json, f"/r/{token}/answer", payload, csrf)
    except CONNECTION_ERRORS as error:
        tally.error(f"connection: {type(error).__name__}")
        return "failed"
    if status == 200 and json.loads(body).get("saved"):
        return "acked"
    tally.error(f"HTTP {status}")
    return "failed" if status >= 500 else "refused"


def lone_reader(base: str, token: str, saves: int) -> list[float]:
    """The baseline: one reader alone on the server, `saves` autosaves in a row; milliseconds of each."""
    client = Client(base)
    status, page = start_reader(client, token)
    task, csrf, names = task_page_data(page)
    samples = []
    for save in range(saves):
        start = time.perf_counter()
        status, _, body = client.post_json(f"/r/{token}/answer", save_payload(task, names, -1, save), csrf)
        samples.append((time.perf_counter() - start) * 1000)
        if status != 200:
            raise RuntimeError(f"the lone reader's autosave failed: HTTP {status} {body[:200]!r}")
    return samples


@dataclass
class Run:
    """The outcome of one scenario."""

    database: str
    scenario: str
    readers: int
    tally: Tally
    seconds: float
    idle_p50: float
    check: dict
    server_statuses: dict[str, int]
    killed: str = ""


def run_scenario(database: str, database_url: str | None, kill: bool, args, bundle: Path, work: Path) -> Run:
    """Fresh platform (data folder, database), lone-reader baseline, then all readers at once (and the SIGKILL)."""
    port = free_port()
    env = platform_environment(work / "data", port, database_url)
    tokens = set_up_study(env, bundle, SLUG, args.readers + 1)
    lone, tokens = tokens[0], tokens[1:]
    with Gunicorn(env, port, workers=args.workers, logs=work / "logs") as server:
        idle = lone_reader(server.url, lone, args.idle_saves)
        tally = Tally(planned_saves=len(tokens) * 4 * args.saves, deadline=time.monotonic() + args.deadline)
        gate = threading.Barrier(len(tokens) + 1)
        threads = [
            threading.Thread(target=simulated_reader, args=(server.url, token, i, args.saves, tally, gate), daemon=True)
            for i, token in enumerate(tokens)
        ]
        for thread in threads:
            thread.start()
        killed: list[dict] = []
        killer = (
            threading.Thread(target=kill_midway, args=(server, tally, args.kills, killed), daemon=True)
            if kill
            else None
        )
        gate.wait()
        start = time.perf_counter()
        if killer:
            killer.start()
        for thread in threads:
            thread.join(timeout=max(1.0, tally.deadline + 130 - time.monotonic()))
        seconds = time.perf_counter() - start
        if killer:
            killer.join(timeout=5)
        statuses = server.access_statuses()
        stuck = sum(thread.is_alive() for thread in threads)
        if stuck:
            tally.error(f"reader threads still waiting at the end: {stuck}")
    check = verify(env, tally.readers, work)
    description = "; ".join(
        f"worker {k['pid']} SIGKILLed at {k['at']:.1f} s ({k['acked']} saves acknowledged, "
        f"{k['in_flight']}), replaced after {k['replaced']:.2f} s"
        for k in killed
    )
    if kill and not killed:
        description = "no worker was killed (the run ended first)"
    scenario = (
        ("worker SIGKILLed midway" if args.kills == 1 else f"{args.kills} workers SIGKILLed")
        if kill
        else "all readers at once"
    )
    return Run(database, scenario, len(tokens), tally, seconds, statistics.median(idle), check, statuses, description)


def kill_midway(server: Gunicorn, tally: Tally, kills: int, killed: list[dict]) -> None:
    """SIGKILL a gunicorn worker each time another 1/(kills + 1) of the planned saves is acknowledged (once, half-way,
    by default), the longest-serving worker first; note how soon the master replaced it.

    The readers move in near lock-step (half-way, most of them are loading their next task page), so each kill waits
    (at most 5 s) for a moment when at least 4 in 5 requests in flight are autosaves: the killed worker is then most
    likely cutting an autosave short, the case that could lose an answer.
    """
    start = time.monotonic()
    for number in range(1, kills + 1):
        while tally.acknowledged < tally.planned_saves * number // (kills + 1):
            if time.monotonic() > tally.deadline:
                return
            time.sleep(0.005)
        reached = time.monotonic()
        while time.monotonic() - reached < 5:
            with tally.lock:
                saves, pages = tally.in_flight["save"], tally.in_flight["page"]
            if saves and saves >= 4 * pages:
                break
            time.sleep(0.001)
        before = server.worker_pids()
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        kill = {
            "pid": victim,
            "at": time.monotonic() - start,
            "acked": tally.acknowledged,
            "replaced": float("nan"),
            "in_flight": f"{saves} autosaves and {pages} pages in flight",
        }
        killed.append(kill)
        moment = time.monotonic()
        while time.monotonic() - moment < 60:
            now = server.worker_pids()
            if victim not in now and len(now) == len(before):
                kill["replaced"] = time.monotonic() - moment
                break
            time.sleep(0.01)


# --- checking the database afterwards (a child process with Django) -----------------------------------------------


def verify(env: dict[str, str], readers: dict[str, dict], work: Path) -> dict:
    """Run the check below in a child process with the platform's settings and this run's database; `readers`: token
    → {"acked": [[position, value], ...], "unacked": [...]}."""
    saves = work / "saves.json"
    saves.write_text(json.dumps(readers))
    result = subprocess.run(
        [sys.executable, "-m", "bench.load", "--verify", str(saves)], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if result.returncode:
        sys.exit(f"bench load: the database check failed:\n{result.stdout}{result.stderr}")
    return json.loads(result.stdout)


def check_database(saves_file: Path) -> dict:
    """Compare every reader's acknowledged saves with the database: audit trail and final stored answers."""
    sys.path.insert(0, str(ROOT / "platform"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    import django

    django.setup()
    from surveys.models import AnswerChange, Reader
    from surveys.tokens import hash_token

    readers = json.loads(saves_file.read_text())
    acked = missing_in_audit = wrong_final = stored_unacked = audit_rows = 0
    examples = []
    for token, record in readers.items():
        reader = Reader.objects.get(token_hash=hash_token(token))
        changes = [change.value for change in AnswerChange.objects.filter(reader=reader)]
        audit_rows += len(changes)
        keys = {json.dumps(value, sort_keys=True) for value in changes}
        final = {}
        for position, answer in reader.answers_by_position().items():
            final[position] = (
                {"ranks": answer.ranks} if hasattr(answer, "ranks") else {"option": answer.option, "note": answer.note}
            )
        last_acked: dict[int, dict] = {}
        for position, value in record["acked"]:
            acked += 1
            last_acked[position] = value
            if json.dumps(value, sort_keys=True) not in keys:
                missing_in_audit += 1
                examples.append(f"{reader.label} task {position + 1}: acknowledged {value} is not in the audit trail")
        unacked = {json.dumps(value, sort_keys=True) for _, value in record["unacked"]}
        stored_unacked += len(unacked & keys - {json.dumps(v, sort_keys=True) for _, v in record["acked"]})
        for position, value in last_acked.items():
            stored = final.get(position)
            if stored != value and json.dumps(stored, sort_keys=True) not in unacked:
                wrong_final += 1
                examples.append(f"{reader.label} task {position + 1}: stored {stored}, last acknowledged {value}")
    return {
        "acked": acked,
        "missing_in_audit": missing_in_audit,
        "wrong_final": wrong_final,
        "stored_unacked": stored_unacked,
        "audit_rows": audit_rows,
        "examples": examples[:5],
    }


# --- the table -----------------------------------------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    """The q-quantile (0..1) of `samples`, nearest rank."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def table(runs: list[Run], args, skipped: list[str]) -> str:
    cores = os.cpu_count()
    lines = [
        f"Load: {args.readers} readers at once, each: start, 4 task pages, {args.saves} autosaves per task "
        f"({4 * args.saves} in all); gunicorn {args.workers} sync workers on 127.0.0.1, {cores} CPUs; "
        f"baseline = one reader alone, same server, {args.idle_saves} autosaves",
        f"{'database':<11} {'scenario':<24} {'saves':>6} {'acked':>6} {'errors':>6} {'retry ok':>8} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'alone p50':>9} {'p50/alone':>9} {'p99/alone':>9} "
        f"{'saves/s':>7} {'page p50/p99 ms':>15} {'lost':>5}",
    ]
    for run in runs:
        t, c = run.tally, run.check
        errors = sum(t.errors.values())
        p50, p99 = percentile(t.save_ms, 0.5), percentile(t.save_ms, 0.99)
        pages = t.page_ms
        lost = c["missing_in_audit"] + c["wrong_final"]
        lines.append(
            f"{run.database:<11} {run.scenario:<24} {len(t.save_ms):>6} {t.acknowledged:>6} {errors:>6} "
            f"{t.retried_ok:>8} "
            f"{p50:>7.0f} {p99:>7.0f} {max(t.save_ms, default=float('nan')):>7.0f} {run.idle_p50:>9.1f} "
            f"{p50 / run.idle_p50:>8.1f}× {p99 / run.idle_p50:>8.1f}× {t.acknowledged / run.seconds:>7.0f} "
            f"{percentile(pages, 0.5):>7.0f}/{percentile(pages, 0.99):<7.0f} {lost:>5}"
        )
    lines.append(
        "saves = autosave requests sent (with retries), acked = answered 200 saved; errors = failed requests "
        "(connection errors, HTTP errors); retry ok = saves acknowledged on the reader's second try; "
        "lost = acknowledged saves missing from the audit trail or overwritten in the stored answer."
    )
    for run in runs:
        t, c = run.tally, run.check
        notes = []
        if t.errors:
            notes.append("errors: " + ", ".join(f"{kind} ×{n}" for kind, n in sorted(t.errors.items())))
        server_errors = {s: n for s, n in run.server_statuses.items() if s.startswith("5")}
        notes.append(f"server log: {sum(run.server_statuses.values())} responses, 5xx: {server_errors or 0}")
        notes.append(
            f"database: {c['acked']} acknowledged saves checked, {c['audit_rows']} audit rows, "
            f"{c['stored_unacked']} never-acknowledged saves stored anyway"
        )
        if run.killed:
            notes.append(run.killed)
        notes.append(f"{run.seconds:.1f} s")
        lines.append(f"  {run.database} / {run.scenario}: " + "; ".join(notes))
        for example in c["examples"]:
            lines.append(f"    LOST: {example}")
    lines += [f"  {line}" for line in skipped]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench load", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readers", type=int, default=200, help="simulated readers at once (default 200)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument("--saves", type=int, default=2, help="autosaves per task and reader (default 2; 4 tasks)")
    parser.add_argument("--idle-saves", type=int, default=40, help="autosaves of the lone baseline reader (default 40)")
    parser.add_argument(
        "--deadline", type=float, default=120.0, help="no new request after this many seconds (default 120)"
    )
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL server to create a throwaway database on")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-kill", action="store_true", help="leave out the SIGKILL runs")
    parser.add_argument(
        "--kills",
        type=int,
        default=1,
        help="workers killed, one after the other, in each SIGKILL run (default 1: half-way)",
    )
    parser.add_argument(
        "--open-loop", action="store_true", help="readers save at Poisson times instead of without pause (see below)"
    )
    parser.add_argument(
        "--interval", type=float, default=2.0, help="open loop: headline seconds between one reader's saves (2)"
    )
    parser.add_argument(
        "--rates",
        type=lambda text: [float(rate) for rate in text.split(",")],
        default=[25.0, 50.0, 100.0, 200.0, 400.0],
        help="open loop: offered saves per second, all readers together (default 25,50,100,200,400)",
    )
    parser.add_argument("--step-seconds", type=float, default=20.0, help="open loop: seconds per offered rate (20)")
    parser.add_argument("--saves-per-page", type=int, default=10, help="open loop: saves before a page move (10)")
    parser.add_argument("--delivery-threads", type=int, default=4, help="open loop: concurrent scan downloads (4)")
    parser.add_argument("--size", type=int, default=32, help="grid of the study's scans (default 32)")
    parser.add_argument(
        "--serving",
        type=lambda text: text.split(","),
        default=["gunicorn", "nginx"],
        help="open loop: ways to serve, measured one after the other (default gunicorn,nginx: before and after)",
    )
    parser.add_argument("--host-workers", type=int, default=2, help="open loop, nginx: gthread workers per host (2)")
    parser.add_argument("--threads", type=int, default=4, help="open loop, nginx: threads per worker (4)")
    parser.add_argument("--verify", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.verify:
        print(json.dumps(check_database(args.verify)))
        return
    skipped = []
    databases: list[tuple[str, str | None]] = [("SQLite", None)]
    if args.no_postgres:
        skipped.append("PostgreSQL: skipped (--no-postgres)")
    else:
        server, how = postgres_server(args.postgres)
        if server:
            databases.append(("PostgreSQL", server))
        else:
            skipped.append(f"PostgreSQL: skipped, no server answered ({how}); pass --postgres URL")
    if args.open_loop:
        open_loop(args, databases, skipped)
        return
    scenarios = [False] if args.no_kill else [False, True]
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-load-") as temporary:
        bundle = make_bundle(Path(temporary) / "study", args.size)
        for label, url in databases:
            for kill in scenarios:
                work = Path(temporary) / f"{label}-{'kill' if kill else 'steady'}"
                print(
                    f"{label}: {args.readers} readers{', killing a worker midway' if kill else ''} …",
                    file=sys.stderr,
                    flush=True,
                )
                if url:
                    with ThrowawayDatabase(url) as database_url:
                        runs.append(run_scenario(label, database_url, kill, args, bundle, work))
                else:
                    runs.append(run_scenario(label, None, kill, args, bundle, work))
    print(table(runs, args, skipped))


def open_loop(args, databases: list[tuple[str, str | None]], skipped: list[str]) -> None:
    """The open-loop mode on each database, served each way of `--serving` one after the other (`bench.open_loop`)."""
    from bench.open_loop import run_open_loop, table
    from deploy.nginx import nginx_binary

    if "nginx" in args.serving and nginx_binary() is None:
        skipped.append("nginx: skipped, not installed (Debian: apt-get install nginx)")
        args.serving = [kind for kind in args.serving if kind != "nginx"]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-load-") as temporary:
        bundle = make_bundle(Path(temporary) / "study", args.size)
        static = Path(temporary) / "static"
        if "nginx" in args.serving:
            print("collecting static files for nginx …", file=sys.stderr, flush=True)
            env = platform_environment(Path(temporary) / "collect", free_port())
            manage({**env, "DJANGO_STATIC_ROOT": str(static)}, "collectstatic", "--noinput", "-v", "0")
        for label, url in databases:
            for kind in args.serving:
                print(f"{label}, {kind}: open loop, {args.readers} readers …", file=sys.stderr, flush=True)
                work = Path(temporary) / f"{label}-{kind}"
                if url:
                    with ThrowawayDatabase(url) as database_url:
                        results.append(run_open_loop(label, database_url, kind, args, bundle, work, static))
                else:
                    results.append(run_open_loop(label, None, kind, args, bundle, work, static))
    print(table(results, args, skipped))


if __name__ == "__main__":
    main()
