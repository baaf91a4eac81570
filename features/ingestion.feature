Feature: Spans a real system wrote are evidence like any other
  A coordinator that is not swarmspec's own leaves its spans in files: OTLP JSON from a
  collector's file exporter, or a span log of concatenated JSON objects. Loaded with
  `Given the spans recorded in "PATH"` (relative to this directory), they are judged by the
  same steps as a simulated run; whatever the reader could not use is reported by line.

  Scenario: OTLP JSON from a collector's file exporter is judged by the generic steps
    Given the spans recorded in "data/otlp_spans.jsonl"
    Then exactly 3 "work.claim" spans were recorded
    And exactly 1 "work.claim" span has "work.outcome" = "claimed" for each work item
    And every "work.claim" span has a parent "agent.session" span
    And exactly 0 fragments of the span file were skipped

  Scenario: A correct system's recorded spans show no double hold
    Given the spans recorded in "data/otlp_spans.jsonl"
    Then no work item was held by two agents at the same time
    And no "work.complete" span has status error

  Scenario: Latency histograms are built from the recorded span durations
    Given the spans recorded in "data/otlp_spans.jsonl"
    Then the p99 latency of "work.claim" is below 6 ms
    And the mean latency of "work.complete" is below 3 ms

  Scenario: A messy span log with a planted double claim is caught
    Given the spans recorded in "data/messy_span_log.json"
    Then exactly 3 "work.claim" spans have "work.outcome" = "claimed"
    And the double-hold check fails, naming the item and both agents

  Scenario: Unparseable fragments and foreign objects are counted and located, not dropped
    Given the spans recorded in "data/messy_span_log.json"
    Then exactly 3 fragments of the span file were skipped
    And the fragment at line 12 was reported as skipped
    And the fragment at line 14 was reported as skipped
    And the fragment at line 15 was reported as skipped
    And exactly 6 spans were read from the span file

  Scenario: Pretty-printed, back-to-back and one-per-line objects with mixed timestamps all count
    Given the spans recorded in "data/messy_span_log.json"
    Then exactly 2 "work.complete" spans were recorded
    And exactly 1 "work.release" span has "work.outcome" = "lease_lost"
    And the "work.claim, work.complete" spans of each work item form one trace

  Scenario: A system that carries each item's trace context across handoffs
    Given the spans recorded in "data/item_traces.json"
    Then a work item forms one trace across pm → architect → developer
    And a work item forms one trace across pm -> developer
    And every claimed work.claim span has attributes agent.id and work.item_id
    And exactly 3 claimed work.claim spans per work item
