"""Gunicorn settings for `manage.py serve` and the production image."""

import os

workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
# A streamed answer holds a thread for as long as it is written; with 4, eight answers at once left searches
# waiting a minute for a thread (bench.load --contention 8). Threads waiting on the model cost little.
threads = int(os.environ.get("CLEANROOM_WEB_THREADS", "16"))
# The first question loads the models (tens of seconds on a cold disk); do not kill the worker meanwhile.
timeout = int(os.environ.get("CLEANROOM_WEB_TIMEOUT", "300"))
accesslog = "-"


def post_worker_init(worker) -> None:  # noqa: ANN001
    if os.environ.get("CLEANROOM_WARMUP") == "1":
        from cleanroom.warmup import warm_up_in_background

        warm_up_in_background()
