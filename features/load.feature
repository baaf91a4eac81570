Feature: Latency measured under open-loop load
  A closed-loop agent waits for each answer before it asks again, so when the coordinator
  stalls the agents stop asking, and only the few calls caught in the stall are slow: the
  percentiles hide it (coordinated omission). Under open-loop load each agent keeps a
  schedule of intended call starts, as wrk2 does, and a call's latency counts from its
  intended start, so every call the stall delayed shows it.

  Background:
    Given deterministic mode
    And seed 31
    And a swarm of 20 developer agents
    And 2000 work items
    And the coordinator stalls from 50 ms for 300 ms

  Scenario: closed-loop latency hides a 300 ms coordinator stall
    When the swarm runs
    Then the p99 latency of "work.claim" is below 10 ms
    And no work item was held by two agents at the same time
    And every submitted work item is completed

  Scenario: open-loop latency shows the same stall
    Given open-loop load of one call per agent every 5 ms
    When the swarm runs
    Then the p99 latency of "work.claim" is at least 100 ms
    And no work item was held by two agents at the same time
    And every submitted work item is completed
