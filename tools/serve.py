"""Serve predictions over HTTP (FastAPI + uvicorn) from a model or an inference directory.

    python tools/serve.py --model_dir OUT/inference --host 127.0.0.1 --port 8189
    curl -s localhost:8189/predict -H 'Content-Type: application/json' \\
         -d '{"inputs": ["The goalie made forty saves."], "options": {"top_k": 2}}'

``--model_dir`` is what ``ernie_res.Predictor`` takes: an exported inference directory
(``tools/export_model.py``; Paddle Inference, starts in about a second) or a trained model
directory (``OUT/best``; the dynamic graph, starts in several seconds). ``--port 0`` picks a
free port. Once the server listens it writes ``ready: http://HOST:PORT ...`` to standard error,
where every log line goes; standard output stays empty.

Endpoints (PaddleNLP's ``SimpleServer`` shape, ``{"data", "parameters"} -> {"result"}``, with
this package's names):

``POST /predict``  ``{"inputs": [...], "options": {...}}`` -> ``{"results": [...]}``: what
                   ``Predictor.predict(inputs, **options)`` returns, one row per input in input
                   order: a prediction, ``{"id", "error"}`` for a bad input, ``{"id", "blank":
                   true}`` for an empty one. ``inputs`` holds strings or JSON records
                   (``{"text"}``, REL ``{"text", "e1", "e2"}``, SEQ ``{"tokens"}``); ``options``
                   are ``tools/infer.py``'s (``top_k``, ``batch_size``, ``strict``, GEN's
                   ``mode``...; null means the default).
``GET /health``    ``{"status": "ok", "task", "kind", "labels": n, "pending", ...}``.

A refused request gets a JSON ``{"error": message}`` and never a traceback: 400 for a body that
is not UTF-8 JSON, 413 for a body over ``--max_body_bytes`` or more than ``--max_batch_records``
inputs (or GEN samples), 415 for a Content-Type other than ``application/json``, 422 for a
request of the wrong shape or an unknown or out-of-range option (the ``ValueError`` of
``predict``), 404/405 for another path or method. Any other failure is a 500 with a short
message; its traceback goes to the log.

A predictor is not thread-safe, so one worker thread owns it: the predictor is built there and
every ``predict`` runs there, one request at a time in arrival order, while the event loop keeps
reading requests and answering ``/health``. Requests are not merged into shared batches: each
is answered exactly as ``Predictor.predict`` would answer it alone. For more throughput run
several servers (one predictor each) behind a balancer. SIGTERM or SIGINT stops the server
gracefully: it stops listening, finishes the requests under way (at most
``--graceful_timeout`` seconds) and exits with status 0. The exit status is 2 when the model
cannot be loaded (``error: ...``) and 1 when the server cannot listen (the port is taken...).
"""
import argparse
import asyncio
import contextlib
import difflib
import json
import os
import re
import signal
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor

import _bootstrap
from _deploy import add_deploy_arguments, at_least, predictor_kwargs

DEFAULT_MAX_BATCH_RECORDS = 256
DEFAULT_MAX_BODY_BYTES = 4 << 20
#: ``predict`` options besides the ranged ones of ``ernie_res.predict_options``: how to check
#: each (GEN's choices are ``tools/infer.py``'s)
CHOICE_OPTIONS = {"mode": ("sample", "reconstruct", "interpolate"),
                  "decoding": ("sample", "greedy", "beam")}
TYPED_OPTIONS = {"strict": (bool, "true or false"), "seed": (int, "an integer")}
#: a ``\\uD800``-``\\uDFFF`` escape: the only way a lone surrogate gets into parsed UTF-8 JSON
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class Refused(Exception):
    """A request the server answers with a 4xx status and ``{"error": message}``."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Serve an ernie_res model over HTTP: POST /predict, "
                                            "GET /health.")
    p.add_argument("--model_dir", required=True,
                   help="an inference directory (tools/export_model.py) or OUT/best")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=at_least(0), default=8189, help="0 picks a free port")
    add_deploy_arguments(p)
    g = p.add_argument_group("limits")
    g.add_argument("--max_batch_records", type=at_least(1), default=DEFAULT_MAX_BATCH_RECORDS,
                   help="inputs (or GEN samples) per request")
    g.add_argument("--max_body_bytes", type=at_least(1), default=DEFAULT_MAX_BODY_BYTES,
                   help="request body size")
    g.add_argument("--graceful_timeout", type=at_least(1), default=30,
                   help="seconds to finish the requests under way at shutdown")
    p.add_argument("--access_log", action="store_true", help="log every request (uvicorn)")
    return p.parse_args(argv)


class Worker:
    """The one thread that owns the predictor: it is built there and every ``predict`` runs
    there, one call at a time, in submission order."""

    def __init__(self):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="predict")
        self.predictor = None
        self.pending = 0

    def load(self, factory):
        self.predictor = self._pool.submit(factory).result()
        return self.predictor

    async def predict(self, inputs, options):
        self.pending += 1          # only the event loop's thread touches the count
        try:
            return await asyncio.wrap_future(
                self._pool.submit(self.predictor.predict, inputs, **options))
        finally:
            self.pending -= 1

    def close(self):
        self._pool.shutdown(wait=True, cancel_futures=True)


# -- reading a request
async def read_json_body(request, max_bytes):
    """The request's JSON body, checked: Content-Type, size (before and while reading), UTF-8,
    JSON syntax, no unpaired surrogate."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise Refused(415, f"expected Content-Type: application/json, got "
                           f"{request.headers.get('content-type', 'none')!r}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise Refused(413, f"request body: {declared} bytes; this server takes at most "
                           f"{max_bytes} (--max_body_bytes)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise Refused(413, f"request body: more than {max_bytes} bytes; this server takes "
                               f"at most {max_bytes} (--max_body_bytes)")
        chunks.append(chunk)
    try:
        text = b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as err:
        raise Refused(400, f"request body: not UTF-8 ({err})") from None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as err:
        raise Refused(400, f"invalid JSON: {err}") from None
    except RecursionError:
        raise Refused(400, "invalid JSON: nested too deeply") from None
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise Refused(400, "invalid JSON: a string holds an unpaired surrogate escape "
                               "(\\ud800-\\udfff), which is not Unicode text") from None
    return body


def _option_error(name, value):
    """What is wrong with one option's value (None: nothing), ranges aside."""
    if name in CHOICE_OPTIONS and value not in CHOICE_OPTIONS[name]:
        return f"expected one of {', '.join(CHOICE_OPTIONS[name])}, got {value!r}"
    if name in TYPED_OPTIONS:
        kind, words = TYPED_OPTIONS[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return f"expected {words}, got {json.dumps(value)}"
    return None


def parse_request(body, max_records):
    """``(inputs, options)`` of a ``/predict`` body; ``Refused`` when it is not one."""
    from ernie_res.predict_options import PREDICT_OPTIONS, check_predict_options

    shape = 'a JSON object {"inputs": [...], "options": {...}}'
    if not isinstance(body, dict):
        raise Refused(422, f"expected {shape}, got a JSON {type(body).__name__}")
    unknown = sorted(set(body) - {"inputs", "options"})
    if unknown:
        raise Refused(422, f"unknown field {unknown[0]!r}: expected {shape}")
    if "inputs" not in body:
        raise Refused(422, 'inputs: required (a list of strings or JSON records; [] for GEN '
                           '"mode": "sample")')
    inputs, options = body["inputs"], body.get("options")
    if not isinstance(inputs, list):
        raise Refused(422, f"inputs: expected a list of strings or JSON records, got a JSON "
                           f"{type(inputs).__name__}")
    if len(inputs) > max_records:
        raise Refused(413, f"inputs: {len(inputs)} in one request; this server takes at most "
                           f"{max_records} (--max_batch_records)")
    options = {} if options is None else options
    if not isinstance(options, dict):
        raise Refused(422, f"options: expected a JSON object, got a JSON "
                           f"{type(options).__name__}")
    known = sorted(PREDICT_OPTIONS) + sorted(CHOICE_OPTIONS) + sorted(TYPED_OPTIONS)
    for name, value in options.items():
        if name not in known:
            near = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {near[0]}? " if near else ""
            raise Refused(422, f"options: unknown option {name!r}; {hint}expected one of "
                               f"{', '.join(known)}")
        problem = None if value is None else _option_error(name, value)
        if problem:
            raise Refused(422, f"options: {name}: {problem}")
    try:
        check_predict_options(options)
    except ValueError as err:
        raise Refused(422, f"options: {err}") from None
    if (options.get("num_samples") or 0) > max_records:
        raise Refused(413, f"options: num_samples {options['num_samples']}; this server "
                           f"gives at most {max_records} per request (--max_batch_records)")
    return inputs, {k: v for k, v in options.items() if v is not None}


# -- the application
def build_app(worker, info, max_records, max_body_bytes, logger):
    """The FastAPI application over ``worker``'s predictor; ``info`` goes into ``/health``."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    def error(status, message):
        return JSONResponse({"error": message}, status_code=status)

    app = FastAPI(title="ernie_res", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(HTTPException)
    async def http_error(request, exc):
        message = str(exc.detail)
        if exc.status_code in (404, 405):
            message = (f"{message}: {request.method} {request.url.path}; this server answers "
                       f"POST /predict and GET /health")
        return error(exc.status_code, message)

    @app.exception_handler(Exception)
    async def unexpected(request, exc):
        logger.error(f"{request.method} {request.url.path} failed:\n"
                     + "".join(traceback.format_exception(exc)))
        return error(500, f"internal error ({type(exc).__name__}); see the server log")

    @app.get("/health")
    async def health():
        return dict(info, pending=worker.pending)

    @app.post("/predict")
    async def predict(request: Request):
        try:
            inputs, options = parse_request(await read_json_body(request, max_body_bytes),
                                            max_records)
        except Refused as r:
            logger.info(f"refused ({r.status}): {r.message.splitlines()[0]}")
            return error(r.status, r.message)
        try:
            results = await worker.predict(inputs, options)
        except ValueError as err:     # an option out of range, strict with bad inputs...
            logger.info(f"refused (422): {str(err).splitlines()[0]}")
            return error(422, str(err))
        except Exception as exc:
            logger.error("predict failed:\n" + "".join(traceback.format_exception(exc)))
            return error(500, f"internal error while predicting ({type(exc).__name__}); see "
                              f"the server log")
        return JSONResponse({"results": results})

    return app


def make_server(app, host, port, access_log, graceful_timeout, on_ready):
    """A uvicorn server that calls ``on_ready(url)`` once it listens and, stopped by SIGTERM
    or SIGINT, returns normally (uvicorn itself re-raises the signal after shutting down)."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets)
            if self.started:
                bound_host, bound_port = self.servers[0].sockets[0].getsockname()[:2]
                shown = f"[{bound_host}]" if ":" in bound_host else bound_host
                on_ready(f"http://{shown}:{bound_port}")

        @contextlib.contextmanager
        def capture_signals(self):
            previous = {sig: signal.signal(sig, self.handle_exit)
                        for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                 access_log=access_log, lifespan="off",
                                 timeout_graceful_shutdown=graceful_timeout))


def main(argv=None):
    a = parse_args(argv)
    if not os.path.isdir(a.model_dir):        # before the seconds of importing Paddle
        print(f"error: --model_dir {a.model_dir}: no such directory", file=sys.stderr)
        return 2
    _bootstrap.import_paddle()
    import ernie_res
    from ernie_res import Predictor
    from ernie_res.utils.log import get_logger

    logger = get_logger()
    logger.info(f"loading {a.model_dir}")
    worker = Worker()
    try:
        predictor = worker.load(lambda: Predictor(a.model_dir, **predictor_kwargs(a)))
    except (FileNotFoundError, ValueError) as e:
        worker.close()
        print(f"error: {e}", file=sys.stderr)
        return 2
    info = {"status": "ok", "task": predictor.task, "kind": predictor.kind,
            "labels": len(predictor.labels), "model_dir": str(a.model_dir),
            "max_batch_records": a.max_batch_records, "max_body_bytes": a.max_body_bytes,
            "ernie_res": ernie_res.__version__}
    app = build_app(worker, info, a.max_batch_records, a.max_body_bytes, logger)

    def ready(url):
        logger.info(f"ready: {url} serves {predictor.task} ({predictor.kind}, "
                    f"{len(predictor.labels)} labels): POST {url}/predict, GET {url}/health")

    server = make_server(app, a.host, a.port, a.access_log, a.graceful_timeout, ready)
    try:
        server.run()
    except SystemExit:             # uvicorn's exit when it cannot listen (it logged why)
        pass
    finally:
        worker.close()
    if not server.started:
        return 1
    logger.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
