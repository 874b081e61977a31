"""The benchmark's Python side: a producer of N messages and the equivalent trivial task.

Produce: python3 app.py BROKER N QUEUE   (sends proj.tasks.add(i, 1) N times, protocol 2, JSON)
Worker:  CELERY_BENCH_BROKER=... python3 -m celery -A app worker -Q QUEUE -P prefork|threads -c N
"""
import os
import sys

from celery import Celery

app = Celery("proj", broker=os.environ.get("CELERY_BENCH_BROKER", "redis://127.0.0.1:6379/6"), backend=os.environ.get("CELERY_BENCH_BROKER", "redis://127.0.0.1:6379/6"))
app.conf.update(worker_hijack_root_logger=False)


@app.task(name="proj.tasks.add")
def add(a, b):
    return a + b


if __name__ == "__main__":
    broker, n, queue = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    app.conf.broker_url = broker
    app.conf.result_backend = broker
    with app.producer_or_acquire() as producer:
        for i in range(n):
            app.send_task("proj.tasks.add", args=[i, 1], queue=queue, producer=producer)
