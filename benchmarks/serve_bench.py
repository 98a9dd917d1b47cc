"""Load test of ``tools/serve.py``: a bounded number of ``POST /predict`` requests from a pool of
client threads, with latency percentiles, throughput and errors.

    python benchmarks/serve_bench.py --url http://127.0.0.1:8189 [--requests 1000]
        [--concurrency 8] [--inputs-per-request 1] [--input FILE] [--options '{"top_k": 1}']
    python benchmarks/serve_bench.py --model_dir OUT/inference [--serve-args '--cpu_threads 2']

``--model_dir`` starts a server on a free port of 127.0.0.1 (``tools/serve.py --port 0``),
loads it, and stops it with SIGTERM afterwards (its log goes to a temporary file, printed if it
fails). ``--input`` is a text file (one input per non-blank line) or a ``.jsonl`` file of
records; without it a few built-in sentences are used. Request N sends the next
``--inputs-per-request`` inputs, cycling through them.

Each client thread keeps one HTTP/1.1 connection. Latency is from sending a request to having
read its whole answer; ``--warmup`` requests (not timed) go first, one at a time. An error is a
failed connection, a status other than 200, an answer without one row per input, or an
``error`` row. Prints the machine (``lscpu``), the server's ``/health`` and the figures; exits 1
when any request failed. Figures, not a test: the client shares the CPUs with a local server.
"""
import argparse
import http.client
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _machine import cpu  # noqa: E402

SENTENCES = [
    "The goalie stopped forty shots and the team won in overtime.",
    "Which graphics card renders polygons fastest under OpenGL?",
    "The shuttle reached orbit after a two day delay for weather.",
    "My car engine knocks when the oil is low; should I change the filter?",
    "Doctors recommend a second opinion before surgery on the knee.",
    "The bill on firearm registration passed the senate committee.",
    "Is there a driver for this monitor that supports higher refresh rates?",
    "He scored twice in the third period to tie the series.",
]
READY = re.compile(r"ready: (http://\S+) serves")


def read_inputs(path):
    """Inputs from a text file (one per non-blank line) or a ``.jsonl`` file (one record a
    line)."""
    lines = [line for line in Path(path).read_text(encoding="utf-8").splitlines()
             if line.strip()]
    if not lines:
        sys.exit(f"error: --input {path}: no inputs")
    if str(path).endswith(".jsonl"):
        return [json.loads(line) for line in lines]
    return lines


def percentile(sorted_values, q):
    """Nearest-rank percentile (``q`` in [0, 100]) of sorted values."""
    rank = max(1, -(-len(sorted_values) * q // 100))          # ceil, at least 1
    return sorted_values[int(rank) - 1]


class Client:
    """One keep-alive connection per thread; ``post`` returns ``(seconds, error or None)``."""

    def __init__(self, url, timeout):
        self.parts, self.timeout = urlsplit(url), timeout
        self.local = threading.local()

    def _conn(self):
        if getattr(self.local, "conn", None) is None:
            self.local.conn = http.client.HTTPConnection(self.parts.hostname, self.parts.port,
                                                         timeout=self.timeout)
        return self.local.conn

    def get(self, path):
        conn = http.client.HTTPConnection(self.parts.hostname, self.parts.port,
                                          timeout=self.timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        finally:
            conn.close()

    def post(self, inputs, options):
        body = json.dumps({"inputs": inputs, "options": options}).encode("utf-8")
        begin = time.perf_counter()
        try:
            conn = self._conn()
            conn.request("POST", "/predict", body=body,
                         headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read()
            elapsed = time.perf_counter() - begin
        except (OSError, http.client.HTTPException) as err:
            if getattr(self.local, "conn", None) is not None:
                self.local.conn.close()
            self.local.conn = None
            return time.perf_counter() - begin, f"{type(err).__name__}: {err}"
        if response.status != 200:
            return elapsed, f"HTTP {response.status}: {data[:200].decode('utf-8', 'replace')}"
        try:
            rows = json.loads(data)["results"]
        except (ValueError, KeyError, TypeError):
            return elapsed, f"not a results answer: {data[:200]!r}"
        if len(rows) != len(inputs):
            return elapsed, f"{len(rows)} rows for {len(inputs)} inputs"
        bad = [r for r in rows if "error" in r]
        return elapsed, (f"error row: {bad[0]['error']}" if bad else None)


def run_load(client, inputs, args, options):
    """``(latencies, errors, wall seconds)`` of ``args.requests`` requests."""
    k = args.inputs_per_request

    def batch(n):
        return [inputs[(n * k + i) % len(inputs)] for i in range(k)]

    for n in range(args.warmup):
        _, error = client.post(batch(n), options)
        if error:
            sys.exit(f"error: warm-up request failed: {error}")
    begin = time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        results = list(pool.map(lambda n: client.post(batch(n), options),
                                range(args.requests)))
    wall = time.perf_counter() - begin
    return [t for t, _ in results], [e for _, e in results if e], wall


def start_server(model_dir, serve_args, log_file, timeout=300):
    """A ``tools/serve.py`` process on a free port; ``(process, url)``."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "tools" / "serve.py"), "--model_dir",
                             str(model_dir), "--host", "127.0.0.1", "--port", "0",
                             *serve_args], stdout=subprocess.DEVNULL, stderr=log_file)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        found = READY.search(Path(log_file.name).read_text(encoding="utf-8", errors="replace"))
        if found:
            return proc, found.group(1)
        time.sleep(0.1)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    sys.exit("error: the server did not start:\n"
             + Path(log_file.name).read_text(encoding="utf-8", errors="replace"))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="a running server, e.g. http://127.0.0.1:8189")
    target.add_argument("--model_dir", help="start tools/serve.py on this directory")
    p.add_argument("--serve-args", default="", help="more tools/serve.py flags (--model_dir)")
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--inputs-per-request", type=int, default=1)
    p.add_argument("--input", default=None, help="text file (a line each) or .jsonl records")
    p.add_argument("--options", default="{}", help="the requests' options, as JSON")
    p.add_argument("--warmup", type=int, default=8, help="untimed requests first")
    p.add_argument("--timeout", type=float, default=120, help="seconds per request")
    args = p.parse_args(argv)
    for name in ("requests", "concurrency", "inputs_per_request"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')}: expected an integer >= 1")
    try:
        options = json.loads(args.options)
    except ValueError as err:
        p.error(f"--options: expected a JSON object ({err})")
    inputs = read_inputs(args.input) if args.input else SENTENCES

    proc = log = None
    server_failed = False
    url = args.url
    if args.model_dir:
        log = tempfile.NamedTemporaryFile("w", prefix="serve_bench_", suffix=".log",
                                          delete=False)
        proc, url = start_server(args.model_dir, shlex.split(args.serve_args), log)
    try:
        client = Client(url.rstrip("/"), args.timeout)
        try:
            status, health = client.get("/health")
        except (OSError, http.client.HTTPException, ValueError) as err:
            sys.exit(f"error: GET {url}/health failed: {type(err).__name__}: {err}")
        if status != 200:
            sys.exit(f"error: GET {url}/health answered {status}: {health}")
        model, cpus, flags = cpu()
        print(f"machine: {model}, {cpus} logical CPUs, flags: {' '.join(flags) or 'none'}; "
              f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
        print(f"server: {url} {json.dumps(health)}")
        print(f"load: {args.requests} requests, {args.concurrency} concurrent, "
              f"{args.inputs_per_request} input(s) each, {args.warmup} warm-up requests, "
              f"options {json.dumps(options)}")
        latencies, errors, wall = run_load(client, inputs, args, options)
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            log.close()
            if code != 0:
                server_failed = True
                print(f"server exited with status {code}; its log:\n"
                      + Path(log.name).read_text(encoding="utf-8", errors="replace"),
                      file=sys.stderr)
            os.unlink(log.name)
    ms = sorted(t * 1e3 for t in latencies)
    print(f"latency ms: p50 {percentile(ms, 50):.1f}  p90 {percentile(ms, 90):.1f}  "
          f"p99 {percentile(ms, 99):.1f}  max {ms[-1]:.1f}  mean {sum(ms) / len(ms):.1f}")
    print(f"throughput: {args.requests / wall:.1f} requests/s, "
          f"{args.requests * args.inputs_per_request / wall:.1f} inputs/s "
          f"({wall:.2f} s wall)")
    print(f"errors: {len(errors)} of {args.requests}")
    for error in sorted(set(errors))[:5]:
        print(f"  {errors.count(error)} x {error}")
    return 1 if errors or server_failed else 0


if __name__ == "__main__":
    sys.exit(main())
