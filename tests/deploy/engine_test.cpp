// The deploy engine as a library, driven directly (no CLI) against a real
// PowerDNS and a real nginx with a test CA. The only fake is a crash right
// after a push: a fault no real server produces on demand.

#include "deploy/engine.h"
#include "config/load.h"
#include "deploy/plan_format.h"
#include "support/nginx_server.h"
#include "support/pdns_server.h"
#include "support/support.h"
#include "util/time.h"

#include <catch2/catch.hpp>

using namespace stsctl;
using namespace stsctl::test;

namespace {

PdnsServer& pdns() {
  static PdnsServer instance;
  return instance;
}

struct SimulatedCrash : std::runtime_error {
  SimulatedCrash() : std::runtime_error("simulated crash after the push") {}
};

/// The real provider, but the run "dies" right after its push succeeded.
class CrashAfterPush : public Provider {
 public:
  explicit CrashAfterPush(std::unique_ptr<Provider> real) : m_real(std::move(real)) {}
  std::vector<ZoneReadResult> read_zones(const std::vector<ZoneQuery>& queries) override {
    return m_real->read_zones(queries);
  }
  std::vector<ZoneApplyResult> apply_zones(const std::vector<ZonePlan>& plans) override {
    m_real->apply_zones(plans);
    throw SimulatedCrash();
  }

 private:
  std::unique_ptr<Provider> m_real;
};

struct Events : EventSink {
  std::vector<std::string> lines;
  void emit(Kind, const std::string& text) override { lines.push_back(text); }
  bool saw(const std::string& part) const {
    for (const auto& line : lines) {
      if (line.find(part) != std::string::npos) {
        return true;
      }
    }
    return false;
  }
};

/// One zone on the test PowerDNS, its policy host on the test nginx.
struct Setup {
  std::string zone = PdnsServer::unique_zone("eng");
  NginxHost host{"mta-sts." + zone};
  std::unique_ptr<NginxServer> nginx;
  TempDir dir{"deploy-engine"};
  Config config;

  explicit Setup(const std::string& content_type = "text/plain") {
    pdns().create_zone(zone, {{"@", "MX", {"10 mail." + zone + "."}}});
    host.content_type = content_type;
    nginx = std::make_unique<NginxServer>(std::vector<NginxHost>{host});
    std::string connect;
    for (const auto& [from, to] : nginx->connect_to()) {
      connect += "\"" + from + "\": \"" + to + "\"";
    }
    std::string yaml =
        "version: 1\ndefaults:\n  provider: pdns\n  ttl: 300\n  policy_host: {ipv4: [127.0.0.1]}\n"
        "domains:\n  " +
        zone + ": {mx: [mail." + zone +
        "], policy: {mode: testing, max_age: 86400}}\n"
        "providers:\n  pdns: {type: powerdns, url: \"" +
        pdns().api_url() + "\", api_key_file: \"" + pdns().api_key_file() +
        "\"}\n"
        "publish:\n  webroot: \"" +
        nginx->webroot() + "\"\n  verify: true\n  ca_file: \"" + nginx->ca_file() + "\"\n  connect_to: {" +
        connect + "}\n  propagation: {timeout: 0}\n";
    write_file(dir.file("stsctl.yaml"), yaml);
    LoadResult loaded = load_config(dir.file("stsctl.yaml"), dir.file("stsctl.db"));
    REQUIRE(loaded.ok());
    config = loaded.config;
  }

  /// plan + apply through a fresh engine (a new run), with `factory`'s providers.
  Deployment run(int64_t now, Events& events, ProviderSet::Factory factory = nullptr, bool apply = true) {
    StateStore state(config.state_path);
    ProviderSet providers(
        config, factory ? factory : [](const ProviderConfig& c) { return make_provider(c); });
    WebrootPolicyWeb web(config);
    DeployEngine engine(config, DeployEnvironment{state, providers, web, events, now, now});
    Deployment deployment = engine.plan({});
    if (apply) {
      engine.apply(deployment, {});
    }
    return deployment;
  }

  std::string live_id() const { return sts_id(pdns().query("_mta-sts." + zone, "TXT")); }
};

const int64_t k_day0 = *parse_rfc3339("2026-11-27T10:00:00Z");

}  // namespace

TEST_CASE("one engine run publishes a new domain: policy file, verification, every record, the id recorded") {
  Setup setup;
  Events events;
  Deployment first = setup.run(k_day0, events);
  INFO(format_plan_text(first));
  CHECK(first.blocked.empty());
  CHECK(setup.live_id() == "20261127100000");
  CHECK(pdns().query("mta-sts." + setup.zone, "A") == std::vector<std::string>{"127.0.0.1"});
  CHECK(events.saw("updated zone " + setup.zone));

  StateStore state(setup.config.state_path);
  CHECK(state.domain(setup.zone)->policy_id == "20261127100000");
  CHECK(state.domain(setup.zone)->stage_since == k_day0);  // the hold counts from when it went live
  CHECK(state.pending().empty());

  Events again;
  Deployment second = setup.run(k_day0 + 3600, again, nullptr, false);
  CHECK_FALSE(second.has_pending_work());
}

TEST_CASE("a run killed between push and record: the next run keeps the pushed id and records it") {
  Setup setup;
  Events events;
  auto crashing = [](const ProviderConfig& c) { return std::make_unique<CrashAfterPush>(make_provider(c)); };
  CHECK_THROWS_AS(setup.run(k_day0, events, crashing), SimulatedCrash);
  CHECK(setup.live_id() == "20261127100000");
  {
    StateStore state(setup.config.state_path);
    CHECK_FALSE(state.domain(setup.zone));  // not recorded as published
    REQUIRE(state.pending().count(setup.zone) == 1);
    CHECK(state.pending().at(setup.zone).id == "20261127100000");
  }

  // An hour later: the same id, nothing to push, only the record.
  Events next;
  Deployment converge = setup.run(k_day0 + 3600, next);
  INFO(format_plan_text(converge));
  CHECK(converge.change_count() == 0);
  CHECK(converge.decisions.at(setup.zone).id.id == "20261127100000");
  CHECK(setup.live_id() == "20261127100000");
  StateStore state(setup.config.state_path);
  CHECK(state.domain(setup.zone)->policy_id == "20261127100000");
  CHECK(state.pending().empty());
  CHECK(state.history(setup.zone).size() == 1);

  Events after;
  CHECK_FALSE(setup.run(k_day0 + 7200, after, nullptr, false).has_pending_work());
}

TEST_CASE("a policy served as text/html is not verified: no id is pushed, the guard says why") {
  Setup setup("text/html");
  Events events;
  Deployment deployment = setup.run(k_day0, events);
  REQUIRE(deployment.blocked.size() == 1);
  CHECK(deployment.blocked[0].guard == "policy-not-live");
  CHECK(deployment.blocked[0].message.find("is served with Content-Type 'text/html', not text/plain") !=
        std::string::npos);
  CHECK(setup.live_id().empty());
  // Everything else is live; the id follows once the policy is served right.
  CHECK(pdns().query("mta-sts." + setup.zone, "A") == std::vector<std::string>{"127.0.0.1"});
  StateStore state(setup.config.state_path);
  CHECK_FALSE(state.domain(setup.zone));
}

TEST_CASE("an id decided by render is pushed by the engine only after verification") {
  Setup setup;
  {
    StateStore state(setup.config.state_path);
    const DomainConfig& domain = *setup.config.find_domain(setup.zone);
    DomainPolicy policy = make_domain_policy(domain.name, make_policy(PolicyMode::Testing, 86400, domain.mx));
    state.resolve_and_record({policy}, {}, k_day0 - 86400, [](const std::map<std::string, IdDecision>&) {},
                             {setup.zone});
    CHECK_FALSE(state.domain(setup.zone));
    CHECK(state.pending().at(setup.zone).id == "20261126100000");
  }
  Events events;
  Deployment deployment = setup.run(k_day0, events);
  CHECK(deployment.decisions.at(setup.zone).id.id == "20261126100000");
  CHECK(setup.live_id() == "20261126100000");
  StateStore state(setup.config.state_path);
  CHECK(state.domain(setup.zone)->stage_since == k_day0);
}
