Feature: Resilience of the swarm under faults
  A swarm attacked on purpose, in deterministic mode so each fault replays from its seed.
  Whatever the fault, the evidence must show: no item held by two agents at once, no write
  acknowledged from an agent that did not hold the item, no acknowledged completion lost,
  every item completed or explicitly failed with a reason, and a run that ends.

  Background:
    Given deterministic mode
    And seed 21
    And a swarm of 20 developer agents
    And 80 work items
    And leases last 100 ms

  Scenario: a third of the agents crash mid-run
    Given 6 agents crash at 25 ms
    When the swarm runs
    Then at least 1 "lease.reap" spans were recorded
    And no work item was held by two agents at the same time
    And no acknowledged completion was lost
    And every acknowledged write came from the agent holding the item
    And every submitted work item is completed
    And the run ended within 60 seconds

  Scenario: slow agents do not lose or duplicate work
    Given 5 agents are slowed down 10 times
    When the swarm runs
    Then no work item was held by two agents at the same time
    And no acknowledged completion was lost
    And every acknowledged write came from the agent holding the item
    And every submitted work item is completed

  Scenario: a team partitioned from the coordinator retries and recovers
    Given teams of sizes "10, 10"
    And team 1 is cut off from the coordinator from 5 ms for 200 ms
    When the swarm runs
    Then at least 1 "work.claim" spans have "work.outcome" = "error"
    And no work item was held by two agents at the same time
    And no acknowledged completion was lost
    And every acknowledged write came from the agent holding the item
    And every submitted work item is completed

  Scenario: clocks running behind make leases lapse early, but never double-book an item
    Given 8 agents' clocks run 300 ms behind
    When the swarm runs
    Then no work item was held by two agents at the same time
    And no acknowledged completion was lost
    And every acknowledged write came from the agent holding the item
    And every work item ended completed or failed with a reason

  Scenario: clocks running ahead keep leases alive, but never double-book an item
    Given 8 agents' clocks run 300 ms ahead
    And 4 agents crash at 20 ms
    When the swarm runs
    Then no work item was held by two agents at the same time
    And no acknowledged completion was lost
    And every acknowledged write came from the agent holding the item
    And every work item ended completed or failed with a reason

  Scenario: the coordinator fails 5 % of calls at random
    Given the coordinator fails 5 % of calls
    When the swarm runs
    Then at least 1 "work.claim" spans have "work.outcome" = "error"
    And no work item was held by two agents at the same time
    And no acknowledged completion was lost
    And every acknowledged write came from the agent holding the item
    And every submitted work item is completed

  Scenario: calls that applied but whose answers were lost are settled by reading back
    Given the coordinator loses the answers to 10 % of calls after applying them
    And teams of sizes "10, 10"
    And team 1 is cut off from the coordinator from 5 ms for 200 ms
    And 0 progress reports per stage
    And the agents race for the same items
    When the swarm runs
    Then every submitted work item is completed
    And no work item was held by two agents at the same time
    And no acknowledged completion was lost
    And every acknowledged write came from the agent holding the item
    And at least 1 "work.complete" spans have "work.outcome" = "lease_lost"
    And at least 1 "work.complete" spans have "work.settled_by_read" = "true"
    And at least 1 "work.claim" spans have "work.settled_by_read" = "true"

  Scenario: when every agent crashes, every item fails with a reason and the run still ends
    Given 20 agents crash at 15 ms
    When the swarm runs
    Then every work item ended completed or failed with a reason
    And at least 1 "work.fail" spans were recorded
    And the run ended within 60 seconds

  Scenario: crashes, a partition and random errors at once
    Given teams of sizes "10, 10"
    And 4 agents crash at 30 ms
    And team 0 is cut off from the coordinator from 10 ms for 100 ms
    And the coordinator fails 2 % of calls
    When the swarm runs
    Then no work item was held by two agents at the same time
    And no acknowledged completion was lost
    And every acknowledged write came from the agent holding the item
    And every submitted work item is completed
    And the run ended within 60 seconds

  Scenario Outline: faults drawn from seed <seed> break no invariant
    Given seed <seed>
    And teams of sizes "10, 10"
    And faults drawn from the seed
    When the swarm runs
    Then no work item was held by two agents at the same time
    And no acknowledged completion was lost
    And every acknowledged write came from the agent holding the item
    And every work item ended completed or failed with a reason
    And the run ended within 60 seconds

    Examples:
      | seed |
      | 1    |
      | 2    |
      | 3    |
      | 4    |
      | 5    |
      | 6    |
