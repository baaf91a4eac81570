Feature: TinyLedger's leases lapse, and nothing acknowledged is lost
  Agents crash holding items: the ledger's reaper must reopen what they held, never what
  they finished, and a seed must replay the same run.

  Background:
    Given deterministic mode
    And seed 21
    And leases last 100 ms

  Scenario: a third of the agents crash mid-run
    Given a swarm of 20 developer agents
    And 80 work items
    And 6 agents crash at 25 ms
    When the swarm runs
    Then at least 1 "lease.reap" spans were recorded
    And every reaped item was claimed again by another agent
    And no work item was held by two agents at the same time
    And no acknowledged completion was lost
    And every acknowledged write came from the agent holding the item
    And every submitted work item is completed

  Scenario: the same seed replays the same run, and another seed does not
    Given a swarm of 50 developer agents
    And 200 work items
    And the agents race for the same items
    When the swarm runs twice with the same seed
    And the swarm runs again with the next seed
    Then both runs produced the same span digest
    And the run with the next seed produced a different span digest
