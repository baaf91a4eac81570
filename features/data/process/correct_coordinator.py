#!/usr/bin/env python3
"""python-correct: a coordinator that follows docs/process-protocol.md to the letter.

Every call, single-threaded: read a request line, answer it, flush stdout. Each change is
appended to <state_dir>/log.jsonl and flushed before it is acknowledged, and a restart on the
same state directory replays that log, so a `kill -9` loses nothing acknowledged. Time comes
only from the requests' now_ns (virtual_time true).

The code lives in coordinator_core.py, which the planted-defect variants in this folder
share; this file only names the class to run. Config: correct.toml.
"""
import sys

sys.dont_write_bytecode = True  # no __pycache__ left in the repository
from coordinator_core import Coordinator, main  # noqa: E402

if __name__ == "__main__":
    main(Coordinator)
