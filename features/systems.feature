Feature: Systems under test: coordinators in other languages, behind the process protocol
  A coordinator can run as a child process that speaks newline-delimited JSON on its stdin
  and stdout (docs/process-protocol.md). swarmspec drives it like its own engine and judges
  it by the same checks: what it acknowledged against the spans it produced and the state it
  ends in. `data/process/` ships three Python coordinators: a correct one, one whose claim is
  a check and a set with a pause between (a race), and one that acknowledges changes before it
  stores them. The child can be killed with SIGKILL and restarted mid-run, paused, or slowed.

  The same scenarios run against any system: `swarmspec verify --system process:CONFIG.toml`
  runs every scenario that names no system of its own against that one.

  @serial
  Scenario: A correct coordinator in Python survives SIGKILL and a restart mid-run
    Given the system under test is "process:data/process/correct.toml"
    And throughput mode
    And a swarm of 20 developer agents
    And 300 work items
    And the system's process is killed with SIGKILL and restarted when 30% of the items are done
    When the swarm runs
    Then every completion the system acknowledged is in its final state
    And every submitted work item is completed
    And no work item was held by two agents at the same time

  @serial
  Scenario: A coordinator that acknowledges before it stores loses completions when killed
    Given the system under test is "process:data/process/forgetful.toml"
    And throughput mode
    And a swarm of 20 developer agents
    And 300 work items
    And the system's process is killed with SIGKILL and restarted when 30% of the items are done
    When the swarm runs
    Then the system lost completions it acknowledged, naming the item, the agent and the state found

  @serial
  Scenario: A Python coordinator whose claim is a check, a pause and a set lets two agents win
    Given the system under test is "process:data/process/racy.toml"
    And throughput mode
    And a swarm of 200 developer agents
    And 400 work items
    And the agents race for the same items
    And the run stops after 30 seconds
    When the swarm runs
    Then the double-hold check fails, naming the item and both agents

  @serial
  Scenario: A coordinator paused with SIGSTOP and slowed still loses nothing it acknowledged
    Given the system under test is "process:data/process/correct.toml"
    And throughput mode
    And a swarm of 20 developer agents
    And 200 work items
    And the system's process answers 1 ms late
    And the system's process is paused for 300 ms when 40% of the items are done
    When the swarm runs
    Then every completion the system acknowledged is in its final state
    And every submitted work item is completed
    And at least 1 "work.claim" spans have "work.outcome" = "claimed"
