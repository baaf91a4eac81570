@serial
Feature: Real coordinators driven through their command line
  Another coordinator is driven through its command line, as an adapter config says
  (`data/command/*.toml`, relative to this directory): agents run its claim, progress and
  complete commands as concurrent processes, every call is recorded, and the history checker
  compares what the system acknowledged with the state it ends in. It never asks the system
  whether it worked.

  Scenario: A coordinator that rewrites its state file without a lock loses acknowledged updates
    When 20 agents work on 8 items of the system configured in "data/command/lossy.toml"
    Then the history checker finds lost updates, naming the operation, the agent and the state observed
    And every call to the system was answered
    And the final state was readable
    And every "work.claim" span has a parent "agent.session" span

  Scenario: swarmspec's own file store, driven through `swarmspec store`, loses nothing
    When 20 agents work on 8 items of the system configured in "data/command/file_store.toml"
    Then every call to the system was answered
    And the final state was readable
    And no acknowledged update was lost
    And no item was held by two agents, by the acknowledged claims
    And no work item was held by two agents at the same time
    And exactly 1 "work.claim" span has "work.outcome" = "claimed" for each work item
    And exactly 1 "work.complete" span has "work.outcome" = "completed" for each work item
