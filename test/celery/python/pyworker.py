"""A Python Celery worker app sharing the tests' Redis database, consuming its own queue with a
short visibility timeout (its sweep then restores any unacked entry older than 2 s).
Run: CELERY_TEST_BROKER=... python3 -m celery -A pyworker worker -Q pyq -P solo"""
import os

from celery import Celery

app = Celery("pyworker", broker=os.environ["CELERY_TEST_BROKER"], backend=os.environ["CELERY_TEST_BROKER"])
app.conf.update(broker_transport_options={"visibility_timeout": 2}, worker_hijack_root_logger=False)


@app.task(name="pyworker.noop")
def noop(x):
    return x
