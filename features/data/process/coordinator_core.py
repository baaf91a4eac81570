"""The shared core of the Python coordinators that speak swarmspec's process protocol.

docs/process-protocol.md is the contract: newline-delimited JSON requests on stdin, one JSON
response per request on stdout (matched by `in_reply_to`), logs on stderr only. Each call's
semantics mirror swarmspec's reference engine (src/coordination/memory.rs).

`Coordinator` is the correct coordinator. The planted-defect variants in this folder
(racy_coordinator.py, forgetful_coordinator.py) subclass it and override only what differs,
so each defect is one small, visible piece of code.

Durability: every mutating call appends the new state of what it changed, as one JSON line,
to `<state_dir>/log.jsonl` and flushes it before the success response is written; a restart
on the same state directory replays the log. We promise to survive `kill -9` (flushed data
is in the kernel), not a power cut, so there is no fsync.
"""
import json
import os
import sys
import threading

ROLES = ("pm", "architect", "developer", "tester", "release")
CALLS = ("register", "submit", "peek", "claim", "progress", "complete", "release",
         "handoff", "heartbeat", "reap", "unfinished")


class CallError(Exception):
    """A call we cannot serve. Always raised before any change, so it is `definite`."""

    def __init__(self, kind, text):
        super().__init__(text)
        self.kind, self.text = kind, text


def log(message):
    print(message, file=sys.stderr, flush=True)  # stdout belongs to the protocol


def uint(request, name):
    """An unsigned integer field (Python's bool is an int, JSON's true is not)."""
    value = request.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CallError("invalid", "%r must be an unsigned integer, got %r" % (name, value))
    return value


def role(value, name="role"):
    if value not in ROLES:
        raise CallError("invalid", "%r must be one of %s, got %r" % (name, "/".join(ROLES), value))
    return value


class Coordinator:
    NAME = "python-correct"

    def __init__(self, state_dir):
        self.agents = {}  # id -> {"role", "team", "seen"}: seen = last-seen time, ns
        # id -> {"work_type", "team", "pipeline", "status", "stage", "holder", "percent"}
        self.items = {}
        self.last_agent = self.last_item = 0  # highest ids ever minted, restarts included
        self.lease_ns = None  # from hello
        # Guards state and log. Never contended single-threaded; it lets a threaded
        # subclass say exactly which calls run under it.
        self.lock = threading.Lock()
        self.out_lock = threading.Lock()  # one whole response line at a time
        os.makedirs(state_dir, exist_ok=True)
        self.log_path = os.path.join(state_dir, "log.jsonl")
        self.replay()
        self.log_file = open(self.log_path, "a", encoding="utf-8")

    # ---- durability ---------------------------------------------------------------------

    def replay(self):
        """Re-applies each complete line of log.jsonl. A torn last line (killed mid-write, so
        never acknowledged) is dropped *and cut off the file*: the next append would
        otherwise glue onto it and corrupt an acknowledged change."""
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return
        whole = data[:data.rfind(b"\n") + 1]
        if len(whole) < len(data):
            log("log.jsonl: dropping a torn last line of %d bytes" % (len(data) - len(whole)))
            with open(self.log_path, "r+b") as f:
                f.truncate(len(whole))
        for number, line in enumerate(whole.splitlines(), 1):
            try:
                self.apply(json.loads(line))
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                sys.exit("log.jsonl line %d is corrupt (%r); refusing to start" % (number, e))
        log("replayed %d agents, %d items" % (len(self.agents), len(self.items)))

    def apply(self, record):
        """One log record: the full new state of each agent and item a call changed."""
        for agent in record.get("agents", []):
            self.agents[agent["id"]] = {k: v for k, v in agent.items() if k != "id"}
            self.last_agent = max(self.last_agent, agent["id"])
        for item in record.get("items", []):
            self.items[item["id"]] = {k: v for k, v in item.items() if k != "id"}
            self.last_item = max(self.last_item, item["id"])

    def commit(self, agents=(), items=()):
        """Makes the changes to these agents and items durable. Call before answering."""
        record = {"agents": [dict(self.agents[a], id=a) for a in agents],
                  "items": [dict(self.items[i], id=i) for i in items]}
        self.append_log(json.dumps(record, separators=(",", ":")) + "\n")

    def append_log(self, line):
        self.log_file.write(line)
        self.log_file.flush()  # into the kernel: survives kill -9

    def close(self):
        self.log_file.close()

    # ---- calls: each returns its response fields, or raises CallError before changing anything

    def agent(self, request):
        agent_id = uint(request, "agent")
        if agent_id not in self.agents:
            raise CallError("unknown_agent", "no agent %d" % agent_id)
        return agent_id, self.agents[agent_id]

    def item(self, request):
        item_id = uint(request, "item")
        if item_id not in self.items:
            raise CallError("unknown_item", "no item %d" % item_id)
        return item_id, self.items[item_id]

    @staticmethod
    def touch(agent, now_ns):
        agent["seen"] = max(agent["seen"], now_ns)  # never goes back, whatever the arrival order

    def call_hello(self, request):
        if request.get("protocol") != 1:
            raise CallError("invalid", "protocol %r: only 1 is spoken" % request.get("protocol"))
        self.lease_ns = uint(request, "lease_ns")
        uint(request, "epoch_unix_ns")  # now_ns counts from it; we never need wall time
        return {"type": "hello_ok", "protocol": 1, "name": self.NAME,
                "supports": list(CALLS), "virtual_time": True}

    def call_register(self, request):
        new = {"role": role(request.get("role")), "team": uint(request, "team"),
               "seen": uint(request, "now_ns")}
        self.last_agent += 1
        self.agents[self.last_agent] = new
        self.commit(agents=[self.last_agent])
        return {"agent": self.last_agent}

    def call_submit(self, request):
        work_type, pipeline = request.get("work_type"), request.get("pipeline")
        if not isinstance(work_type, str):
            raise CallError("invalid", "'work_type' must be a string")
        if not isinstance(pipeline, list) or not pipeline:
            raise CallError("invalid", "'pipeline' must be a non-empty list of roles")
        new = {"work_type": work_type, "team": uint(request, "team"),
               "pipeline": [role(r, "pipeline") for r in pipeline],
               "status": "open", "stage": 0, "holder": None, "percent": 0}
        uint(request, "now_ns")
        self.last_item += 1
        self.items[self.last_item] = new
        self.commit(items=[self.last_item])
        return {"item": self.last_item}

    def call_peek(self, request):
        _, item = self.item(request)
        return {"status": item["status"], "stage": item["stage"], "team": item["team"],
                "role": item["pipeline"][item["stage"]], "holder": item["holder"]}

    @staticmethod
    def decide_claim(agent, item):
        """The check half of a claim: its refusal, or None if it may take the item. The role
        comes first, whatever the status, as in the reference engine."""
        needed = item["pipeline"][item["stage"]]
        if needed != agent["role"]:
            return {"outcome": "wrong_role", "needed": needed}
        if item["status"] != "open":
            return {"outcome": "conflict", "holder": item["holder"]}
        return None

    def take(self, agent_id, agent, item_id, item, now_ns):
        """The set half of a claim: the item becomes claimed by the agent, durably."""
        item.update(status="claimed", holder=agent_id)
        self.touch(agent, now_ns)
        self.commit(agents=[agent_id], items=[item_id])
        return {"outcome": "claimed", "stage": item["stage"]}

    def call_claim(self, request):
        (agent_id, agent), (item_id, item) = self.agent(request), self.item(request)
        now_ns = uint(request, "now_ns")
        return self.decide_claim(agent, item) or self.take(agent_id, agent, item_id, item, now_ns)

    def while_held(self, request, change):
        """progress/complete/release: `change(item)` applies only while this agent holds the
        item `claimed`; otherwise lease_lost and nothing changes."""
        (agent_id, agent), (item_id, item) = self.agent(request), self.item(request)
        now_ns = uint(request, "now_ns")
        if item["status"] != "claimed" or item["holder"] != agent_id:
            return {"outcome": "lease_lost"}
        reply = change(item)
        self.touch(agent, now_ns)
        self.commit(agents=[agent_id], items=[item_id])
        return reply

    def call_progress(self, request):
        percent = uint(request, "percent")
        if percent > 100:
            raise CallError("invalid", "'percent' must be 0 to 100, got %d" % percent)

        def record(item):
            item["percent"] = percent
            return {"outcome": "ok"}
        return self.while_held(request, record)

    def call_complete(self, request):
        def complete(item):
            stage, pipeline = item["stage"], item["pipeline"]
            last = stage + 1 == len(pipeline)
            item["status"] = "done" if last else "stage_done"  # the holder stays named
            return {"outcome": "completed", "stage": stage,
                    "next": None if last else pipeline[stage + 1]}
        return self.while_held(request, complete)

    def call_release(self, request):
        def reopen(item):
            item.update(status="open", holder=None)  # same stage
            return {"outcome": "ok"}
        return self.while_held(request, reopen)

    def call_handoff(self, request):
        (agent_id, agent), (item_id, item) = self.agent(request), self.item(request)
        now_ns = uint(request, "now_ns")
        if item["status"] != "stage_done" or item["holder"] != agent_id:
            return {"outcome": "refused"}
        # stage_done is never the last stage (that one ends done), so a next stage exists.
        item.update(status="open", stage=item["stage"] + 1, holder=None)
        self.touch(agent, now_ns)
        self.commit(agents=[agent_id], items=[item_id])
        return {"outcome": "handed_off", "stage": item["stage"],
                "role": item["pipeline"][item["stage"]]}

    def call_heartbeat(self, request):
        agent_id, agent = self.agent(request)
        self.touch(agent, uint(request, "now_ns"))
        self.commit(agents=[agent_id])  # forgotten, it could get a live agent reaped
        return {"outcome": "ok"}

    def call_reap(self, request):
        now_ns, reaped = uint(request, "now_ns"), []
        for item_id in sorted(self.items):
            item = self.items[item_id]
            if item["status"] != "claimed":
                continue  # never stage_done or done, though they name a holder too
            holder = item["holder"]
            if now_ns - self.agents[holder]["seen"] >= self.lease_ns:  # silent >= a lease
                item.update(status="open", holder=None)
                reaped.append({"item": item_id, "previous_holder": holder, "stage": item["stage"]})
        if reaped:
            self.commit(items=[r["item"] for r in reaped])
        return {"reaped": reaped}

    def call_unfinished(self, request):
        return {"count": sum(item["status"] != "done" for item in self.items.values())}

    # ---- the protocol loop --------------------------------------------------------------

    def dispatch(self, kind, request):
        """Runs one call under the state lock."""
        with self.lock:
            return getattr(self, "call_" + kind)(request)

    def handle(self, request):
        """The response to one request object whose id is already known to be good."""
        reply, kind = {"in_reply_to": request["id"]}, request.get("type")
        try:
            if not isinstance(kind, str):
                raise CallError("invalid", "'type' must be a string")
            if kind != "hello" and kind not in CALLS:
                raise CallError("unsupported", "no call %r" % kind)
            if kind != "hello" and self.lease_ns is None:
                raise CallError("invalid", "the first request must be hello")
            reply.update(self.dispatch(kind, request))
        except CallError as e:
            reply["error"] = {"kind": e.kind, "definite": True, "text": e.text}
        except Exception as e:  # a bug, or a failed log write: the change may have happened
            log("%s failed: %r" % (kind, e))
            reply["error"] = {"kind": "unavailable", "definite": False, "text": repr(e)}
        return reply

    def respond(self, reply):
        line = json.dumps(reply, separators=(",", ":")) + "\n"
        with self.out_lock:
            sys.stdout.write(line)
            sys.stdout.flush()

    def serve(self, request):
        """Answers one request before reading the next (a threaded subclass overrides it)."""
        self.respond(self.handle(request))

    def run(self):
        """Serves requests until stdin closes."""
        for raw in sys.stdin.buffer:
            text = raw.decode("utf-8", errors="replace").strip()
            if not text:
                continue
            try:
                request = json.loads(text)
            except ValueError as e:
                log("skipping a line that is not JSON (%s): %.200s" % (e, text))
                continue
            request_id = request.get("id") if isinstance(request, dict) else None
            if not isinstance(request_id, int) or isinstance(request_id, bool) or request_id < 0:
                log("skipping a request without a readable id: %.200s" % text)
                continue
            self.serve(request)
        self.close()


def main(coordinator_class):
    """`PROGRAM --state STATE_DIR`, the command line of every coordinator in this folder."""
    args = sys.argv[1:]
    if len(args) != 2 or args[0] != "--state":
        sys.exit("usage: %s --state STATE_DIR" % sys.argv[0])
    coordinator_class(args[1]).run()
    sys.exit(0)
