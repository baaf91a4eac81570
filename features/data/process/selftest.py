#!/usr/bin/env python3
"""Self-test for the Python process-protocol coordinators in this folder.

Usage: python3 selftest.py [CONFIG.toml ...]   (default: correct, racy and forgetful .toml)

Starts each config's command as swarmspec would ({dir} and {state_dir} substituted, run in
the config's directory), drives it over stdin/stdout and checks its answers against
docs/process-protocol.md: the doc's end-to-end session, wrong_role, lease_lost, release,
handoff, reap after lease expiry, errors, clean exit, kill -9 and restart, and a burst of
concurrent claims. The planted defects are checks too: python-forgetful must lose an
acknowledged completion across kill -9, python-racy must let two claims of one item win.
The children's stderr passes through. Exits 1 on any mismatch. A smoke test of these
coordinators, not swarmspec's suite.
"""
import json, os, queue, signal, subprocess, sys, tempfile, threading, time, tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
L, T = 30_000_000_000, 10**12  # the lease we announce; a time after the first steps
DEFECTS = {"python-racy": "double_claim", "python-forgetful": "forgets"}  # the rest: none
CALLS = ["register", "submit", "peek", "claim", "progress", "complete", "release",
         "handoff", "heartbeat", "reap", "unfinished"]
failures = []


def R(kind, **fields):
    return dict(type=kind, **fields)


def E(kind):
    return {"error": {"kind": kind, "definite": True}}  # its "text" is free


def outcome(name, **fields):
    return dict(outcome=name, **fields)


def peeked(status, stage, role, holder, team=0):
    return dict(status=status, stage=stage, role=role, team=team, holder=holder)


def reaped(*rows):
    return {"reaped": [{"item": i, "previous_holder": a, "stage": s} for i, a, s in rows]}


# Agents 1, 2 are developers, 3 a tester; the items are numbered in order of submission.
SCRIPT = [
    # The doc's end-to-end session (its two claims are sent one after the other here).
    R("register", role="developer", team=0, now_ns=0), {"agent": 1},
    R("register", role="developer", team=0, now_ns=0), {"agent": 2},
    R("submit", work_type="feature", team=0, pipeline=["developer"], now_ns=5), {"item": 1},
    R("claim", agent=1, item=1, now_ns=10), outcome("claimed", stage=0),
    R("claim", agent=2, item=1, now_ns=10), outcome("conflict", holder=1),
    R("complete", agent=1, item=1, now_ns=20), outcome("completed", stage=0, next=None),
    R("peek", item=1, some_later_field=1), peeked("done", 0, "developer", 1),
    # wrong_role, lease_lost and handoff along a two-stage pipeline.
    R("register", role="tester", team=3, now_ns=30), {"agent": 3},
    R("submit", work_type="bug", team=3, pipeline=["developer", "tester"], now_ns=30), {"item": 2},
    R("claim", agent=3, item=2, now_ns=31), outcome("wrong_role", needed="developer"),
    R("claim", agent=1, item=2, now_ns=32), outcome("claimed", stage=0),
    R("progress", agent=2, item=2, percent=5, now_ns=33), outcome("lease_lost"),
    R("complete", agent=2, item=2, now_ns=33), outcome("lease_lost"),
    R("release", agent=2, item=2, now_ns=33), outcome("lease_lost"),
    R("progress", agent=1, item=2, percent=50, now_ns=34), outcome("ok"),
    R("complete", agent=1, item=2, now_ns=35), outcome("completed", stage=0, next="tester"),
    R("peek", item=2), peeked("stage_done", 0, "developer", 1, team=3),
    R("claim", agent=3, item=2, now_ns=36), outcome("wrong_role", needed="developer"),
    R("handoff", agent=2, item=2, now_ns=36), outcome("refused"),
    R("handoff", agent=1, item=2, now_ns=36), outcome("handed_off", stage=1, role="tester"),
    R("peek", item=2), peeked("open", 1, "tester", None, team=3),
    R("handoff", agent=1, item=2, now_ns=37), outcome("refused"),
    R("claim", agent=3, item=2, now_ns=38), outcome("claimed", stage=1),
    R("complete", agent=3, item=2, now_ns=39), outcome("completed", stage=1, next=None),
    R("handoff", agent=3, item=2, now_ns=40), outcome("refused"),
    # release, then reap: agent 1 silent for exactly a lease, agent 2 kept alive.
    R("submit", work_type="x", team=0, pipeline=["developer"], now_ns=T), {"item": 3},
    R("submit", work_type="x", team=0, pipeline=["developer"], now_ns=T), {"item": 4},
    R("submit", work_type="x", team=0, pipeline=["developer", "tester"], now_ns=T), {"item": 5},
    R("claim", agent=1, item=3, now_ns=T), outcome("claimed", stage=0),
    R("release", agent=1, item=3, now_ns=T), outcome("ok"),
    R("peek", item=3), peeked("open", 0, "developer", None),
    R("claim", agent=2, item=3, now_ns=T), outcome("claimed", stage=0),
    R("claim", agent=1, item=4, now_ns=T), outcome("claimed", stage=0),
    R("claim", agent=1, item=5, now_ns=T), outcome("claimed", stage=0),
    R("complete", agent=1, item=5, now_ns=T), outcome("completed", stage=0, next="tester"),
    R("heartbeat", agent=2, now_ns=T + L // 2), outcome("ok"),
    R("reap", now_ns=T + L - 1), reaped(),
    R("reap", now_ns=T + L), reaped((4, 1, 0)),
    R("peek", item=4), peeked("open", 0, "developer", None),
    R("complete", agent=1, item=4, now_ns=T + L), outcome("lease_lost"),
    R("claim", agent=1, item=4, now_ns=T + L + 1), outcome("claimed", stage=0),
    R("reap", now_ns=T + 3 * L), reaped((3, 2, 0), (4, 1, 0)),
    R("peek", item=5), peeked("stage_done", 0, "developer", 1),  # never reaped
    R("unfinished"), {"count": 3},
    # Errors.
    R("claim", agent=99, item=1, now_ns=50), E("unknown_agent"),
    R("claim", agent=1, item=99, now_ns=50), E("unknown_item"),
    R("heartbeat", agent=99, now_ns=50), E("unknown_agent"),
    R("register", role="boss", team=0, now_ns=50), E("invalid"),
    R("submit", work_type="x", team=0, pipeline=[], now_ns=50), E("invalid"),
    R("claim", item=1, now_ns=50), E("invalid"),
    R("progress", agent=1, item=4, percent=101, now_ns=50), E("invalid"),
    R("frobnicate"), E("unsupported"),
]


def check(what, got, want):
    if isinstance(want, dict) and "error" in want and isinstance(got.get("error"), dict):
        got = {"error": {k: got["error"].get(k) for k in ("kind", "definite")}}
    ok = got == want
    print("  %s %s" % ("ok  " if ok else "FAIL", what))
    if not ok:
        print("       got  %r\n       want %r" % (got, want))
        failures.append(what)
    return ok


class Child:
    """One coordinator process; responses are matched to requests by in_reply_to."""

    def __init__(self, config_path, state_dir):
        with open(config_path, "rb") as f:
            config = tomllib.load(f)
        self.name, folder = config.get("name"), os.path.dirname(os.path.abspath(config_path))
        argv = [a.replace("{dir}", folder).replace("{state_dir}", state_dir)
                for a in config["command"]]
        env = dict(os.environ, **config.get("env", {}))
        self.proc = subprocess.Popen(argv, cwd=folder, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.next_id, self.in_flight, self.lines = 0, set(), queue.Queue()
        self.write_lock = threading.Lock()
        threading.Thread(target=self.read_stdout, daemon=True).start()

    def read_stdout(self):
        for line in self.proc.stdout:
            self.lines.put(line)

    def send_raw(self, text):
        with self.write_lock:
            self.proc.stdin.write(text.encode() + b"\n")
            self.proc.stdin.flush()

    def send(self, request):
        with self.write_lock:
            request_id, self.next_id = self.next_id, self.next_id + 1
            self.in_flight.add(request_id)
        self.send_raw(json.dumps(dict(request, id=request_id)))
        return request_id

    def wait(self, ids, timeout=10.0):
        """The responses to these request ids, by id (with in_reply_to taken out)."""
        got, deadline = {}, time.monotonic() + timeout
        while not set(ids) <= got.keys():
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                missing = sorted(set(ids) - got.keys())
                raise AssertionError("no answer to %s in %ss" % (missing, timeout))
            reply = json.loads(line)
            reply_to = reply.pop("in_reply_to", None) if isinstance(reply, dict) else None
            if reply_to not in self.in_flight:
                raise AssertionError("protocol error: stray or second response %r" % line)
            self.in_flight.discard(reply_to)
            got[reply_to] = reply
        return got

    def call(self, request):
        request_id = self.send(request)
        return self.wait([request_id])[request_id]

    def hello(self, epoch=1764612000000000000):
        return self.call(R("hello", protocol=1, lease_ns=L, epoch_unix_ns=epoch))

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def close(self):
        """Closes stdin as swarmspec does: the exit code, or None if still running at 2 s."""
        self.proc.stdin.close()
        try:
            return self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()


def session(config, state):
    """One run, one call at a time, fresh state: SCRIPT, lines without an id, clean exit."""
    c = Child(config, state)
    check("hello", c.hello(), {"type": "hello_ok", "protocol": 1, "name": c.name,
                               "supports": CALLS, "virtual_time": True})
    for request, want in zip(SCRIPT[::2], SCRIPT[1::2]):
        check(json.dumps(request)[:90], c.call(request), want)
    c.send_raw("this is not json")  # neither may be answered: the next wait would see it
    c.send_raw('{"type":"peek","item":1}')
    check("lines without an id are skipped", c.call(R("unfinished")), {"count": 3})
    check("closing stdin exits 0", c.close(), 0)


def restart(config, state):
    """kill -9 and restart on the same state dir, the second time with a torn log line."""
    c = Child(config, state)
    c.hello()
    for request in SCRIPT[:12:2]:  # the doc's session, up to the completion
        c.call(request)
    c.kill()
    c = Child(config, state)
    c.hello()
    peek = c.call(R("peek", item=1))
    if DEFECTS.get(c.name) == "forgets":
        check("forgetful: kill -9 lost the acknowledged completion (peek: %s)" % peek,
              peek.get("status") != "done", True)
        return c.close()
    check("completed item still done after kill -9", peek, peeked("done", 0, "developer", 1))
    check("agent ids not reused", c.call(SCRIPT[0]), {"agent": 3})
    check("item ids not reused", c.call(SCRIPT[4]), {"item": 2})
    c.call(R("claim", agent=3, item=2, now_ns=30))
    c.kill()
    with open(os.path.join(state, "log.jsonl"), "ab") as log:
        log.write(b'{"agents":[{"id')  # as if killed in the middle of a write
    c = Child(config, state)
    c.hello()
    check("torn last line ignored", c.call(R("peek", item=2)), peeked("claimed", 0, "developer", 3))
    c.call(R("complete", agent=3, item=2, now_ns=31))
    c.kill()
    c = Child(config, state)
    c.hello()
    check("changes after a torn line survive", c.call(R("peek", item=2))["status"], "done")
    c.close()


def race(config, state, agents=16, items=20, rounds=5):
    """Real clock: one sender thread per agent, and all of them claim each item at the same
    moment (a barrier per item; else one thread sends its whole batch in one GIL slice)."""
    c = Child(config, state)
    epoch = time.time_ns()
    now = lambda: time.time_ns() - epoch
    c.hello(epoch)
    devs = [c.call(R("register", role="developer", team=0, now_ns=now()))["agent"]
            for _ in range(agents)]
    doubled = 0
    for _ in range(rounds):
        submit = R("submit", work_type="x", team=0, pipeline=["developer"])
        work = [c.call(dict(submit, now_ns=now()))["item"] for _ in range(items)]
        barrier, sent, sent_lock = threading.Barrier(agents), [], threading.Lock()

        def claim_all(agent):
            for item in work:
                barrier.wait()
                request_id = c.send(R("claim", agent=agent, item=item, now_ns=now()))
                with sent_lock:
                    sent.append((request_id, item))
        threads = [threading.Thread(target=claim_all, args=(a,)) for a in devs]
        [t.start() for t in threads]
        [t.join() for t in threads]
        replies = c.wait([request_id for request_id, _ in sent])
        winners = {item: 0 for item in work}
        for request_id, item in sent:
            winners[item] += replies[request_id].get("outcome") == "claimed"
        check("every item claimed", min(winners.values()) >= 1, True)
        doubled += sum(n > 1 for n in winners.values())
        if DEFECTS.get(c.name) == "double_claim" and doubled:
            break  # shown; the others run every round
    if DEFECTS.get(c.name) == "double_claim":
        check("racy: two claims of one item both won (%d items)" % doubled, doubled > 0, True)
    else:
        check("one winner per item, %d agents racing" % agents, doubled, 0)
    c.close()


def main(configs):
    for config in configs:
        print(config)
        for test in (session, restart, race):
            with tempfile.TemporaryDirectory(prefix="selftest-") as state:
                try:
                    test(config, state)
                except (AssertionError, KeyError, ValueError, OSError) as e:
                    check("%s ran to the end (%r)" % (test.__name__, e), False, True)
    print("FAILED: %d checks" % len(failures) if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    default = [os.path.join(HERE, name + ".toml") for name in ("correct", "racy", "forgetful")]
    sys.exit(main(sys.argv[1:] or default))
