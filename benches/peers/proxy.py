#!/usr/bin/env python3
"""The drifttap tap against nginx as a reverse proxy, side by side in one run.

    python3 benches/peers/proxy.py [--rounds 3] [--duration 20] [--connections 32] ...
    python3 benches/peers/proxy.py --soak-only --soak 10

Standard library only (Python 3.11); needs nginx and wrk on PATH (Debian packages), and cargo to
build drifttap (`cargo build --release --bin drifttap`, honouring CARGO_TARGET_DIR). Everything
listens on 127.0.0.1 on ports picked here; every process started is stopped by its PID, also on
Ctrl-C and on errors. Nothing is downloaded. See benches/peers/README.md, "The tap against nginx".

Targets, each driven by the same wrk command and Lua script (KServe V2 requests with 12 tensors,
one per feature of baselines/credit, 8 rows each):

- direct: wrk straight to the upstream "model" (an nginx answering a fixed V2 response), the
  floor that shows what each proxy adds;
- nginx: an nginx reverse proxy (keep-alive pool of 64 to the upstream);
- tap: `drifttap serve` with `--upstream`, evaluating drift every second while it proxies.

Each round runs every target once, in alternation, with a fresh proxy process per run; the report
gives the median of the rounds per target, ratios tap/nginx, the proxies' CPU time per request,
and what the tap's own /metrics say about decoding and evaluation during the load.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG = "baselines/credit/serve.yaml"
INFER_PATH = "/v2/models/credit/infer"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# The upstream's fixed answer: a KServe V2 inference response for 8 rows.
RESPONSE = json.dumps(
    {
        "model_name": "credit",
        "model_version": "1",
        "id": "bench",
        "outputs": [
            {
                "name": "default_probability",
                "shape": [8],
                "datatype": "FP32",
                "data": [0.031, 0.118, 0.072, 0.244, 0.019, 0.087, 0.153, 0.046],
            }
        ],
    },
    separators=(",", ":"),
)


def log(*parts: object) -> None:
    print(*parts, flush=True)


class Interrupted(Exception):
    """SIGTERM or SIGHUP: stop, cleaning up like Ctrl-C does."""


def _on_signal(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


# --------------------------------------------------------------------------------------------
# Processes: every child is registered and stopped by PID.


@dataclass
class Child:
    name: str
    popen: subprocess.Popen
    stop_signal: int = signal.SIGTERM


class Children:
    def __init__(self) -> None:
        self.live: list[Child] = []

    def start(self, name, argv, *, cpus=None, stdout=None, stderr=None, cwd=None,
              stop_signal=signal.SIGTERM, env=None) -> Child:
        def pre():
            if cpus is not None:
                os.sched_setaffinity(0, cpus)

        popen = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=stdout if stdout is not None else subprocess.DEVNULL,
            stderr=stderr if stderr is not None else subprocess.DEVNULL,
            preexec_fn=pre,
            # Own session: a Ctrl-C reaches only this script, which then stops the children in
            # order (and nginx's workers with their master).
            start_new_session=True,
            env=env,
        )
        child = Child(name, popen, stop_signal)
        self.live.append(child)
        return child

    def stop(self, child: Child, timeout: float = 15.0) -> int | None:
        p = child.popen
        if p.poll() is None:
            kids = child_pids(p.pid)  # nginx workers, in case the master has to be killed
            try:
                os.kill(p.pid, child.stop_signal)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"  {child.name} (pid {p.pid}) did not stop in {timeout:.0f} s: SIGKILL")
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
            for pid in kids:
                if pid_alive(pid):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        if child in self.live:
            self.live.remove(child)
        return p.returncode

    def stop_all(self) -> None:
        for child in reversed(list(self.live)):
            try:
                self.stop(child, timeout=10.0)
            except Exception as e:  # keep stopping the others
                log(f"  could not stop {child.name} (pid {child.popen.pid}): {e}")


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def stat_fields(path: str) -> list[str] | None:
    """Fields of a /proc stat file after the command name (field 3, state, is index 0)."""
    try:
        text = Path(path).read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return text[text.rindex(")") + 2:].split()


def child_pids(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            f = stat_fields(f"/proc/{entry}/stat")
            if f and int(f[1]) == pid:
                out.append(int(entry))
    return out


def cpu_ticks(pid: int) -> int:
    f = stat_fields(f"/proc/{pid}/stat")
    return int(f[11]) + int(f[12]) if f else 0


def tree_cpu_ticks(pid: int) -> int:
    """CPU time of a process and its children (nginx: the master and its workers)."""
    return cpu_ticks(pid) + sum(cpu_ticks(c) for c in child_pids(pid))


def context_switches(pid: int) -> int:
    """Voluntary and involuntary context switches of every thread of `pid`, and of its children."""
    total = 0
    for p in [pid, *child_pids(pid)]:
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except FileNotFoundError:
            continue
        for tid in tids:
            try:
                for line in Path(f"/proc/{p}/task/{tid}/status").read_text().splitlines():
                    if "ctxt_switches:" in line:
                        total += int(line.split()[1])
            except (FileNotFoundError, ProcessLookupError):
                pass
    return total


def thread_ticks(pid: int) -> dict[int, tuple[str, int]]:
    """Per thread of `pid`: (name, utime + stime)."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return out
    for tid in tids:
        f = stat_fields(f"/proc/{pid}/task/{tid}/stat")
        try:
            comm = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if f:
            out[int(tid)] = (comm, int(f[11]) + int(f[12]))
    return out


def status_kib(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except FileNotFoundError:
        return None
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_request(port, method, path, body=None, headers=None, timeout=5.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read(), dict(r.getheaders())
    finally:
        conn.close()


def wait_until(what: str, check, child: Child | None, log_path: Path | None, timeout=60.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if child is not None and child.popen.poll() is not None:
            raise RuntimeError(f"{what} exited with status {child.popen.returncode}"
                               + tail_of(log_path))
        try:
            if check():
                return
        except (OSError, http.client.HTTPException) as e:
            last = e
        time.sleep(0.05)
    raise RuntimeError(f"{what} not ready after {timeout:.0f} s ({last})" + tail_of(log_path))


def tail_of(path: Path | None, lines=15) -> str:
    if path is None or not path.exists():
        return ""
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return f"\n--- last lines of {path} ---\n" + "\n".join(text)


# --------------------------------------------------------------------------------------------
# The load: KServe V2 request bodies for the credit example.

PURPOSES = ["debt_consolidation", "credit_card", "home_improvement", "car", "medical", "other"]
PURPOSE_WEIGHTS = [0.38, 0.24, 0.12, 0.11, 0.05, 0.10]
HOMES = ["RENT", "MORTGAGE", "OWN"]
EMPLOYMENT = ["salaried", "self_employed", "contract", "retired"]
TERMS = [12, 24, 36, 60]
TERM_WEIGHTS = [0.15, 0.25, 0.4, 0.2]


def request_body(rng: random.Random, rows: int, index: int) -> str:
    """One V2 request: a tensor per feature (`name` = feature, shape [rows]), drawn roughly as
    baselines/credit/README.md describes the training data."""
    clip = lambda v, lo, hi: max(lo, min(hi, v))  # noqa: E731
    age = [int(clip(round(rng.gauss(38, 11)), 18, 85)) for _ in range(rows)]
    income = [round(49000 * rng.lognormvariate(0, 0.45), 2) for _ in range(rows)]
    loan = [round(x * rng.uniform(0.25, 0.45), 2) for x in income]
    cols = [
        ("age", "INT32", age),
        ("annual_income", "FP64", income),
        ("loan_amount", "FP64", loan),
        ("term_months", "INT32", rng.choices(TERMS, TERM_WEIGHTS, k=rows)),
        ("credit_score", "INT32",
         [int(clip(round(rng.gauss(690, 55)), 300, 850)) for _ in range(rows)]),
        ("debt_to_income", "FP64",
         [round(clip(rng.gauss(0.28, 0.09), 0.0, 1.5), 4) for _ in range(rows)]),
        ("card_utilisation", "FP64",
         [round(clip(rng.gauss(0.35, 0.18), 0.0, 1.0), 4) for _ in range(rows)]),
        ("open_accounts", "INT32",
         [int(max(0, round(rng.gauss(5, 2.5)))) for _ in range(rows)]),
        ("months_employed", "INT32",
         [int(min(480, rng.expovariate(1 / 60))) for _ in range(rows)]),
        ("loan_purpose", "BYTES", rng.choices(PURPOSES, PURPOSE_WEIGHTS, k=rows)),
        ("home_ownership", "BYTES", rng.choices(HOMES, [0.45, 0.4, 0.15], k=rows)),
        ("employment_type", "BYTES",
         rng.choices(EMPLOYMENT, [0.7, 0.15, 0.1, 0.05], k=rows)),
    ]
    body = {
        "id": f"bench-{index}",
        "inputs": [
            {"name": n, "shape": [rows], "datatype": t, "data": d} for n, t, d in cols
        ],
    }
    return json.dumps(body, separators=(",", ":"))


def lua_script(bodies: list[str]) -> str:
    def long_string(s: str) -> str:
        level = 1
        while ("]" + "=" * level + "]") in s:
            level += 1
        eq = "=" * level
        return f"[{eq}[{s}]{eq}]"

    head = ['-- written by benches/peers/proxy.py: KServe V2 requests for the credit example',
            'wrk.method = "POST"',
            'wrk.headers["Content-Type"] = "application/json"']
    if len(bodies) == 1:
        # A static request: wrk builds it once and never calls into Lua per request.
        head.append(f"wrk.body = {long_string(bodies[0])}")
    else:
        head.append("local bodies = {")
        head += [f"  {long_string(b)}," for b in bodies]
        head += [
            "}",
            "local requests = {}",
            "local next_one = 0",
            "init = function(args)",
            "  for k, b in ipairs(bodies) do requests[k] = wrk.format(nil, nil, nil, b) end",
            "end",
            "request = function()",
            "  next_one = next_one % #requests + 1",
            "  return requests[next_one]",
            "end",
        ]
    head += [
        "done = function(summary, latency, requests)",
        "  local e = summary.errors",
        '  io.write(string.format("WRKJSON {\\"requests\\":%d,\\"duration_us\\":%d,'
        '\\"p50_us\\":%d,\\"p90_us\\":%d,\\"p99_us\\":%d,\\"connect\\":%d,\\"read\\":%d,'
        '\\"write\\":%d,\\"status\\":%d,\\"timeout\\":%d}\\n",',
        "    summary.requests, summary.duration, latency:percentile(50),"
        " latency:percentile(90), latency:percentile(99),",
        "    e.connect, e.read, e.write, e.status, e.timeout))",
        "end",
    ]
    return "\n".join(head) + "\n"


# --------------------------------------------------------------------------------------------
# wrk output

UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds(text: str) -> float:
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text)
    if not m:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


@dataclass
class WrkResult:
    rps: float
    p50: float  # seconds
    p90: float
    p99: float
    requests: int
    non2xx: int = 0
    socket_errors: dict = field(default_factory=dict)
    exact: dict | None = None  # from the Lua done() hook, for a cross-check

    @property
    def seconds(self) -> float:
        """The run's length as wrk measured it."""
        return self.exact["duration_us"] * 1e-6 if self.exact else self.requests / self.rps

    @property
    def errors(self) -> int:
        return self.non2xx + sum(self.socket_errors.values())


def parse_wrk(out: str) -> WrkResult:
    m = re.search(r"^Requests/sec:\s+([0-9.]+)", out, re.M)
    if not m:
        raise ValueError("no Requests/sec line in wrk output:\n" + out)
    rps = float(m.group(1))
    pct = {}
    dist = out.split("Latency Distribution", 1)
    if len(dist) != 2:
        raise ValueError("no latency distribution in wrk output (--latency):\n" + out)
    for p, v in re.findall(r"^\s+(50|75|90|99)%\s+([0-9.]+(?:us|ms|s|m|h))\s*$", dist[1], re.M):
        pct[int(p)] = seconds(v)
    m = re.search(r"^\s+(\d+) requests in", out, re.M)
    requests = int(m.group(1)) if m else 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    non2xx = int(m.group(1)) if m else 0
    sock = {}
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        sock = dict(zip(["connect", "read", "write", "timeout"], map(int, m.groups())))
    exact = None
    m = re.search(r"^WRKJSON (\{.*\})$", out, re.M)
    if m:
        exact = json.loads(m.group(1))
    return WrkResult(rps, pct[50], pct[90], pct[99], requests, non2xx, sock, exact)


def cross_check(r: WrkResult) -> str | None:
    """The text output is rounded to 2 decimals; the Lua hook has exact microseconds."""
    if not r.exact:
        return "no WRKJSON line"
    for key, v in (("p50_us", r.p50), ("p90_us", r.p90), ("p99_us", r.p99)):
        e = r.exact[key] * 1e-6
        if abs(e - v) > max(0.01 * e, 10e-6):
            return f"{key}: text {v * 1e6:.1f} us vs hook {e * 1e6:.1f} us"
    if r.exact["requests"] != r.requests:
        return f"requests: text {r.requests} vs hook {r.exact['requests']}"
    return None


def fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1.0:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


# --------------------------------------------------------------------------------------------
# /metrics

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(port: int) -> list[tuple[str, dict, float]]:
    status, body, _ = http_request(port, "GET", "/metrics")
    if status != 200:
        raise RuntimeError(f"/metrics answered {status}")
    out = []
    for line in body.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if m:
            labels = dict(LABEL.findall(m.group(2) or ""))
            out.append((m.group(1), labels, float(m.group(3))))
    return out


def metric(samples, name, **labels) -> float:
    return sum(v for n, ls, v in samples
               if n == name and all(ls.get(k) == val for k, val in labels.items()))


def by_label(samples, name, label) -> dict[str, float]:
    out: dict[str, float] = {}
    for n, ls, v in samples:
        if n == name and label in ls:
            out[ls[label]] = out.get(ls[label], 0.0) + v
    return out


@dataclass
class TapMetrics:
    ingested: float = 0.0
    skipped: float = 0.0
    dropped: dict = field(default_factory=dict)
    decode_errors: dict = field(default_factory=dict)
    evaluations: dict = field(default_factory=dict)
    eval_sum: float = 0.0
    eval_count: float = 0.0
    tap_requests: dict = field(default_factory=dict)
    window: float = 0.0

    @classmethod
    def of(cls, s) -> "TapMetrics":
        return cls(
            ingested=metric(s, "drifttap_samples_ingested_total", source="tap"),
            skipped=metric(s, "drifttap_payloads_skipped_total"),
            dropped=by_label(s, "drifttap_payloads_dropped_total", "reason"),
            decode_errors=by_label(s, "drifttap_decode_errors_total", "reason"),
            evaluations=by_label(s, "drifttap_evaluations_total", "outcome"),
            eval_sum=metric(s, "drifttap_evaluation_duration_seconds_sum"),
            eval_count=metric(s, "drifttap_evaluation_duration_seconds_count"),
            tap_requests=by_label(s, "drifttap_tap_requests_total", "code"),
            window=metric(s, "drifttap_window_samples"),
        )

    def add(self, o: "TapMetrics") -> None:
        self.ingested += o.ingested
        self.skipped += o.skipped
        for mine, theirs in ((self.dropped, o.dropped), (self.decode_errors, o.decode_errors),
                             (self.evaluations, o.evaluations),
                             (self.tap_requests, o.tap_requests)):
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0.0) + v
        self.eval_sum += o.eval_sum
        self.eval_count += o.eval_count
        self.window = o.window


def counts(d: dict) -> str:
    return ", ".join(f"{k} {v:.0f}" for k, v in sorted(d.items())) or "none"


# --------------------------------------------------------------------------------------------
# nginx

def nginx_conf(tmp: Path, name: str, workers: str, http_body: str) -> Path:
    d = tmp / name
    d.mkdir()
    for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (d / t).mkdir()
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = f"""# written by benches/peers/proxy.py
daemon off;
master_process on;
worker_processes {workers};
{user}pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    # Bodies stay in memory (no temp files) and are read whole.
    client_body_buffer_size 1m;
    client_max_body_size 1m;
    # The default closes a client connection every 1 000 requests; hyper does not.
    keepalive_requests 1000000;
    keepalive_timeout 75s;
{http_body}}}
"""
    path = d / "nginx.conf"
    path.write_text(conf)
    return path


def start_nginx(children: Children, nginx: str, conf: Path, name: str, port: int, cpus):
    d = conf.parent
    with open(d / "stdout.log", "wb") as out:  # the child keeps its own descriptor
        child = children.start(
            name,
            [nginx, "-p", str(d), "-c", str(conf), "-e", str(d / "error.log")],
            cpus=cpus,
            stdout=out,
            stderr=subprocess.STDOUT,
            stop_signal=signal.SIGTERM,
        )

    def ready():
        status, body, _ = http_request(port, "POST", INFER_PATH, body=b"{}",
                                       headers={"Content-Type": "application/json"})
        return status == 200 and body.decode() == RESPONSE

    wait_until(name, ready, child, d / "error.log", timeout=20)
    return child


def upstream_http(port: int) -> str:
    return f"""    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        location = {INFER_PATH} {{
            default_type application/json;
            return 200 '{RESPONSE}';
        }}
        location / {{
            return 404;
        }}
    }}
"""


def proxy_http(port: int, upstream_port: int, connections: int) -> str:
    # `keepalive` caps the idle upstream connections nginx keeps: below wrk's connection count,
    # nginx would open and close upstream connections under load (the tap keeps one per client
    # connection), so it is at least the number of client connections.
    return f"""    upstream model {{
        server 127.0.0.1:{upstream_port};
        keepalive {max(64, connections)};
        keepalive_requests 1000000;
        keepalive_timeout 75s;
    }}
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        location / {{
            proxy_pass http://model;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
"""


# --------------------------------------------------------------------------------------------
# drifttap

@dataclass
class Tap:
    child: Child
    tap_port: int
    admin_port: int
    log_path: Path


def start_tap(children, binary, tmp, upstream_port, cpus, eval_interval, tag) -> Tap:
    tap_port, ingest_port, admin_port = free_port(), free_port(), free_port()
    log_path = tmp / f"drifttap-{tag}.log"
    argv = [str(binary), "serve", "--config", CONFIG,
            "--upstream", f"http://127.0.0.1:{upstream_port}",
            "--tap-listen", f"127.0.0.1:{tap_port}", "--listen", f"127.0.0.1:{ingest_port}",
            "--admin", f"127.0.0.1:{admin_port}", "--eval-interval", eval_interval]
    with open(log_path, "wb") as err:
        child = children.start("drifttap", argv, cpus=cpus, cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=err,
                               stop_signal=signal.SIGTERM)

    def ready():
        status, _, _ = http_request(admin_port, "GET", "/readyz")
        if status != 200:
            return False
        status, body, _ = http_request(tap_port, "POST", INFER_PATH, body=b"{}",
                                       headers={"Content-Type": "application/json"})
        return status == 200 and body.decode() == RESPONSE

    wait_until("drifttap serve", ready, child, log_path, timeout=90)
    return Tap(child, tap_port, admin_port, log_path)


def tap_threads(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, _ in thread_ticks(pid).values():
        out[name] = out.get(name, 0) + 1
    return out


def group_of(comm: str) -> str:
    if comm.startswith("drifttap-io"):
        return "io"
    if comm.startswith("drifttap-feed"):
        return "decode"
    if comm.startswith("drifttap-engine"):
        return "evaluate"
    return "other"


def thread_groups_delta(before, after) -> dict[str, int]:
    out = {"io": 0, "decode": 0, "evaluate": 0, "other": 0}
    for tid, (comm, ticks) in after.items():
        out[group_of(comm)] += ticks - before.get(tid, (comm, 0))[1]
    return out


# --------------------------------------------------------------------------------------------
# The run

@dataclass
class Run:
    target: str
    round: int
    wrk: WrkResult
    cpu_s: float | None = None  # the proxy's CPU time during the measured run
    threads: dict | None = None  # tap: CPU time by thread group, seconds
    switches: int | None = None  # the proxy's context switches during the measured run


def wrk_argv(args, url: str, lua: Path, duration: str) -> list[str]:
    return [args.wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}",
            "--latency", "-s", str(lua), url]


def run_wrk(children: Children, args, url, lua, duration: str, cpus, out_path: Path) -> str:
    with open(out_path, "wb") as out:
        child = children.start("wrk", wrk_argv(args, url, lua, duration), cpus=cpus,
                               stdout=out, stderr=subprocess.STDOUT, stop_signal=signal.SIGINT)
        try:
            child.popen.wait(timeout=seconds(duration) + 60)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"wrk did not finish ({out_path})")
        finally:
            children.stop(child)
    text = out_path.read_text(errors="replace")
    if child.popen.returncode != 0:
        raise RuntimeError(f"wrk exited with {child.popen.returncode}:\n{text}")
    return text


def layout(args) -> tuple[set[int] | None, set[int] | None, str, str]:
    """(proxy CPUs, load CPUs, nginx worker_processes, description)."""
    allowed = sorted(os.sched_getaffinity(0))
    if args.layout == "shared":
        return None, None, "auto", (
            f"shared: no pinning; wrk, the upstream and the proxy share all {len(allowed)} "
            f"CPUs; the nginx proxy has worker_processes auto ({len(allowed)}), the tap's "
            f"tokio runtime one worker per CPU ({len(allowed)})")
    n = args.proxy_cpus
    if n >= len(allowed):
        sys.exit(f"--layout pinned needs more than --proxy-cpus {n} CPUs (have {len(allowed)}); "
                 "use --layout shared")
    proxy, load = set(allowed[-n:]), set(allowed[:-n])
    return proxy, load, str(n), (
        f"pinned: the proxy under test on CPU {cpulist(proxy)} (nginx worker_processes {n}; "
        f"the tap's tokio runtime sizes itself to its affinity: {n} worker thread(s), plus its "
        f"decode and evaluation threads on the same CPU(s)); wrk and the upstream nginx on "
        f"CPU {cpulist(load)}")


def cpulist(cpus: set[int]) -> str:
    return ",".join(str(c) for c in sorted(cpus))


def machine_line(args, nginx, wrk, load_start) -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nv = subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr.strip()
    nv = nv.replace("nginx version: ", "")
    wv = subprocess.run([wrk, "-v"], capture_output=True, text=True)
    wv = (wv.stdout + wv.stderr).splitlines()[0].split(" Copyright")[0].strip()
    return (f"machine: {model}, {os.cpu_count()} cores (this run may use "
            f"{cpulist(os.sched_getaffinity(0))}), Linux {platform.release()}, {nv}, {wv}, "
            f"load average at start {' '.join(f'{x:.2f}' for x in load_start)}")


def build(args) -> Path:
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    if not target_dir.is_absolute():
        target_dir = REPO / target_dir
    binary = target_dir / "release" / "drifttap"
    if args.no_build:
        log(f"build: skipped (--no-build), using {binary}")
    else:
        cmd = ["cargo", "build", "--release", "--bin", "drifttap"]
        log(f"build: {shlex.join(cmd)} (CARGO_TARGET_DIR={target_dir})")
        t = time.monotonic()
        r = subprocess.run(cmd, cwd=REPO)
        if r.returncode != 0:
            sys.exit(f"build failed (status {r.returncode})")
        log(f"build: done in {time.monotonic() - t:.1f} s")
    if not binary.exists():
        sys.exit(f"no drifttap binary at {binary}")
    return binary


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def compare(args, children, tmp, binary, nginx, lua, upstream_port, proxy_cpus, load_cpus,
            workers) -> tuple[dict[str, list[Run]], "TapMetrics", list]:
    runs: dict[str, list[Run]] = {t: [] for t in ("direct", "nginx", "tap") if t in args.targets}
    tap_total = TapMetrics()
    tap_runs: list[tuple[int, TapMetrics, int]] = []
    duration = f"{args.duration}s"
    for rnd in range(1, args.rounds + 1):
        order = list(runs) if rnd % 2 else list(reversed(runs))  # alternate the order too
        for target in order:
            proxy = None
            tap = None
            if target == "direct":
                port = upstream_port
            elif target == "nginx":
                port = free_port()
                conf = nginx_conf(tmp, f"nginx-proxy-c{args.connections}-{rnd}", workers,
                                  proxy_http(port, upstream_port, args.connections))
                proxy = start_nginx(children, nginx, conf, "nginx proxy", port, proxy_cpus)
            else:
                tap = start_tap(children, binary, tmp, upstream_port, proxy_cpus,
                                args.eval_interval, f"c{args.connections}-round{rnd}")
                proxy, port = tap.child, tap.tap_port
            url = f"http://127.0.0.1:{port}{INFER_PATH}"
            try:
                if args.warmup > 0:
                    run_wrk(children, args, url, lua, f"{args.warmup}s", load_cpus,
                            tmp / f"wrk-{target}-c{args.connections}-{rnd}-warmup.txt")
                before = tree_cpu_ticks(proxy.popen.pid) if proxy else None
                switches_before = context_switches(proxy.popen.pid) if proxy else None
                threads_before = thread_ticks(proxy.popen.pid) if tap else None
                out = run_wrk(children, args, url, lua, duration, load_cpus,
                              tmp / f"wrk-{target}-c{args.connections}-{rnd}.txt")
                cpu = None
                groups = None
                switches = None
                if proxy:
                    cpu = (tree_cpu_ticks(proxy.popen.pid) - before) / CLK_TCK
                    switches = context_switches(proxy.popen.pid) - switches_before
                if tap:
                    groups = {k: v / CLK_TCK for k, v in thread_groups_delta(
                        threads_before, thread_ticks(proxy.popen.pid)).items()}
                result = parse_wrk(out)
                run = Run(target, rnd, result, cpu, groups, switches)
                runs[target].append(run)
                line = (f"  round {rnd} {target:6} {result.rps:10.0f} req/s  p50 "
                        f"{fmt_time(result.p50):>9}  p90 {fmt_time(result.p90):>9}  p99 "
                        f"{fmt_time(result.p99):>9}")
                if cpu is not None and result.requests:
                    line += (f"  proxy CPU {cpu / result.requests * 1e6:.1f} µs/req "
                             f"(busy {cpu / result.seconds * 100:.0f} % of a CPU), "
                             f"{switches / result.requests:.2f} context switches/req")
                if groups:
                    line += " (" + ", ".join(f"{k} {v:.1f} s" for k, v in groups.items()) + ")"
                if result.errors:
                    line += f"  ERRORS: non-2xx {result.non2xx}, socket {result.socket_errors}"
                problem = cross_check(result)
                if problem:
                    line += f"  [wrk text/hook mismatch: {problem}]"
                log(line)
                if tap:
                    time.sleep(0.5)  # let the decoder drain its queue before counting
                    m = TapMetrics.of(scrape(tap.admin_port))
                    warm = 0
                    if args.warmup > 0:
                        warm = parse_wrk((tmp / f"wrk-{target}-c{args.connections}-{rnd}-warmup.txt")
                                         .read_text()).requests
                    tap_runs.append((rnd, m, warm + result.requests))
                    tap_total.add(m)
                    log(f"           tap metrics: {m.ingested:.0f} samples ingested from the "
                        f"tap ({(warm + result.requests) * args.rows} rows in the requests wrk "
                        f"completed), {m.skipped:.0f} payloads skipped by sampling, evaluations "
                        f"{counts(m.evaluations)}, mean evaluation "
                        f"{fmt_time(m.eval_sum / m.eval_count) if m.eval_count else '-'}, "
                        f"payloads dropped: {counts({k: v for k, v in m.dropped.items() if v})}"
                        f", threads {tap_threads(proxy.popen.pid)}")
            finally:
                if proxy is not None:
                    rc = children.stop(proxy)
                    if rc not in (0, None) and not (target == "nginx" and rc == -signal.SIGTERM):
                        log(f"  {target} exited with status {rc}")
    return runs, tap_total, tap_runs


def soak(args, children, tmp, binary, lua, upstream_port, proxy_cpus, load_cpus) -> dict:
    minutes = args.soak
    log(f"\nsoak: the tap under continuous wrk load for {minutes} min "
        f"(-t{args.threads} -c{args.connections}), VmRSS every minute")
    tap = start_tap(children, binary, tmp, upstream_port, proxy_cpus, args.eval_interval, "soak")
    pid = tap.child.popen.pid
    rss0 = status_kib(pid, "VmRSS")
    log(f"  minute  0 (started, idle): VmRSS {rss0} KiB")
    url = f"http://127.0.0.1:{tap.tap_port}{INFER_PATH}"
    out_path = tmp / "wrk-soak.txt"
    samples = []
    try:
        with open(out_path, "wb") as out:
            wrk = children.start("wrk (soak)",
                                 wrk_argv(args, url, lua, f"{minutes * 60 + 3}s"), cpus=load_cpus,
                                 stdout=out, stderr=subprocess.STDOUT, stop_signal=signal.SIGINT)
            t0 = time.monotonic()
            prev = TapMetrics.of(scrape(tap.admin_port))
            for minute in range(1, minutes + 1):
                time.sleep(max(0.0, t0 + 60 * minute - time.monotonic()))
                if wrk.popen.poll() is not None or tap.child.popen.poll() is not None:
                    raise RuntimeError("wrk or drifttap stopped during the soak"
                                       + tail_of(out_path) + tail_of(tap.log_path))
                rss = status_kib(pid, "VmRSS")
                hwm = status_kib(pid, "VmHWM")
                m = TapMetrics.of(scrape(tap.admin_port))
                d_ing = m.ingested - prev.ingested
                prev_skipped = prev.skipped
                d_ok = m.evaluations.get("ok", 0) - prev.evaluations.get("ok", 0)
                d_eval = ((m.eval_sum - prev.eval_sum) / (m.eval_count - prev.eval_count)
                          if m.eval_count > prev.eval_count else float("nan"))
                prev = m
                samples.append((minute, rss, hwm, d_ing, d_ok, d_eval, m))
                log(f"  minute {minute:2}: VmRSS {rss} KiB, VmHWM {hwm} KiB, "
                    f"{d_ing:.0f} samples ingested this minute ({d_ing / args.rows / 60:.0f} "
                    f"request bodies decoded a second, {m.skipped - prev_skipped:.0f} skipped), "
                    f"{d_ok:.0f} evaluations ok, mean {fmt_time(d_eval)}, dropped "
                    f"{counts({k: v for k, v in m.dropped.items() if v})}")
            wrk.popen.wait(timeout=60)
            children.stop(wrk)
        result = parse_wrk(out_path.read_text())
    finally:
        children.stop(tap.child)
    first, last = samples[0][1], samples[-1][1]
    log(f"  wrk over the soak: {result.rps:.0f} req/s, p50 {fmt_time(result.p50)}, p99 "
        f"{fmt_time(result.p99)}, {result.requests} requests, errors {result.errors}")
    log(f"  VmRSS at minute 1 {first} KiB, at minute {minutes} {last} KiB: "
        f"{last - first:+d} KiB ({(last - first) / first * 100:+.1f} %), "
        f"peak (VmHWM) {samples[-1][2]} KiB")
    return {"samples": samples, "wrk": result, "rss0": rss0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of direct/nginx/tap (3)")
    ap.add_argument("--duration", type=int, default=20, help="seconds per measured run (20)")
    ap.add_argument("--warmup", type=int, default=2,
                    help="seconds of untimed load before each measured run (2)")
    ap.add_argument("--connections", default="32",
                    help="wrk -c (32); a list such as 16,32,64,128 runs the comparison at each")
    ap.add_argument("--threads", type=int, default=2, help="wrk -t (2)")
    ap.add_argument("--rows", type=int, default=8, help="rows per tensor in a request (8)")
    ap.add_argument("--bodies", type=int, default=64,
                    help="distinct request bodies wrk cycles through (64; 1 = one static body)")
    ap.add_argument("--layout", choices=["pinned", "shared"], default="pinned",
                    help="pinned (default): the proxy on its own CPU(s), wrk and the upstream "
                         "on the others; shared: nothing pinned, nginx worker_processes auto")
    ap.add_argument("--proxy-cpus", type=int, default=1,
                    help="CPUs for the proxy under test with --layout pinned (1)")
    ap.add_argument("--eval-interval", default="1s", help="the tap's --eval-interval (1s)")
    ap.add_argument("--soak", type=int, default=0, metavar="MINUTES",
                    help="also run the tap under continuous load for MINUTES, sampling VmRSS")
    ap.add_argument("--soak-only", action="store_true", help="skip the comparison")
    ap.add_argument("--targets", default="direct,nginx,tap",
                    help="comma-separated targets of the comparison (direct,nginx,tap)")
    ap.add_argument("--no-build", action="store_true", help="use the binary already built")
    ap.add_argument("--keep-temp", action="store_true", help="keep the temp dir (configs, logs)")
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--wrk", default=shutil.which("wrk") or "/usr/bin/wrk")
    args = ap.parse_args()
    if args.soak_only and args.soak <= 0:
        ap.error("--soak-only needs --soak MINUTES")
    try:
        sweep = [int(c) for c in args.connections.split(",")]
    except ValueError:
        ap.error(f"--connections takes a number or a comma-separated list (got {args.connections})")
    if not sweep or min(sweep) < 1:
        ap.error("--connections: at least one connection")
    args.connections = sweep[0]
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = set(args.targets) - {"direct", "nginx", "tap"}
    if unknown or not args.targets:
        ap.error(f"--targets takes direct, nginx and tap (got {', '.join(sorted(unknown)) or 'none'})")
    for tool in (args.nginx, args.wrk):
        if not Path(tool).exists():
            sys.exit(f"{tool} not found (apt-get install -y --no-install-recommends nginx wrk)")

    command = shlex.join(["python3", "benches/peers/proxy.py", *sys.argv[1:]])
    # Ctrl-C raises KeyboardInterrupt even where SIGINT was inherited as ignored (a background
    # job); SIGTERM and SIGHUP stop the run the same way.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    load_start = os.getloadavg()
    binary = build(args)
    proxy_cpus, load_cpus, workers, layout_text = layout(args)
    machine = machine_line(args, args.nginx, args.wrk, load_start)
    log(machine)
    log(f"layout: {layout_text}")
    bodies_text = (f"POST {INFER_PATH} with {args.bodies} distinct KServe V2 bodies "
                   f"(12 tensors x {args.rows} rows)")
    if not args.soak_only:
        log(f"load: wrk -t{args.threads} -c{','.join(map(str, sweep))} -d{args.duration}s --latency, "
            f"{args.warmup} s warm-up per run, {args.rounds} round(s), {bodies_text}")
    if args.soak > 0:
        log(f"soak: wrk -t{args.threads} -c{args.connections} -d{args.soak * 60 + 3}s "
            f"--latency against the tap, {bodies_text}")

    tmp = Path(tempfile.mkdtemp(prefix="drifttap-proxy-"))
    children = Children()
    ok = False
    try:
        rng = random.Random(20240611)
        bodies = [request_body(rng, args.rows, i) for i in range(args.bodies)]
        lua = tmp / "v2.lua"
        lua.write_text(lua_script(bodies))
        log(f"request body: {len(bodies[0])} bytes (first of {len(bodies)}), response "
            f"{len(RESPONSE)} bytes; temp dir {tmp}")

        upstream_port = free_port()
        upconf = nginx_conf(tmp, "nginx-upstream", "1", upstream_http(upstream_port))
        upstream = start_nginx(children, args.nginx, upconf, "upstream nginx", upstream_port,
                               load_cpus)
        # A real body through the upstream, to see it is read and answered on a kept-alive
        # connection.
        conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=5)
        for b in bodies[:3]:
            conn.request("POST", INFER_PATH, body=b.encode(),
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            if r.status != 200 or r.read().decode() != RESPONSE:
                raise RuntimeError("the upstream does not answer as configured")
        conn.close()

        results = []
        if not args.soak_only:
            for connections in sweep:
                args.connections = connections
                log("" if len(sweep) == 1 else f"\n{connections} connections")
                results.append((connections, compare(args, children, tmp, binary, args.nginx,
                                                     lua, upstream_port, proxy_cpus, load_cpus,
                                                     workers)))
            args.connections = sweep[0]
        soaked = None
        if args.soak > 0:
            soaked = soak(args, children, tmp, binary, lua, upstream_port, proxy_cpus,
                          load_cpus)
        children.stop(upstream)
        load_end = os.getloadavg()
        log("")
        log(machine + f", at end {' '.join(f'{x:.2f}' for x in load_end)}")
        log(f"layout: {layout_text}")
        log(f"command: {command}")
        summary = []
        for connections, result in results:
            if len(sweep) > 1:
                log(f"\n## {connections} connections")
            args.connections = connections
            summary.append((connections, report(args, *result)))
        if len(summary) > 1:
            report_sweep(summary)
        if soaked:
            report_soak(args, soaked)
        ok = True
        return 0
    except (KeyboardInterrupt, Interrupted) as e:
        log(f"\ninterrupted ({str(e) or 'SIGINT'}): stopping everything")
        return 130
    finally:
        children.stop_all()
        if ok and not args.keep_temp:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log(f"temp dir kept: {tmp}")


def report(args, runs, tap_total: TapMetrics, tap_runs) -> dict:
    """Prints one comparison; returns the medians per target."""
    med = {}
    for target, rs in runs.items():
        if not rs:
            continue
        cpu = [r.cpu_s / r.wrk.requests * 1e6 for r in rs if r.cpu_s is not None and r.wrk.requests]
        med[target] = {
            "rps": median([r.wrk.rps for r in rs]),
            "p50": median([r.wrk.p50 for r in rs]),
            "p90": median([r.wrk.p90 for r in rs]),
            "p99": median([r.wrk.p99 for r in rs]),
            "cpu": median(cpu) if cpu else None,
            "busy": median([r.cpu_s / r.wrk.seconds * 100 for r in rs
                            if r.cpu_s is not None]) if cpu else None,
            "switches": median([r.switches / r.wrk.requests for r in rs
                                if r.switches is not None and r.wrk.requests]) if cpu else None,
            "errors": sum(r.wrk.errors for r in rs),
            "all_rps": [r.wrk.rps for r in rs],
        }
    log("")
    log(f"tap metrics over its {len(tap_runs)} run(s) (warm-up included): "
        f"{tap_total.ingested:.0f} samples ingested from the tap "
        f"({sum(n for _, _, n in tap_runs) * args.rows} rows in the requests wrk completed); "
        f"{tap_total.skipped:.0f} payloads skipped by sampling; payloads dropped by reason: "
        f"{counts(tap_total.dropped)}; decode errors: "
        f"{counts({k: v for k, v in tap_total.decode_errors.items() if v})}; evaluations "
        f"{counts(tap_total.evaluations)}; mean evaluation duration "
        f"{fmt_time(tap_total.eval_sum / tap_total.eval_count) if tap_total.eval_count else '-'}"
        f"; tap requests by class {counts({k: v for k, v in tap_total.tap_requests.items() if v})}")
    groups = [r.threads for r in runs.get("tap", []) if r.threads]
    if groups:
        n = sum(r.wrk.requests for r in runs.get("tap", []) if r.threads)
        tot = {k: sum(g[k] for g in groups) for k in groups[0]}
        log("tap CPU by thread over the measured runs: " + ", ".join(
            f"{k} {v / n * 1e6:.1f} µs/req" for k, v in tot.items()))

    log("")
    log("| target | req/s (median) | p50 | p90 | p99 | proxy CPU per request | proxy busy "
        "| proxy context switches per request | req/s, each round |")
    log("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    names = {"direct": "wrk → upstream (no proxy)", "nginx": "nginx reverse proxy",
             "tap": "drifttap tap (evaluating every " + args.eval_interval + ")"}
    for target, m in med.items():
        cpu = f"{m['cpu']:.1f} µs" if m["cpu"] is not None else "—"
        sw = f"{m['switches']:.2f}" if m["switches"] is not None else "—"
        busy = f"{m['busy']:.0f} %" if m["busy"] is not None else "—"
        err = f" ({m['errors']} errors)" if m["errors"] else ""
        log(f"| {names[target]}{err} | {m['rps']:.0f} | {fmt_time(m['p50'])} | "
            f"{fmt_time(m['p90'])} | {fmt_time(m['p99'])} | {cpu} | {busy} | {sw} | "
            f"{', '.join(f'{x:.0f}' for x in m['all_rps'])} |")
    if "tap" in med and "nginx" in med:
        t, n = med["tap"], med["nginx"]
        line = (f"\ntap / nginx: throughput {t['rps'] / n['rps']:.2f}×, p50 "
                f"{t['p50'] / n['p50']:.2f}×, p99 {t['p99'] / n['p99']:.2f}×")
        if t["cpu"] and n["cpu"]:
            line += f", CPU per request {t['cpu'] / n['cpu']:.2f}×"
        log(line)
    if "direct" in med:
        d = med["direct"]
        for target in ("nginx", "tap"):
            if target in med:
                m = med[target]
                diff = m["p99"] - d["p99"]
                log(f"{target} against direct: throughput {m['rps'] / d['rps']:.2f}×, p99 "
                    f"{m['p99'] / d['p99']:.2f}× ({'+' if diff >= 0 else '−'}"
                    f"{fmt_time(abs(diff))})")
    return med


def report_sweep(summary) -> None:
    """One line per connection count: the two proxies side by side."""
    log("\n## tap / nginx by connections")
    log("| connections | nginx req/s | tap req/s | throughput | p99 nginx | p99 tap | p99 "
        "| CPU per request | busy nginx / tap |")
    log("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for connections, med in summary:
        if "tap" not in med or "nginx" not in med:
            continue
        t, n = med["tap"], med["nginx"]
        cpu = f"{t['cpu'] / n['cpu']:.2f}×" if t["cpu"] and n["cpu"] else "—"
        busy = (f"{n['busy']:.0f} % / {t['busy']:.0f} %"
                if t["busy"] is not None and n["busy"] is not None else "—")
        log(f"| {connections} | {n['rps']:.0f} | {t['rps']:.0f} | {t['rps'] / n['rps']:.2f}× | "
            f"{fmt_time(n['p99'])} | {fmt_time(t['p99'])} | {t['p99'] / n['p99']:.2f}× | {cpu} | "
            f"{busy} |")


def report_soak(args, soaked) -> None:
    s = soaked["samples"]
    w = soaked["wrk"]
    log("")
    log(f"| soak, {args.soak} min | VmRSS | VmHWM | samples ingested | evaluations ok "
        "| mean evaluation |")
    log("|---|---:|---:|---:|---:|---:|")
    log(f"| start (idle) | {soaked['rss0'] / 1024:.1f} MiB | | | | |")
    for minute, rss, hwm, d_ing, d_ok, d_eval, _ in s:
        log(f"| minute {minute} | {rss / 1024:.1f} MiB | {hwm / 1024:.1f} MiB | {d_ing:.0f} | "
            f"{d_ok:.0f} | {fmt_time(d_eval)} |")
    first, last = s[0][1], s[-1][1]
    m = s[-1][6]
    log(f"\nsoak: {w.rps:.0f} req/s over {args.soak} min ({w.requests} requests, "
        f"{w.errors} errors), p99 {fmt_time(w.p99)}; VmRSS {first / 1024:.1f} MiB at minute 1, "
        f"{last / 1024:.1f} MiB at minute {args.soak} ({last - first:+d} KiB, "
        f"{(last - first) / first * 100:+.1f} %); {m.ingested:.0f} samples ingested, "
        f"{m.skipped:.0f} payloads skipped by sampling, "
        f"payloads dropped {counts({k: v for k, v in m.dropped.items() if v})}, evaluations "
        f"{counts(m.evaluations)}")


if __name__ == "__main__":
    sys.exit(main())
