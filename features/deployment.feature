Feature: Zero-downtime deploys under live traffic
  Client agents keep sending requests while a new version rolls out. "Zero downtime" is the
  count of failed "request" spans; rollbacks, canary limits, promotion gates and refusals are
  read from deploy.* spans. The simulation runs on virtual time, so durations are simulated.

  Background:
    Given seed 7
    And 100 client agents sending one request per second

  @claim-deploy-duration @claim-zero-downtime
  Scenario: a rolling deploy of 20 instances under 100-agent traffic loses no request
    Given production has 20 instances
    And a rolling strategy with batches of 5
    When "v2" is deployed to production
    Then no request failed in production
    And exactly 0 "request" spans have "request.outcome" = "failed"
    And no request reached an instance that was not ready
    And exactly 4 "deploy.batch" spans were recorded
    And exactly 1 "deploy.run" span has "deploy.outcome" = "succeeded"
    And no "deploy.run" span has status error
    And the p99 latency of "request" is below 250 ms

  @claim-deploy-duration @claim-zero-downtime
  Scenario: a blue-green switch loses no request
    Given a blue-green strategy
    When "v2" is deployed to production
    Then no request failed in production
    And no request reached an instance that was not ready
    And exactly 1 "deploy.run" span has "deploy.outcome" = "succeeded"
    And exactly 0 "deploy.rollback" spans were recorded

  Scenario: a canary of a bad version is rolled back before it reaches 25 % of traffic
    Given a canary strategy with steps 5 % → 25 % → 100 %
    And version "v2" fails 30 % of requests
    When "v2" is deployed to production
    Then the canary of "v2" in production was rolled back before 25 % of traffic, reporting the error budget consumed
    And exactly 1 "deploy.run" span has "deploy.outcome" = "rolled_back"
    And the rollback in production restored "v1" on every instance

  Scenario: a version that fails readiness never receives traffic
    Given a rolling strategy with batches of 5
    And version "v2" fails readiness
    When "v2" is deployed to production
    Then "v2" never received traffic
    And no request reached an instance that was not ready
    And no request failed in production
    And exactly 0 "request" spans have "deploy.version" = "v2"
    And the rollback in production restored "v1" on every instance

  Scenario: promotion to production is blocked while staging is unhealthy
    Given staging runs "v2"
    And staging fails 10 % of requests whatever the version
    When "v2" is promoted from staging to production
    Then the promotion from staging to production was blocked because staging was unhealthy
    And exactly 0 "deploy.run" spans were recorded

  @claim-deploy-duration
  Scenario: every environment deploys within its time bound, measured in simulated time
    Given a rolling strategy with batches of 4
    When "v2" is promoted through dev, staging and production
    Then every deploy to dev took at most 30 seconds
    And every deploy to staging took at most 60 seconds
    And every deploy to production took at most 90 seconds
    And exactly 2 "deploy.promotion" spans have "deploy.outcome" = "promoted"
    And no request failed in production

  Scenario: a rollback after a slow release restores the old version on every instance
    Given a rolling strategy with batches of 5
    And version "v2" takes 400 ms per request on average
    When "v2" is deployed to production
    Then the rollback in production restored "v1" on every instance
    And exactly 1 "deploy.rollback" spans were recorded
    And at least 1 "deploy.health_check" spans have "deploy.healthy" = "false"
    And no request reached an instance that was not ready

  Scenario: a second deploy to the same environment is refused while the first runs
    Given a rolling strategy with batches of 5
    When "v2" is deployed to production and "v3" is requested there 10 s later
    Then the second deploy to production was refused
    And exactly 1 "deploy.run" span has "deploy.outcome" = "refused"
    And exactly 0 "request" spans have "deploy.version" = "v3"
    And no request failed in production

  Scenario: a router that ignores readiness is caught sending traffic to unready instances
    Given a rolling strategy with batches of 5
    And version "v2" fails readiness
    And the router is broken so that it ignores readiness
    When "v2" is deployed to production
    Then the unready-traffic check fails, naming the requests
    And the zero-downtime check fails for production, counting the failed requests
    And at least 1 "request" spans have "request.outcome" = "failed"

  Scenario: the same seed replays the same deploy
    Given a canary strategy with steps 5 % → 25 % → 100 %
    When "v2" is deployed to staging twice with the same seed
    Then both runs produced the same span digest
