"""tools/serve.py: a real server process on 127.0.0.1 (``--port 0``) over a tiny DOC model,
spoken to over HTTP. It answers what ``Predictor.predict`` answers in-process, refuses bad
requests with a 4xx and a JSON message (never a traceback), runs one prediction at a time, and
stops cleanly on SIGTERM and SIGINT."""
import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ernie_res import Predictor, inference_dir

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"ready: (http://\S+) serves")
MAX_RECORDS, MAX_BYTES = 8, 4096
TEXTS = ["the goalie stopped the puck in overtime", "space shuttle orbit launch " * 30,
         {"id": "mine", "text": "which graphics card renders polygons"}, "car engine oil"]


class Served:
    """A ``tools/serve.py`` process and where it listens; its log is a file (never a pipe
    that could fill up)."""

    def __init__(self, model_dir, log_path, *flags):
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "w", encoding="utf-8")
        self.proc = subprocess.Popen([sys.executable, "tools/serve.py", "--model_dir",
                                      str(model_dir), "--port", "0", *flags], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=self._log, text=True)
        self.url = None

    def log(self):
        return self.log_path.read_text(encoding="utf-8")

    def wait_ready(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = READY.search(self.log())
            if found:
                self.url = found.group(1)
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"the server did not start:\n{self.log()}")

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Send ``sig`` and return the exit status (killed after ``timeout`` seconds)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


def call(url, path, body=None, method=None, headers=None):
    """``(status, JSON body, Content-Type)`` of one request; ``body``: bytes as they are,
    anything else as JSON with ``Content-Type: application/json``."""
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", **(headers or {})}
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request(method or ("GET" if body is None else "POST"), path, body=body,
                     headers=headers or {})
        response = conn.getresponse()
        return (response.status, json.loads(response.read()),
                response.getheader("Content-Type"))
    finally:
        conn.close()


def post(url, payload):
    """``(status, JSON body)`` of ``POST /predict`` with ``payload`` as JSON."""
    status, body, _ = call(url, "/predict", payload)
    return status, body


@pytest.fixture(scope="module")
def doc_dirs(trained, tmp_path_factory):
    best = trained("doc")
    exported = tmp_path_factory.mktemp("serve_export") / "inference"
    inference_dir.export(best, exported)
    return best, exported


@pytest.fixture(scope="module")
def server(doc_dirs, tmp_path_factory):
    served = Served(doc_dirs[1], tmp_path_factory.mktemp("serve") / "serve.log",
                    "--max_batch_records", str(MAX_RECORDS), "--max_body_bytes", str(MAX_BYTES))
    yield served.wait_ready()
    served.stop()


def test_help_lists_the_flags():
    r = subprocess.run([sys.executable, "tools/serve.py", "--help"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for flag in ("--model_dir", "--port", "--enable_mkldnn", "--precision", "--use_tensorrt",
                 "--batch_size", "--max_batch_records", "--max_body_bytes"):
        assert flag in r.stdout


def test_health_describes_the_model(server, doc_dirs):
    status, body, kind = call(server.url, "/health")
    labels = json.loads((doc_dirs[1] / "labels.json").read_text(encoding="utf-8"))
    assert status == 200 and kind == "application/json"
    assert body["status"] == "ok" and body["task"] == "doc" and body["kind"] == "inference"
    assert body["labels"] == len(labels) and body["pending"] == 0
    assert (body["max_batch_records"], body["max_body_bytes"]) == (MAX_RECORDS, MAX_BYTES)


def test_predict_answers_what_the_predictor_answers_in_process(server, doc_dirs):
    status, body = post(server.url, {"inputs": TEXTS, "options": {"top_k": 2}})
    assert status == 200
    assert body == {"results": Predictor(doc_dirs[1]).predict(TEXTS, top_k=2)}
    assert [r["id"] for r in body["results"]] == ["input:1", "input:2", "mine", "input:4"]
    assert all(len(r["top_k"]) == 2 for r in body["results"])
    status, body = post(server.url, {"inputs": TEXTS[:1], "options": {"top_k": None}})
    assert status == 200 and len(body["results"][0]["top_k"]) == 3     # null: the default
    assert post(server.url, {"inputs": []}) == (200, {"results": []})


def test_blank_and_bad_inputs_are_answered_in_place(server):
    status, body = post(server.url, {"inputs": ["hockey puck", "", "   ", {"txt": "x"}, 7,
                                                {"id": "k", "text": "car"}]})
    rows = body["results"]
    assert status == 200 and [r["id"] for r in rows] == [
        "input:1", "input:2", "input:3", "input:4", "input:5", "k"]
    assert rows[1] == {"id": "input:2", "blank": True}
    assert rows[2] == {"id": "input:3", "blank": True}
    assert rows[3]["error"].startswith('input:4: expected an object with a string "text"')
    assert rows[4]["error"].startswith("input:5: ")
    assert "label" in rows[0] and "label" in rows[5]


def _json(obj):
    return json.dumps(obj).encode("utf-8")


@pytest.mark.parametrize("raw, status, message", [
    (b'{"inputs": ["x"', 400, "invalid JSON: Expecting"),
    (b'{"inputs": ["caf\xe9"]}', 400, "request body: not UTF-8"),
    (b'{"inputs": ["a\\ud800b"]}', 400, "unpaired surrogate"),
    (b"[" * 4000, 400, "invalid JSON: nested too deeply"),
    (_json(["x"]), 422, 'expected a JSON object {"inputs": [...], "options": {...}}, got a '
                        'JSON list'),
    (_json({}), 422, "inputs: required"),
    (_json({"inputs": "x"}), 422, "inputs: expected a list of strings or JSON records, got a "
                                  "JSON str"),
    (_json({"data": ["x"], "inputs": []}), 422, "unknown field 'data'"),
    (_json({"inputs": ["x"] * (MAX_RECORDS + 1)}), 413,
     f"inputs: {MAX_RECORDS + 1} in one request; this server takes at most {MAX_RECORDS} "
     f"(--max_batch_records)"),
    (_json({"inputs": ["x" * MAX_BYTES]}), 413,
     f"this server takes at most {MAX_BYTES} (--max_body_bytes)"),
    (_json({"inputs": ["x"], "options": [1]}), 422, "options: expected a JSON object"),
    (_json({"inputs": ["x"], "options": {"topk": 2}}), 422,
     "options: unknown option 'topk'; did you mean top_k?"),
    (_json({"inputs": ["x"], "options": {"top_k": 0}}), 422,
     "options: top_k: expected an integer >= 1, got 0"),
    (_json({"inputs": ["x"], "options": {"top_p": 1.5}}), 422,
     "options: top_p: expected a number in (0, 1], got 1.5"),
    (_json({"inputs": ["x"], "options": {"strict": "yes"}}), 422,
     'options: strict: expected true or false, got "yes"'),
    (_json({"inputs": [], "options": {"mode": "dream"}}), 422,
     "options: mode: expected one of sample, reconstruct, interpolate, got 'dream'"),
    (_json({"inputs": [], "options": {"num_samples": MAX_RECORDS + 1}}), 413,
     f"options: num_samples {MAX_RECORDS + 1}; this server gives at most {MAX_RECORDS}"),
    # the ValueError of Predictor.predict itself: strict with a bad input
    (_json({"inputs": ["x", 7], "options": {"strict": True}}), 422,
     "strict: 1 bad input record; nothing predicted or written"),
])
def test_a_bad_request_gets_a_4xx_and_a_json_message(server, raw, status, message):
    got, body, kind = call(server.url, "/predict", raw, headers={
        "Content-Type": "application/json"})
    assert (got, kind) == (status, "application/json"), body
    assert set(body) == {"error"} and message in body["error"]
    assert "Traceback" not in body["error"]


def test_the_strict_message_names_the_input_not_a_temporary_file(server):
    status, body = post(server.url, {"inputs": ["x", 7], "options": {"strict": True}})
    assert status == 422 and "input:2: " in body["error"]
    assert "ernie_res_inputs_" not in body["error"]


@pytest.mark.parametrize("headers, shown", [
    ({"Content-Type": "text/plain"}, "'text/plain'"), ({}, "'none'")])
def test_a_body_that_is_not_declared_json_gets_415(server, headers, shown):
    status, body, _ = call(server.url, "/predict", _json({"inputs": ["x"]}), headers=headers)
    assert status == 415
    assert body == {"error": f"expected Content-Type: application/json, got {shown}"}


def test_a_chunked_body_is_cut_off_at_the_limit(server):
    """No Content-Length to refuse up front: the limit holds while the body is read."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    chunks = iter([b'{"inputs": ["'] + [b"x" * 1000] * 5 + [b'"]}'])
    conn.request("POST", "/predict", body=chunks, encode_chunked=True,
                 headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    assert response.status == 413
    assert body == {"error": f"request body: more than {MAX_BYTES} bytes; this server takes "
                             f"at most {MAX_BYTES} (--max_body_bytes)"}


def test_other_paths_and_methods_get_json_404_and_405(server):
    assert call(server.url, "/nope") == (404, {
        "error": "Not Found: GET /nope; this server answers POST /predict and GET /health"},
        "application/json")
    status, body, _ = call(server.url, "/predict")
    assert status == 405 and body["error"].startswith("Method Not Allowed: GET /predict")


def test_concurrent_requests_each_get_their_own_answers(server, doc_dirs):
    """16 requests at once, 8 in flight: none sees another's rows, and each gets what the
    predictor gives for its inputs alone."""
    texts = [f"{word} game number {n}" for n, word in
             enumerate(["hockey", "orbit", "engine", "polygon"] * 4)]
    want = Predictor(doc_dirs[1]).predict
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda t: post(server.url, {"inputs": [t, t[::-1]]}), texts))
    for text, (status, body) in zip(texts, answers):
        assert status == 200 and body["results"] == want([text, text[::-1]])
    assert "Traceback" not in server.log()


class _Recorder:
    """A fake predictor: records the thread that built it, the threads it runs on and how
    many calls overlap."""

    def __init__(self, fail=False):
        self.built_on, self.ran_on = threading.get_ident(), set()
        self.active, self.most, self.fail = 0, 0, fail
        self.lock = threading.Lock()

    def predict(self, inputs, **options):
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
        self.ran_on.add(threading.get_ident())
        time.sleep(0.02)
        with self.lock:
            self.active -= 1
        if self.fail:
            raise RuntimeError("boom: a bug deep in the model")
        return [{"id": f"input:{n}", "echo": x} for n, x in enumerate(inputs, 1)]


def _client(tool, factory):
    """``(worker, TestClient)`` over ``build_app`` with the predictor ``factory()`` makes."""
    import logging

    from fastapi.testclient import TestClient

    serve = tool("serve")
    worker = serve.Worker()
    worker.load(factory)
    app = serve.build_app(worker, {"status": "ok"}, MAX_RECORDS, MAX_BYTES,
                          logging.getLogger("ernie_res"))
    return worker, TestClient(app, raise_server_exceptions=False)


def test_one_thread_builds_the_predictor_and_runs_one_call_at_a_time(tool):
    worker, client = _client(tool, _Recorder)
    fake = worker.predictor
    with client, ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(lambda n: client.post("/predict", json={"inputs": [n]}),
                                range(12)))
    worker.close()
    assert [r.json() for r in replies] == [{"results": [{"id": "input:1", "echo": n}]}
                                           for n in range(12)]
    assert fake.most == 1                                  # never two calls at once
    assert fake.ran_on == {fake.built_on} and fake.built_on != threading.get_ident()


def test_an_unexpected_error_is_a_short_500_and_a_logged_traceback(tool, capsys):
    worker, client = _client(tool, lambda: _Recorder(fail=True))
    with client:
        reply = client.post("/predict", json={"inputs": ["x"]})
    worker.close()
    assert reply.status_code == 500
    assert reply.json() == {"error": "internal error while predicting (RuntimeError); see the "
                                     "server log"}
    err = capsys.readouterr().err
    assert "Traceback" in err and "boom: a bug deep in the model" in err


@pytest.mark.parametrize("sig", [signal.SIGTERM, pytest.param(signal.SIGINT,
                                                                marks=pytest.mark.slow)],
                         ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_server_cleanly(doc_dirs, tmp_path, sig):
    served = Served(doc_dirs[1], tmp_path / "serve.log").wait_ready()
    assert post(served.url, {"inputs": ["hockey"]})[0] == 200
    assert served.stop(sig, timeout=30) == 0
    log = served.log()
    assert log.rstrip().endswith("INFO stopped") and "Traceback" not in log
    assert served.proc.stdout.read() == ""               # everything went to the log
    with pytest.raises(OSError):
        call(served.url, "/health")


def test_a_missing_directory_is_refused_before_paddle_loads(tool, tmp_path, capsys):
    assert tool("serve").main(["--model_dir", str(tmp_path / "no")]) == 2
    assert capsys.readouterr().err == f"error: --model_dir {tmp_path / 'no'}: no such " \
                                      f"directory\n"


@pytest.mark.slow
def test_a_directory_that_holds_no_model_exits_2(tmp_path):
    r = subprocess.run([sys.executable, "tools/serve.py", "--model_dir", str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert f"error: {tmp_path} is not an ernie_res model directory" in r.stderr
    assert "nor is it an inference directory (no deploy.json" in r.stderr


@pytest.mark.slow
def test_a_taken_port_exits_1(doc_dirs):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run([sys.executable, "tools/serve.py", "--model_dir", str(doc_dirs[1]),
                            "--port", str(port)], cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
    assert r.returncode == 1, r.stderr
    assert "address already in use" in r.stderr and "ready:" not in r.stderr


@pytest.mark.slow
def test_a_model_directory_is_served_in_the_dynamic_graph(doc_dirs, tmp_path):
    best = doc_dirs[0]
    served = Served(best, tmp_path / "serve.log").wait_ready()
    try:
        assert call(served.url, "/health")[1]["kind"] == "dynamic"
        status, body = post(served.url, {"inputs": TEXTS, "options": {"top_k": 2}})
        assert status == 200 and body == {"results": Predictor(best).predict(TEXTS, top_k=2)}
    finally:
        assert served.stop() == 0
