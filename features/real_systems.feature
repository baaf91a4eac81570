Feature: Real systems: other coordinators' command lines, and a file store shared by processes
  Coordinators that are not swarmspec's own engine are judged by what they acknowledged and
  what they hold afterwards, never by what they say about themselves.

  Another coordinator is driven through its command line, as an adapter config says
  (`data/command/*.toml`, relative to this directory): agents run its claim, progress and
  complete commands as concurrent processes, every call is recorded, and the history checker
  compares what the system acknowledged with the state it ends in.

  A coordination directory is also driven by many OS processes at once: the swarm is split
  across worker processes (each the swarmspec executable, attached to the same store); every
  worker streams its spans to a span file, and the checks read those files and the store.

  @serial
  Scenario: A coordinator that rewrites its state file without a lock loses acknowledged updates
    When 20 agents work on 8 items of the system configured in "data/command/lossy.toml"
    Then the history checker finds lost updates, naming the operation, the agent and the state observed
    And every call to the system was answered
    And the final state was readable
    And every "work.claim" span has a parent "agent.session" span

  @serial
  Scenario: A bash tool whose claims create items and whose writes take no lock is caught losing work
    When 10 agents work on 30 items of the system configured in "data/command/lossy_tool.toml"
    Then the history checker finds lost updates, naming the operation, the agent and the state observed
    And the history checker lists abandoned work, with the refusals that led there
    And every call to the system was answered

  @serial
  Scenario: A lock file left by a crashed run leaves every piece of work abandoned, and says why
    Given a crashed run left the file "{run_dir}/work_claims.json.lock" behind
    When 4 agents work on 6 items of the system configured in "data/command/lossy_tool.toml"
    Then the history checker lists abandoned work, with the refusals that led there

  @serial
  Scenario: swarmspec's own file store loses nothing when calls are killed with SIGKILL mid-call
    Given 10% of the system's calls are killed with SIGKILL 3 ms after they start
    When 8 agents work on 16 items of the system configured in "data/command/file_store.toml"
    Then the killed calls are reported as killed, not as the system's failures
    And the final state was readable
    And no acknowledged update was lost
    And no item was held by two agents, by the acknowledged claims

  @serial
  Scenario: swarmspec's own file store, driven through `swarmspec store`, loses nothing
    When 20 agents work on 8 items of the system configured in "data/command/file_store.toml"
    Then every call to the system was answered
    And the final state was readable
    And no acknowledged update was lost
    And no item was held by two agents, by the acknowledged claims
    And no work item was held by two agents at the same time
    And exactly 1 "work.claim" span has "work.outcome" = "claimed" for each work item
    And exactly 1 "work.complete" span has "work.outcome" = "completed" for each work item

  @serial @claim-file-store
  Scenario: Eight processes of 50 agents share one file store without a double hold
    Given a swarm of 400 developer agents
    And 64 work items
    And throughput mode
    And the swarm is split across 8 processes sharing a file store
    When the swarm runs
    Then every worker process exited cleanly and its spans read back whole
    And no work item was held by two agents at the same time
    And exactly 1 "work.claim" span has "work.outcome" = "claimed" for each work item
    And every submitted work item is completed
    And the store's log holds every completion acknowledged to a process
    And every item the store shows completed was acknowledged to a process
    And the store's files are valid and agree with one another
    And every "work.complete" span has a parent "work.submit" span
