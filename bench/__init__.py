"""Benchmarks, run by hand (`python -m bench.<name>`). They measure the service, not its rate limits: unless the
environment says otherwise, the in-process benchmarks run with the API and answer rate limits off. A running
instance that `bench.load` calls has its own: start it with CLEANROOM_API_RATE=off CLEANROOM_ANSWER_RATE=off."""

import os

os.environ.setdefault("CLEANROOM_API_RATE", "off")
os.environ.setdefault("CLEANROOM_ANSWER_RATE", "off")
