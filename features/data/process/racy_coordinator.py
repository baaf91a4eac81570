#!/usr/bin/env python3
"""python-racy: a coordinator with ONE planted defect, a check-then-set race in claim.

THE DEFECT: each request is handled on its own thread, and `claim` reads the item ("is it
open, is the role right?"), sleeps 2 ms, and only then writes "claimed by me", without
holding the state lock across the two. Two claims of one open item that arrive together
both see it open and both answer "claimed": two agents hold the item at the same time
(and the later write can undo what the earlier winner did in between, such as a complete).

WHAT SHOULD CATCH IT: the history check "no item is held by two agents at the same time",
under a real-clock scenario in which many agents race for the same few items. A scenario that
sends one call at a time will not see it: the window only opens when claims of one item
overlap.

Everything else is correct: the other calls run whole under the state lock (so ids, leases,
completions and handoffs are as in correct_coordinator.py), responses are written whole under
the stdout lock, and every change is logged before it is acknowledged. virtual_time is true:
time still comes only from now_ns; the 2 ms pause is real, but only widens the race.
Config: racy.toml.
"""
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ left in the repository
from coordinator_core import Coordinator, main, uint  # noqa: E402

RACE_WINDOW_S = 0.002  # between the check and the set; a slow disk or busy machine would do


class RacyCoordinator(Coordinator):
    NAME = "python-racy"

    def __init__(self, state_dir):
        super().__init__(state_dir)
        self.threads = []

    def dispatch(self, kind, request):
        if kind == "claim":
            return self.racy_claim(request)  # the defect: not under the lock as a whole
        return super().dispatch(kind, request)

    def racy_claim(self, request):
        (agent_id, agent), (item_id, item) = self.agent(request), self.item(request)
        now_ns = uint(request, "now_ns")
        refusal = self.decide_claim(agent, item)  # check, unlocked...
        if refusal:
            return refusal
        time.sleep(RACE_WINDOW_S)                 # ...another claim may pass the check here...
        with self.lock:                           # ...and the set does not look again.
            return self.take(agent_id, agent, item_id, item, now_ns)

    def serve(self, request):
        """Answers each request on a thread of its own, so calls overlap."""
        if request.get("type") == "hello":
            return super().serve(request)  # the handshake first, before anything overlaps
        thread = threading.Thread(target=super().serve, args=(request,))
        thread.start()
        self.threads = [t for t in self.threads if t.is_alive()] + [thread]

    def close(self):
        for thread in self.threads:  # answer everything in flight before exiting
            thread.join()
        super().close()


if __name__ == "__main__":
    main(RacyCoordinator)
