#!/usr/bin/env python3
"""python-forgetful: a coordinator with ONE planted defect: it acknowledges before it stores.

THE DEFECT: log lines are buffered in memory and written to <state_dir>/log.jsonl only
once 64 changes have piled up (and when stdin closes cleanly). Within one run it is
correct, but `kill -9` loses up to 63 acknowledged changes: after a restart on the same
state directory, claims, completions and even registered agents and submitted items it
answered for are gone (and their ids are minted again).

WHAT SHOULD CATCH IT: the kill-and-restart scenario, which kills the child with
`kill -9` mid-run, restarts it on the same state directory and checks that every
acknowledged change (a claim, a completion) is still there. A run without a kill, or
one that ends with a clean stdin close, will not see it.

Everything else is as in correct_coordinator.py. Config: forgetful.toml.
"""
import sys

sys.dont_write_bytecode = True  # no __pycache__ left in the repository
from coordinator_core import Coordinator, main  # noqa: E402

BATCH = 64  # changes held in memory, already acknowledged, before they reach the file


class ForgetfulCoordinator(Coordinator):
    NAME = "python-forgetful"

    def __init__(self, state_dir):
        super().__init__(state_dir)
        self.unwritten = []

    def append_log(self, line):
        self.unwritten.append(line)  # the defect: the caller acknowledges right after this
        if len(self.unwritten) >= BATCH:
            self.write_batch()

    def write_batch(self):
        self.log_file.write("".join(self.unwritten))
        self.log_file.flush()
        self.unwritten = []

    def close(self):
        self.write_batch()  # only a clean exit saves the tail
        super().close()


if __name__ == "__main__":
    main(ForgetfulCoordinator)
