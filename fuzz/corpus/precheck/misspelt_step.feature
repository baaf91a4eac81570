Feature: a
  Scenario: s
    Given 5 work items
    When the swarm runs

  Scenario: t
    Given 5 work items
    Whn the swarm runs
    Then every submitted work item is completed
