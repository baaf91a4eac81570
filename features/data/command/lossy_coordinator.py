#!/usr/bin/env python3
"""A deliberately lossy coordinator, for proving that swarmspec's history checker catches
lost updates.

State is a work_claims.json array (the Scrum-at-Scale layout) at $LOSSY_STATE. Every
command reads the whole file, changes it in memory and writes it back WITHOUT ANY LOCK:
two agents whose read-modify-write cycles overlap both succeed, and the later write
silently discards the earlier one (a lost update; two claims of one item both acknowledged).
Writes replace the file whole (temp file + rename), so a reader never sees half a file:
what gets lost is updates, never the file. $LOSSY_DELAY_MS widens the window between the
read and the write, the way a slow disk or a busy machine would.

Usage: lossy_coordinator.py init | submit ITEM | claim AGENT ITEM |
       progress AGENT ITEM PERCENT | complete AGENT ITEM | state
Exit codes: 0 done, 3 refused (held by another agent, or not held by the caller), 1 error.
"""
import json
import os
import sys
import time

REFUSED = 3


def path():
    return os.environ["LOSSY_STATE"]


def read():
    with open(path()) as state:
        return json.load(state)


def write(claims):
    time.sleep(int(os.environ.get("LOSSY_DELAY_MS", "0")) / 1000.0)
    temp = "%s.%d.tmp" % (path(), os.getpid())
    with open(temp, "w") as out:
        json.dump(claims, out, indent=1)
    os.replace(temp, path())


def find(claims, item):
    for claim in claims:
        if claim["work_item_id"] == item:
            return claim
    print("unknown item %s" % item, file=sys.stderr)
    sys.exit(1)


def held_by(claim, agent):
    return claim["agent_id"] == agent and claim["status"] in ("active", "in_progress")


def main(args):
    command = args[0] if args else ""
    if command == "init":
        write([])
        print("initialised %s" % path())
    elif command == "submit":
        claims = read()
        claims.append({"work_item_id": args[1], "agent_id": None, "claimed_at": None,
                       "status": "pending", "progress": 0, "work_type": "feature"})
        write(claims)
        print("submitted %s" % args[1])
    elif command == "claim":
        agent, item = args[1], args[2]
        claims = read()
        claim = find(claims, item)
        if claim["status"] != "pending":
            print("conflict: %s is %s by %s" % (item, claim["status"], claim["agent_id"]))
            return REFUSED
        claim.update(agent_id=agent, status="active", progress=0,
                     claimed_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        write(claims)
        print("claimed %s" % item)
    elif command == "progress":
        agent, item, percent = args[1], args[2], int(args[3])
        claims = read()
        claim = find(claims, item)
        if not held_by(claim, agent):
            print("not yours: %s is held by %s" % (item, claim["agent_id"]))
            return REFUSED
        claim.update(progress=percent, status="in_progress")
        write(claims)
        print("progress %s %d" % (item, percent))
    elif command == "complete":
        agent, item = args[1], args[2]
        claims = read()
        claim = find(claims, item)
        if not held_by(claim, agent):
            print("not yours: %s is held by %s" % (item, claim["agent_id"]))
            return REFUSED
        claim.update(progress=100, status="completed")
        write(claims)
        print("completed %s" % item)
    elif command == "state":
        print(json.dumps(read()))
    else:
        print(__doc__, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
