Feature: TinyLedger hands each item to exactly one agent
  swarmspec's shipped steps, run against this crate's own coordinator (the runner makes it
  the system under test), plus one step of this crate's own. Every Then is decided from the
  spans the run captured, never by asking the ledger.

  Background:
    Given deterministic mode
    And seed 7

  Scenario: 120 agents racing for the same items get exactly one winner each
    Given a swarm of 120 developer agents
    And 60 work items
    And the agents race for the same items
    When the swarm runs
    Then exactly 1 "work.claim" span has "work.outcome" = "claimed" for each work item
    And at least 1 "work.claim" spans have "work.outcome" = "conflict"
    And no work item was held by two agents at the same time
    And every acknowledged write came from the agent holding the item
    And every submitted work item is completed

  Scenario: work handed out to 50 agents reaches every one of them
    Given a swarm of 50 developer agents
    And 200 work items
    And the agents are handed different items
    When the swarm runs
    Then every submitted work item is completed
    And every registered agent completed at least 1 stage
    And the 50 agent ids are unique and sortable by creation time

  Scenario: work is handed off pm → architect → developer with one claimant per stage
    Given a swarm of 30 agents working the pipeline "pm → architect → developer"
    And 20 work items
    When the swarm runs
    Then exactly 1 "work.claim" span has "work.outcome" = "claimed" for each work item and stage
    And every item passed "pm → architect → developer" in order
    And exactly 40 "work.handoff" spans have "work.outcome" = "handed_off"
    And every acknowledged write came from the agent holding the item
    And every submitted work item is completed
