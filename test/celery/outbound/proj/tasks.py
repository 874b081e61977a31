"""Python Celery tasks that Conveyor sends work to (test/celery/*.test.ts, outbound half)."""
import os
import time

from celery import Celery

url = os.environ['CELERY_BROKER_URL']
app = Celery('proj', broker=url, backend=url)
app.conf.task_track_started = True
app.conf.worker_hijack_root_logger = False
app.conf.broker_connection_retry_on_startup = True


class Boom(Exception):
    pass


@app.task
def mul(x, y):
    return x * y


@app.task
def fail(message):
    raise Boom(message)


@app.task
def greet(name, greeting='hello'):
    return f'{greeting} {name}'


@app.task
def slow(seconds):
    time.sleep(seconds)
    return seconds


_attempts = {}


@app.task(bind=True, max_retries=2, default_retry_delay=0.5)
def flaky(self, key):
    """Fails its first run (Celery's retry), succeeds the next: answers the attempt number."""
    n = _attempts[key] = _attempts.get(key, 0) + 1
    if n == 1:
        raise self.retry(exc=Boom('first try'))
    return n
