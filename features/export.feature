Feature: Spans also go to an OTLP collector
  With an OTLP endpoint, every span is also sent to a collector over OTLP/HTTP (protobuf).
  The collector gets a copy: every Then is still decided from the run's own capture, so a
  collector that is down costs the run its copy and a warning, never its verdicts.

  Scenario: a local receiver gets every span the capture holds
    Given deterministic mode
    And a swarm of 8 developer agents
    And 40 work items
    And spans are also exported over OTLP to a local receiver
    When the swarm runs
    Then the receiver got every span the capture holds
    And exactly 1 "work.claim" span has "work.outcome" = "claimed" for each work item

  Scenario: a collector that cannot be reached is reported and changes no verdict
    Given deterministic mode
    And a swarm of 8 developer agents
    And 40 work items
    And spans are also exported over OTLP to an endpoint where nothing listens
    When the swarm runs
    Then the OTLP export reports that no span was sent, and why
    And exactly 1 "work.claim" span has "work.outcome" = "claimed" for each work item
    And every "work.complete" span has a parent "work.submit" span
