Feature: Real systems: a file store shared by many OS processes
  Coordination tools that keep their state in JSON files are driven by many processes at
  once. Here the swarm is split across worker processes (each the swarmspec executable,
  attached to the same store directory); every worker streams its spans to a span file, and
  the checks read those files and the store's own files, never a process's own summary.

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
    And every "work.complete" span has a parent "agent.session" span
