@database
Feature: What only a database can get wrong
  A coordinator on PostgreSQL can lose what it acknowledged in ways no in-process engine
  can: the server crashes and recovers from its write-ahead log, a connection dies between
  BEGIN and COMMIT, a serializable transaction is rolled back because another one won.
  These scenarios do each to a real server, from a connection of swarmspec's own, and judge
  the run by the same history checks as every other: nothing acknowledged lost, nothing
  held twice, every item finished.

  They need a server: the suite's own (`swarmspec verify --system postgres://…`), else the
  one SWARMSPEC_POSTGRES_URL names. The command
  `scripts/pg-throwaway -- swarmspec verify --tags @database` starts a throwaway cluster and
  sets it, with SWARMSPEC_POSTGRES_RESTART, the command that crash-restarts it. Without a server they are not applicable, and say so.

  Background:
    Given the system under test is the PostgreSQL server named by SWARMSPEC_POSTGRES_URL
    And throughput mode
    And a swarm of 20 developer agents
    And 400 work items

  @serial
  Scenario: The database server crashes and restarts mid-run and loses nothing it acknowledged
    Given the database server crashes and restarts when 30% of the items are done
    When the swarm runs
    Then every completion the system acknowledged is in its final state
    And no work item was held by two agents at the same time
    And every acknowledged write came from the agent holding the item
    And every submitted work item is completed

  @serial
  Scenario: Connections terminated mid-transaction lose nothing acknowledged
    Given the database drops 20 connections mid-transaction from when 20% of the items are done
    When the swarm runs
    Then at least 20 connections were dropped mid-transaction
    And every completion the system acknowledged is in its final state
    And no work item was held by two agents at the same time
    And every acknowledged write came from the agent holding the item
    And every submitted work item is completed

  @serial
  Scenario: Serializable transactions that collide are rolled back and retried until they commit
    Given every transaction of the database runs serializable
    And the agents race for the same items
    When the swarm runs
    Then the database server rolled back at least 1 transaction during the run
    And at most 0 "work.claim" spans have "work.outcome" = "error"
    And no work item was held by two agents at the same time
    And every submitted work item is completed
