Feature: Generic evidence steps a spec writer can use without Rust
  Any span name, attribute and histogram the capture holds can be asserted on directly.
  Each step prints what it expected beside what it observed.

  Scenario: span counts, statuses and parents of a clean run
    Given deterministic mode
    And a swarm of 40 developer agents
    And 100 work items
    When the swarm runs
    Then exactly 100 "work.submit" spans were recorded
    And exactly 40 "agent.register" spans were recorded
    And exactly 1 "work.claim" span has "work.outcome" = "claimed" for each work item
    And exactly 100 "work.complete" spans have "work.outcome" = "completed"
    And no "work.claim" span has status error
    And no "work.complete" span has status error
    And every "work.complete" span has a parent "work.submit" span
    And every "work.progress" span has a parent "work.submit" span

  Scenario: failed calls during an outage are visible as error spans
    Given deterministic mode
    And a swarm of 10 developer agents
    And 30 work items
    And the coordinator is unavailable from 2 ms for 50 ms
    When the swarm runs
    Then at least 1 "work.claim" spans have "work.outcome" = "error"
    And at most 0 "work.claim" spans have "work.outcome" = "lease_lost"
    And every submitted work item is completed

  Scenario: latency percentiles and throughput come from the histograms
    Given throughput mode
    And a swarm of 200 developer agents
    And 5000 work items
    When the swarm runs
    Then the p50 latency of "work.claim" is below 50 ms
    And the p99 latency of "work.complete" is below 100 ms
    And the mean latency of "work.progress" is below 100 ms
    And the throughput of "work.complete" is at least 1000 ops/s

  Scenario: simulated latency follows the delay model in deterministic mode
    Given deterministic mode
    And a swarm of 20 developer agents
    And 200 work items
    When the swarm runs
    Then the p50 latency of "work.claim" is below 2 ms
    And the mean latency of "work.claim" is below 1.5 ms
    And the p99 latency of "work.claim" is below 10 ms

  Scenario: attribute predicates, per-item counts and rates, written without quoting names
    Given deterministic mode
    And a swarm of 20 developer agents
    And 60 work items
    And the agents race for the same items
    When the swarm runs
    Then every claimed work.claim span has attributes agent.id and work.item_id
    And every work.progress span has work.progress at most 100
    And exactly 1 claimed work.claim span per work item
    And at least 1 conflict work.claim spans were recorded
    And the claimed work.claim spans of each work item form one trace
    And the conflict rate stays below 75 %
    And the error rate stays below 1 %
    And the error rate of work.* spans is at most 0 %

  Scenario: rates per role across a pipeline written with ->
    Given deterministic mode
    And a swarm of 6 agents working the pipeline "pm -> developer"
    And 30 work items
    And the coordinator fails 5 % of calls
    When the swarm runs
    Then every item passed "pm -> developer" in order
    And the claimed rate of work.claim spans is at least 10 % for every role
    And the error rate stays below 20 %
    And at least 1 work.claim spans were recorded
