"""Python side of the Celery interoperability tests: a producer and result reader.

usage: python3 client.py BROKER_URL QUEUE 'JSON list of operations'
Prints one JSON list: the answer of each operation, in order.

  {"op": "send", "name": ..., "args": [...], "kwargs": {...}, "options": {...},
   "serializer": "json"|"pickle", "protocol": 2|1}       -> {"id": ...}
  {"op": "delay", "name": ..., "args": [...], "kwargs": {...}} -> {"id": ...} (a task object, routed by task_routes)
  {"op": "get", "id": ..., "timeout": 10}                -> {"ok": true, "result": ...} | {"ok": false, "exc_type", "exc_module", "exc_args"}
  {"op": "state", "id": ...}                             -> {"state": ..., "result": ...}
  {"op": "revoke", "id": ..., "terminate": false}        -> {} (AsyncResult.revoke: a broadcast on the pidbox)
"""
import datetime
import json
import sys

from celery import Celery

broker, queue, ops = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])


def make_app(serializer="json", protocol=2):
    app = Celery("proj", broker=broker, backend=broker)
    app.conf.update(
        task_serializer=serializer,
        accept_content=["json", "pickle"],
        result_accept_content=["json"],
        task_protocol=protocol,
        task_routes={"proj.tasks.*": {"queue": queue}},
        broker_connection_retry_on_startup=True,
    )
    return app


apps = {}


def app_for(serializer="json", protocol=2):
    key = (serializer, protocol)
    if key not in apps:
        apps[key] = make_app(serializer, protocol)
    return apps[key]


def options(o):
    o = dict(o or {})
    for k in ("eta",):
        if k in o:
            o[k] = datetime.datetime.fromtimestamp(o[k], tz=datetime.timezone.utc)
    return o


out = []
for op in ops:
    kind = op["op"]
    if kind == "send":
        app = app_for(op.get("serializer", "json"), op.get("protocol", 2))
        r = app.send_task(op["name"], args=op.get("args", []), kwargs=op.get("kwargs", {}), queue=queue, **options(op.get("options")))
        out.append({"id": r.id})
    elif kind == "delay":
        app = app_for()
        def stub(*a, **k):
            return None

        task = app.task(name=op["name"])(stub)
        r = task.delay(*op.get("args", []), **op.get("kwargs", {}))
        out.append({"id": r.id})
    elif kind == "get":
        r = app_for().AsyncResult(op["id"])
        try:
            out.append({"ok": True, "result": r.get(timeout=op.get("timeout", 10), propagate=True)})
        except Exception as e:  # the exception Celery raises for a FAILURE
            out.append({"ok": False, "exc_type": type(e).__name__, "exc_module": type(e).__module__, "exc_args": [str(a) for a in e.args]})
    elif kind == "state":
        r = app_for().AsyncResult(op["id"])
        out.append({"state": r.state, "result": r.result if r.state == "SUCCESS" or r.state == "STARTED" else str(r.result)})
    elif kind == "revoke":
        app_for().AsyncResult(op["id"]).revoke(terminate=op.get("terminate", False))
        out.append({})
    else:
        raise SystemExit("unknown op " + kind)
print(json.dumps(out))
