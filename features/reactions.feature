Feature: How agents react to failures, lost races and crowds
  What an agent does after a call fails, after it loses a claim, and when a whole crowd
  arrives at once is read from its spans: attempt numbers and timestamps, never from what
  the agent or the coordinator says it did.

  Scenario: an agent gives up on a call after the retries its policy allows
    Given deterministic mode
    And a swarm of 5 developer agents
    And 20 work items
    And the coordinator is unavailable from 5 ms for 2 seconds
    And retries wait 1 ms, doubling, with 0 % jitter, at most 3 times
    And circuit breakers open after 1000 failures and cool down for 10 ms
    When the swarm runs
    Then an agent gave up on "work.claim" after 3 retries
    And no call was retried more than 3 times
    And every work item ended completed or failed with a reason

  Scenario: losers of a claim wait before they look for work again
    Given deterministic mode
    And a swarm of 20 developer agents
    And 50 work items
    And the agents race for the same items
    And agents wait 3 ms after losing a claim
    When the swarm runs
    Then at least 1 conflict work.claim spans were recorded
    And every agent waited at least 3 ms after losing a claim
    And exactly 1 claimed work.claim span per work item
    And every submitted work item is completed

  Scenario: a crowd claims one item at the same instant and exactly one agent wins
    Given deterministic mode
    And a swarm of 50 developer agents
    And 1 work items
    And the agents race for the same items
    And the agents start at the same instant
    When the swarm runs
    Then at least 50 agents claimed one work item at the same instant
    And exactly 1 claimed work.claim span per work item
    And at least 49 conflict work.claim spans were recorded
    And no work item was held by two agents at the same time

  Scenario: a whole team crashing at once is reaped and its work finished or failed with a reason
    Given deterministic mode
    And a swarm of 12 developer agents
    And teams of sizes "4, 4, 4"
    And 60 work items
    And leases last 50 ms
    And every agent of team 1 crashes at 10 ms
    When the swarm runs
    Then exactly 4 "agent.crash" spans were recorded
    And at least 1 "lease.reap" spans were recorded
    And no work item was held by two agents at the same time
    And every work item ended completed or failed with a reason

  Scenario: calls held by a stalled coordinator time out, are retried, and nothing is lost
    Given deterministic mode
    And a swarm of 10 developer agents
    And 100 work items
    And the coordinator stalls from 20 ms for 300 ms
    And coordinator calls time out after 50 ms
    And retries wait 10 ms, doubling, with 20 % jitter, at most 8 times
    When the swarm runs
    Then at least 1 "work.claim" spans have "error.definite" = "false"
    And no call was retried more than 8 times
    And no work item was held by two agents at the same time
    And every submitted work item is completed
