// The pure deploy core: decisions from config + state snapshot + live reads,
// without any server. (tests/deploy/engine_test.cpp drives the engine
// against a real PowerDNS and nginx.)

#include "deploy/deployment.h"
#include "config/load.h"
#include "deploy/plan_format.h"
#include "policy/policy.h"
#include "support/support.h"
#include "util/time.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace stsctl;
using namespace stsctl::test;

namespace {

const int64_t k_now = *parse_rfc3339("2026-11-27T12:00:00Z");

Config load(const std::string& domains, const std::string& extra = "") {
  static TempDir dir("deploy-core");
  std::string text =
      "version: 1\ndefaults:\n  provider: pdns\n  ttl: 300\n  policy_host: {ipv4: [192.0.2.40]}\n"
      "domains:\n" +
      domains + extra + "providers:\n  pdns: {type: powerdns, url: \"http://127.0.0.1:1\", api_key_env: K}\n";
  write_file(dir.file("stsctl.yaml"), text);
  LoadResult result = load_config(dir.file("stsctl.yaml"), dir.file("stsctl.db"));
  INFO(text);
  REQUIRE(result.ok());
  return result.config;
}

RRset txt(const std::string& owner, const std::string& value) {
  return RRset{owner, RRType::TXT, 300, {value}};
}

ZoneReadResult live_zone(const std::string& zone, std::vector<RRset> owned,
                         std::vector<std::string> mx = {}) {
  ZoneReadResult result;
  result.zone = zone;
  result.snapshot.zone = zone;
  result.snapshot.owned = std::move(owned);
  for (const auto& host : mx) {
    result.snapshot.mx.push_back(RRset{zone + ".", RRType::MX, 300, {"10 " + host + "."}});
  }
  return result;
}

/// prepare -> attach_live -> settle with the given live reads and policies.
Deployment build(const Config& config, const StateSnapshot& state, std::vector<ZoneReadResult> reads,
                 const std::map<std::string, LivePolicy>& live = {}, int64_t now = k_now,
                 const DeployRequest& request = {}) {
  Deployment deployment = prepare_deployment(config, state, request, now);
  zone_queries(deployment, state, request);
  attach_live(deployment, state, std::move(reads));
  settle_deployment(deployment, state, request, live, {});
  return deployment;
}

DomainState published(const std::string& domain, const std::string& id, const Policy& policy) {
  DomainState row;
  row.domain = domain;
  row.policy_id = id;
  row.policy_hash = policy_hash(policy);
  row.mode = policy.mode;
  row.max_age = policy.max_age;
  row.zone = domain;
  row.provider = "pdns";
  return row;
}

}  // namespace

TEST_CASE("a pending id for the same policy is reused, not minted again") {
  Config config = load("  example.net: {mx: [mail.example.net], policy: {mode: testing, max_age: 86400}}\n");
  Policy policy = make_policy(PolicyMode::Testing, 86400, {"mail.example.net"});
  StateSnapshot state;
  state.pending["example.net"] = PendingId{"example.net",
                                           "20261120000000",
                                           policy_hash(policy),
                                           PolicyMode::Testing,
                                           86400,
                                           policy_text(policy),
                                           0};
  // The killed run had pushed it: DNS serves the pending id already.
  Deployment deployment =
      build(config, state,
            {live_zone("example.net", {txt("_mta-sts.example.net.", "v=STSv1; id=20261120000000")})});
  const DomainDecision& decision = deployment.decisions.at("example.net");
  CHECK(decision.id.id == "20261120000000");
  CHECK(decision.id.bumped);  // still to be recorded as published
  CHECK_FALSE(decision.adopting);
  CHECK(deployment.notices.empty());
  CHECK(deployment.has_pending_work());
  for (const auto& change : deployment.zones.at("example.net").plan.changes) {
    CHECK(change.key.owner != "_mta-sts.example.net.");  // the TXT is right already
  }
}

TEST_CASE("a pending id of an older policy found live is recorded, and the new id sorts after it") {
  Config config = load("  example.net: {mx: [mail.example.net], policy: {mode: enforce, max_age: 604800}}\n");
  Policy old_policy = make_policy(PolicyMode::Testing, 86400, {"mail.example.net"});
  StateSnapshot state;
  state.pending["example.net"] = PendingId{"example.net",
                                           "20261126000000",
                                           policy_hash(old_policy),
                                           PolicyMode::Testing,
                                           86400,
                                           policy_text(old_policy),
                                           0};
  Deployment deployment =
      build(config, state,
            {live_zone("example.net", {txt("_mta-sts.example.net.", "v=STSv1; id=20261126000000")},
                       {"mail.example.net"})});
  const DomainDecision& decision = deployment.decisions.at("example.net");
  CHECK(decision.pending_went_live);
  CHECK(decision.id.id == "20261127120000");
  CHECK(decision.id.id > "20261126000000");
}

TEST_CASE("a live id the state does not know is adopted and replaced by a new id") {
  Config config = load("  example.org: {mx: [mail.example.org], policy: {mode: testing, max_age: 86400}}\n");
  StateSnapshot state;
  Deployment deployment = prepare_deployment(config, state, {}, k_now);
  zone_queries(deployment, state, {});
  auto fetch = attach_live(deployment, state,
                           {live_zone("example.org", {txt("_mta-sts.example.org.", "v=STSv1; id=210803")})});
  CHECK(fetch == std::vector<std::string>{"example.org"});
  std::map<std::string, LivePolicy> live;
  live["example.org"].policy = make_policy(PolicyMode::Testing, 86400, {"mail.example.org"});
  live["example.org"].body = "version: STSv1\nmode: testing\nmx: mail.example.org\nmax_age: 86400\n";
  settle_deployment(deployment, state, {}, live, {});
  const DomainDecision& decision = deployment.decisions.at("example.org");
  CHECK(decision.adopting);
  CHECK_FALSE(decision.keeps_live_id);
  const std::string notice =
      "example.org: adopting live id 210803 → 20261127120000 (the live policy file differs from the "
      "canonical "
      "policy)";
  CHECK(deployment.notices == std::vector<std::string>{notice});
  CHECK(describe_bump(decision) == "id 210803 -> 20261127120000 (mode testing, max_age 86400)");
  CHECK(format_plan_text(deployment).find(notice + "\n") == 0);
  CHECK(deployment.bumps().size() == 1);
}

namespace {

/// example.org (testing, 1 day) with no state, a live id 210803 and `live` as
/// what its policy host serves.
Deployment adopt_example_org(const LivePolicy& live) {
  Config config = load("  example.org: {mx: [mail.example.org], policy: {mode: testing, max_age: 86400}}\n");
  return build(config, {}, {live_zone("example.org", {txt("_mta-sts.example.org.", "v=STSv1; id=210803")})},
               {{"example.org", live}});
}

}  // namespace

TEST_CASE("an adopted live id whose policy file is already canonical is kept, and apply has it to record") {
  LivePolicy live;
  live.policy = make_policy(PolicyMode::Testing, 86400, {"mail.example.org"});
  live.body = policy_text(*live.policy);
  Deployment deployment = adopt_example_org(live);
  const DomainDecision& decision = deployment.decisions.at("example.org");
  CHECK(decision.keeps_live_id);
  CHECK(decision.id.id == "210803");
  CHECK_FALSE(decision.id.bumped);
  CHECK(deployment.bumps().empty());
  // The live _mta-sts TXT already says id=210803 (the zone lacks other records).
  CHECK(format_plan_text(deployment).find("_mta-sts.example.org") == std::string::npos);
  CHECK(deployment.has_pending_work());  // the state must learn the id
  CHECK(deployment.notices ==
        std::vector<std::string>{
            "example.org: adopting live id 210803 as it is: the live policy file is the canonical policy"});
}

TEST_CASE("an adopted domain whose live policy cannot be read takes a new id and says why") {
  LivePolicy live;
  live.error = "https://mta-sts.example.org/.well-known/mta-sts.txt answered HTTP 404";
  Deployment deployment = adopt_example_org(live);
  CHECK(deployment.notices ==
        std::vector<std::string>{
            "example.org: adopting live id 210803 → 20261127120000 (the live policy could not "
            "be read: https://mta-sts.example.org/.well-known/mta-sts.txt answered HTTP 404)"});
}

TEST_CASE(
    "retiring an adopted enforce policy waits for the live policy's max_age, from when mode none goes live") {
  Config config = load("  example.org: {mx: [mail.example.org], retire: true}\n");
  StateSnapshot state;  // empty: a hand-made setup
  std::map<std::string, LivePolicy> live;
  live["example.org"].policy = make_policy(PolicyMode::Enforce, 604800, {"mail.example.org"});
  Deployment deployment = build(
      config, state,
      {live_zone("example.org", {txt("_mta-sts.example.org.", "v=STSv1; id=210803")}, {"mail.example.org"})},
      live);
  const DomainDecision& decision = deployment.decisions.at("example.org");
  CHECK_FALSE(decision.retired_out);
  CHECK(decision.policy.policy.mode == PolicyMode::None);
  REQUIRE(decision.retiring_until);
  CHECK(*decision.retiring_until == k_now + 604800);
  CHECK(
      format_plan_text(deployment).find("deleted on the first apply or promote after 2026-12-04T12:00:00Z") !=
      std::string::npos);

  SECTION("an unreadable live policy waits the longest max_age") {
    std::map<std::string, LivePolicy> unreadable;
    unreadable["example.org"].error =
        "failed to fetch 'https://mta-sts.example.org/.well-known/mta-sts.txt' (x)";
    Deployment blind =
        build(config, state, {live_zone("example.org", {txt("_mta-sts.example.org.", "v=STSv1; id=210803")})},
              unreadable);
    CHECK(*blind.decisions.at("example.org").retiring_until == k_now + 31557600);
  }
}

TEST_CASE("a retired domain stays deleted when a later run's clock is earlier") {
  Config config = load("  old.example: {mx: [mail.example.net], retire: true}\n");
  Policy none = make_policy(PolicyMode::None, 86400, {"mail.example.net"});
  StateSnapshot state;
  DomainState row = published("old.example", "20271201000000", none);
  row.retiring_until = *parse_rfc3339("2027-12-10T00:00:00Z");
  row.retired_out_at = *parse_rfc3339("2027-12-22T00:00:00Z");
  state.domains["old.example"] = row;
  state.latest_time = *parse_rfc3339("2027-12-22T00:00:00Z");
  Deployment deployment = build(config, state, {live_zone("old.example", {})});
  CHECK(deployment.decisions.at("old.example").retired_out);
  CHECK(deployment.zones.at("old.example").desired.empty());
  CHECK(deployment.change_count() == 0);
  CHECK_FALSE(deployment.has_pending_work());
  REQUIRE_FALSE(deployment.warnings.empty());
  CHECK(deployment.warnings[0].message ==
        "the clock (2026-11-27T12:00:00Z) is earlier than the latest time in the state "
        "(2027-12-22T00:00:00Z); what "
        "a later time decided stays (deleted records stay deleted, no stage is entered twice)");
}

TEST_CASE("a stage is never entered twice or left backwards") {
  Config config = load("  example.net: {mx: [mail.example.net]}\n",
                       "rollout:\n  gates: {starttls: false}\n  stages:\n"
                       "    - {mode: testing, max_age: 86400, hold: 7d}\n"
                       "    - {mode: enforce, max_age: 604800}\n");
  StateSnapshot state;
  DomainState row = published("example.net", "20261101000000",
                              make_policy(PolicyMode::Enforce, 604800, {"mail.example.net"}));
  row.stage = 1;
  state.domains["example.net"] = row;
  DeployRequest request;
  request.stage_overrides["example.net"] = 1;
  Deployment deployment = prepare_deployment(config, state, request, k_now);
  CHECK_FALSE(deployment.decisions.at("example.net").stage_moves);
  request.stage_overrides["example.net"] = 0;
  deployment = prepare_deployment(config, state, request, k_now);
  CHECK_FALSE(deployment.decisions.at("example.net").stage_moves);
  CHECK(deployment.decisions.at("example.net").stage == 1);
}

TEST_CASE("a blocked MX change is in every plan format, and holds the id") {
  Config config = load("  example.net: {mx: [mail.example.net], policy: {mode: enforce, max_age: 604800}}\n");
  StateSnapshot state;
  state.domains["example.net"] = published("example.net", "20261101000000",
                                           make_policy(PolicyMode::Testing, 86400, {"mail.example.net"}));
  Deployment deployment = build(config, state,
                                {live_zone("example.net",
                                           {txt("_mta-sts.example.net.", "v=STSv1; id=20261101000000"),
                                            RRset{"mta-sts.example.net.", RRType::A, 300, {"192.0.2.40"}}},
                                           {"mx.elsewhere.example"})});
  REQUIRE(deployment.blocked.size() == 1);
  const Blocked& blocked = deployment.blocked[0];
  CHECK(blocked.guard == "mx-coverage");
  CHECK(blocked.change == "id 20261101000000 -> 20261127120000 (mode enforce, max_age 604800, was testing)");
  CHECK(blocked.message ==
        "MX host(s) mx.elsewhere.example match no mx pattern of the new enforce policy; senders would refuse "
        "to "
        "deliver to them. Add them to domains.example.net.mx, or pass --force");
  CHECK(deployment.decisions.at("example.net").held);
  CHECK(deployment.bumps().empty());
  CHECK(deployment.change_count() == 0);

  std::string text = format_plan_text(deployment);
  CHECK(text.find(
            "blocked (mx-coverage): example.net: id 20261101000000 -> 20261127120000 (mode enforce, max_age "
            "604800, was testing): MX host(s) mx.elsewhere.example") != std::string::npos);
  CHECK(text.find("No changes") == std::string::npos);
  auto json = nlohmann::json::parse(format_plan_json(deployment));
  REQUIRE(json["blocked"].size() == 1);
  CHECK(json["blocked"][0]["guard"] == "mx-coverage");
  CHECK(json["blocked"][0]["change"] == blocked.change);
  std::string markdown = format_plan_markdown(deployment);
  CHECK(markdown.find("| example.net | mx-coverage | id 20261101000000 -> 20261127120000") !=
        std::string::npos);

  SECTION("--force pushes it with a warning") {
    DeployRequest force;
    force.force = true;
    Deployment forced =
        build(config, state,
              {live_zone("example.net", {txt("_mta-sts.example.net.", "v=STSv1; id=20261101000000")},
                         {"mx.elsewhere.example"})},
              {}, k_now, force);
    CHECK(forced.blocked.empty());
    CHECK(forced.bumps().size() == 1);
  }
}

TEST_CASE("the Markdown plan keeps TTLs and lists policy files") {
  Config config = load("  example.net: {mx: [mail.example.net], policy: {mode: testing, max_age: 86400}}\n");
  StateSnapshot state;
  DeployRequest request;
  Deployment deployment = prepare_deployment(config, state, request, k_now);
  zone_queries(deployment, state, request);
  attach_live(deployment, state, {live_zone("example.net", {})});
  settle_deployment(deployment, state, request, {}, {{"example.net", ""}});
  std::string markdown = format_plan_markdown(deployment);
  CHECK(
      markdown.find(
          "| example.net | create | `_mta-sts.example.net.` | TXT |  | 300 `v=STSv1; id=20261127120000` |") !=
      std::string::npos);
  CHECK(markdown.find("- `+ mta-sts.example.net/.well-known/mta-sts.txt (policy of example.net)`") !=
        std::string::npos);
  auto json = nlohmann::json::parse(format_plan_json(deployment));
  CHECK(json["policy_files"][0]["action"] == "create");
  CHECK(format_plan_text(deployment).find("policy files:\n  + mta-sts.example.net/.well-known/mta-sts.txt") !=
        std::string::npos);
}

TEST_CASE("versions_of reads the mx lines with the policy parser") {
  Policy policy = make_policy(PolicyMode::Enforce, 604800, {"mail.example.net", "*.mx.example.net"});
  HistoryEntry entry;
  entry.id = "1";
  entry.mode = PolicyMode::Enforce;
  entry.max_age = 604800;
  entry.policy_text = policy_text(policy);
  auto versions = versions_of({entry});
  REQUIRE(versions.size() == 1);
  CHECK(versions[0].policy.mx == policy.mx);
}
