Feature: f
  Scenario Outline: s
    Given <n> work items
    When the swarm runs

    Examples:
      | n |
      | 5 
      | 6 |
