// Failing servers cost bounded time: the circuit breaker, the call deadline,
// grouped failures, and secrets a server echoes back never reach a message.

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "powerdns/powerdns_provider.h"
#include "provider.h"
#include "support/fault_server.h"
#include "support/support.h"
#include "util/secrets.h"

using namespace stsctl;
using stsctl::test::FaultServer;

namespace {

const char* const k_secret = "Zm9vLXRlc3Qtc2VjcmV0LWFwaS1rZXk";

PowerdnsConfig powerdns_config(const std::string& url, double timeout) {
  PowerdnsConfig config;
  config.name = "pdns";
  config.url = url;
  config.server_id = "localhost";
  config.api_key_env = "STSCTL_LIMITS_TEST_KEY";
  config.timeout_seconds = timeout;
  ::setenv("STSCTL_LIMITS_TEST_KEY", k_secret, 1);
  return config;
}

std::vector<ZoneQuery> queries(size_t count) {
  std::vector<ZoneQuery> out;
  for (size_t i = 0; i < count; ++i) {
    out.push_back({"z" + std::to_string(i) + ".example", {}, true, true});
  }
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

size_t count_kind(const std::vector<ZoneReadResult>& results, ProviderError::Kind kind) {
  size_t n = 0;
  for (const auto& result : results) {
    n += result.error && result.error->kind() == kind ? 1 : 0;
  }
  return n;
}

}  // namespace

TEST_CASE("a server that never answers trips the breaker", "[providers][limits]") {
  FaultServer server(FaultServer::Mode::Hang);
  auto provider = make_powerdns_provider(powerdns_config(server.url(), 0.5));
  CallLimits limits;  // breaker at 3, no deadline
  provider->set_limits(limits);
  auto started = std::chrono::steady_clock::now();
  auto results = provider->read_zones(queries(200));
  double elapsed = seconds_since(started);
  REQUIRE(results.size() == 200);
  CHECK(elapsed < 8);  // without the breaker: 200 x 0.5 s / 8 in flight = 12.5 s
  CHECK(count_kind(results, ProviderError::Kind::Timeout) >= 3);
  CHECK(count_kind(results, ProviderError::Kind::NotAttempted) >= 180);
  for (const auto& result : results) {
    if (result.error && result.error->kind() == ProviderError::Kind::NotAttempted) {
      CHECK_THAT(
          std::string(result.error->what()),
          Catch::StartsWith("provider 'pdns': zone " + result.zone +
                            " not attempted: the 3 zones before it failed the same way (provider 'pdns': "
                            "failed to read zone '"));
      break;
    }
  }
}

TEST_CASE("no zone starts after the deadline", "[providers][limits]") {
  FaultServer server(FaultServer::Mode::Hang);
  auto provider = make_powerdns_provider(powerdns_config(server.url(), 0.5));
  CallLimits limits;
  limits.breaker_threshold = 0;
  limits.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(800);
  limits.deadline_text = "800ms";
  provider->set_limits(limits);
  auto started = std::chrono::steady_clock::now();
  auto results = provider->read_zones(queries(100));
  double elapsed = seconds_since(started);
  CHECK(elapsed < 3);  // without it: 100 x 0.5 s / 8 = 6.5 s
  size_t skipped = count_kind(results, ProviderError::Kind::NotAttempted);
  CHECK(skipped >= 70);
  for (const auto& result : results) {
    if (result.error && result.error->kind() == ProviderError::Kind::NotAttempted) {
      CHECK(std::string(result.error->what()) ==
            "provider 'pdns': zone " + result.zone +
                " not attempted: the deadline (--deadline 800ms) passed; run "
                "again to continue");
      break;
    }
  }
}

TEST_CASE("a persistent HTTP 500 stops after three zones, and the echoed key is scrubbed",
          "[providers][limits][secrets]") {
  FaultServer server(FaultServer::Mode::Echo, 500);
  auto provider = make_powerdns_provider(powerdns_config(server.url(), 5));
  auto started = std::chrono::steady_clock::now();
  std::vector<ZonePlan> plans;
  for (int i = 0; i < 100; ++i) {
    ZonePlan plan;
    plan.zone = "z" + std::to_string(i) + ".example";
    Change change;
    change.kind = ChangeKind::Create;
    change.key = RRsetKey{"_mta-sts." + plan.zone + ".", RRType::TXT};
    change.after = RRset{"_mta-sts." + plan.zone + ".", RRType::TXT, 3600, {"v=STSv1; id=1"}};
    plan.changes.push_back(change);
    plans.push_back(plan);
  }
  auto results = provider->apply_zones(plans);
  CHECK(seconds_since(started) < 10);  // before: 6 attempts per zone, 100 zones, one at a time
  size_t skipped = 0;
  for (const auto& result : results) {
    REQUIRE(result.error);
    std::string text = result.error->what();
    CHECK(text.find(k_secret) == std::string::npos);
    skipped += result.error->kind() == ProviderError::Kind::NotAttempted ? 1 : 0;
  }
  CHECK(skipped >= 90);
  CHECK_THAT(std::string(results.front().error->what()), Catch::Contains("X-API-Key: [redacted]"));
}

TEST_CASE("identical failures are grouped, naming the other zones", "[providers][limits]") {
  std::vector<std::string> errors;
  for (int i = 0; i < 8; ++i) {
    errors.push_back("provider 'pdns': failed to read zone 'z" + std::to_string(i) +
                     ".example' on http://127.0.0.1:1 (Connection refused): check that PowerDNS is running");
  }
  errors.push_back("zone other.example has no provider");
  auto grouped = group_zone_errors(errors);
  REQUIRE(grouped.size() == 2);
  CHECK(grouped[0] ==
        "provider 'pdns': failed to read zone 'z0.example' on http://127.0.0.1:1 (Connection refused): check "
        "that "
        "PowerDNS is running (the same for 7 more zones: z1.example, z2.example, z3.example, z4.example, "
        "z5.example, ...)");
  CHECK(grouped[1] == "zone other.example has no provider");
  CHECK(group_zone_errors({"a", "a"}) == std::vector<std::string>{"a", "a"});
}

TEST_CASE("provider errors escape control characters a server sent", "[providers][limits]") {
  ProviderError error(ProviderError::Kind::Other, "failed (HTTP 500: \x1b[2Jcleared\r\nnext)");
  CHECK(std::string(error.what()) == "failed (HTTP 500: \\x1b[2Jcleared\\r\\nnext)");
}

TEST_CASE("failures differing only in numbers trip the breaker and group", "[providers][limits]") {
  CallLimits limits;
  ZoneBreaker breaker(limits, "pdns");
  for (int i = 0; i < 3; ++i) {
    std::string zone = "z" + std::to_string(i) + ".example";
    REQUIRE_FALSE(breaker.before(zone));
    breaker.after(zone, ProviderError(ProviderError::Kind::Timeout, "zone " + zone + ": timed out after " +
                                                                        std::to_string(500 + i) + " ms"));
  }
  auto skip = breaker.before("z3.example");
  REQUIRE(skip);
  CHECK(std::string(skip->what()) ==
        "provider 'pdns': zone z3.example not attempted: the 3 zones before it failed the same way (zone "
        "z2.example: timed out after 502 ms); fix that and run again: zones already done are not redone");
  auto grouped =
      group_zone_errors({"zone a.example: timed out after 500 ms", "zone b.example: timed out after 507 ms"});
  CHECK(grouped == std::vector<std::string>{
                       "zone a.example: timed out after 500 ms (the same for 1 more zone: b.example)"});
}
