// The safe-rollout scenarios end to end, driven by --now, against a real
// PowerDNS (DNS) and a real nginx with a test CA (policy hosts).

#include "policy/policy.h"
#include "support/nginx_server.h"
#include "support/pdns_server.h"
#include "support/rollout_config.h"
#include "support/smtp_server.h"
#include "support/support.h"
#include "support/test_ca.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <regex>

using namespace stsctl::test;

namespace {

struct Scenario {
  PdnsServer pdns;
  std::vector<std::string> zones;
  std::unique_ptr<NginxServer> nginx;
  TempDir dir{"it-rollout"};
  // rollout.gates; these MX hosts run no SMTP server, so the STARTTLS gate is off.
  std::string gates = "{starttls: false}";

  explicit Scenario(const std::vector<std::string>& zone_prefixes,
                    const std::vector<std::string>& served = {}) {
    std::vector<NginxHost> hosts;
    for (const auto& prefix : zone_prefixes) {
      zones.push_back(PdnsServer::unique_zone(prefix));
      pdns.create_zone(zones.back(), {{"@", "MX", {"10 mail." + zones.back() + "."}}});
    }
    for (size_t i = 0; i < zones.size(); ++i) {
      if (served.empty() || std::find(served.begin(), served.end(), zone_prefixes[i]) != served.end()) {
        hosts.push_back({"mta-sts." + zones[i]});
      }
    }
    nginx = std::make_unique<NginxServer>(hosts);
  }

  /// `domains` is the YAML of the domains map, with Z0, Z1... for the zones.
  void write_config(std::string domains) {
    // Only in the domains: temporary paths elsewhere in the config may
    // contain "Z0" by chance (mkdtemp suffixes).
    for (size_t i = 0; i < zones.size(); ++i) {
      domains = replace_all(domains, "Z" + std::to_string(i), zones[i]);
    }
    write_file(dir.file("stsctl.yaml"), rollout_config(pdns, *nginx, zones, {domains, gates, ""}));
  }

  CommandResult run(const std::string& now, std::vector<std::string> args) {
    std::vector<std::string> all{"-c", dir.file("stsctl.yaml"), "--now", now};
    all.insert(all.end(), args.begin(), args.end());
    return run_stsctl(all);
  }

  std::string served_policy(size_t zone) {
    std::string path = nginx->webroot() + "/mta-sts." + zones[zone] + "/.well-known/mta-sts.txt";
    return file_exists(path) ? read_file(path) : "";
  }

  std::string dns_id(size_t zone) { return sts_id(pdns.query("_mta-sts." + zones[zone], "TXT")); }

  // The `status --json` row of zone `zone` at `now` (parsed, not searched).
  nlohmann::json status_row(const std::string& now, size_t zone) {
    auto result = run(now, {"status", "--json"});
    INFO(result.out << result.err);
    REQUIRE(result.exit_code == 0);
    for (const auto& row : nlohmann::json::parse(result.out)) {
      if (row["domain"] == zones[zone]) {
        return row;
      }
    }
    FAIL("status --json has no row for " << zones[zone]);
    return {};
  }
};

}  // namespace

TEST_CASE("rollout: day 0 testing, day 7 enforce with a short max_age, day 21 a year; publish before bump") {
  Scenario s({"roll"});
  s.write_config("  Z0: {mx: [mail.Z0]}\n");

  auto day0 = s.run("2026-01-01T00:00:00Z", {"apply", "--yes"});
  INFO(day0.out << day0.err);
  REQUIRE(day0.exit_code == 0);
  CHECK(s.dns_id(0) == "20260101000000");
  CHECK(s.served_policy(0).find("mode: testing\r\n") != std::string::npos);

  auto status0 = s.status_row("2026-01-02T00:00:00Z", 0);
  CHECK(status0["mode"] == "testing");
  CHECK(status0["next_promotion"] == "2026-01-08T00:00:00Z");

  auto early = s.run("2026-01-05T00:00:00Z", {"promote", "--yes"});
  INFO(early.out << early.err);
  CHECK(early.exit_code == 0);
  CHECK(early.out.find("until 2026-01-08T00:00:00Z") != std::string::npos);
  CHECK(s.dns_id(0) == "20260101000000");

  auto dry = s.run("2026-01-08T00:00:00Z", {"promote", "--dry-run"});
  INFO(dry.out << dry.err);
  CHECK(dry.exit_code == 0);
  CHECK(dry.out.find("stage 1 -> 2") != std::string::npos);
  CHECK(dry.out.find("20260108000000") != std::string::npos);
  CHECK(s.dns_id(0) == "20260101000000");  // a dry run changes nothing
  CHECK(s.served_policy(0).find("mode: testing") != std::string::npos);

  auto day7 = s.run("2026-01-08T00:00:00Z", {"promote", "--yes"});
  INFO(day7.out << day7.err);
  REQUIRE(day7.exit_code == 0);
  CHECK(s.dns_id(0) == "20260108000000");
  std::string policy7 = s.served_policy(0);
  CHECK(policy7.find("mode: enforce\r\n") != std::string::npos);
  CHECK(policy7.find("max_age: 604800\r\n") != std::string::npos);

  // One stage per run: the next hold starts now.
  auto day8 = s.run("2026-01-09T00:00:00Z", {"promote", "--yes"});
  CHECK(s.dns_id(0) == "20260108000000");

  auto day21 = s.run("2026-01-22T00:00:00Z", {"promote", "--yes"});
  INFO(day21.out << day21.err);
  REQUIRE(day21.exit_code == 0);
  CHECK(s.dns_id(0) == "20260122000000");
  CHECK(s.served_policy(0).find("max_age: 31557600\r\n") != std::string::npos);

  auto status = s.run("2026-01-23T00:00:00Z", {"status"});
  CHECK(status.out.find("3/3") != std::string::npos);
  auto last = s.run("2026-06-01T00:00:00Z", {"promote", "--yes"});
  CHECK(last.out.find("last stage") != std::string::npos);
}

TEST_CASE(
    "rollout gates: an MX host not covered keeps the domain in testing; a policy not live blocks the bump") {
  Scenario s({"gate", "dark"}, {"gate"});
  // Z0's live MX is mail.Z0, but the config lists another host.
  s.write_config("  Z0: {mx: [other.Z0]}\n");
  auto day0 = s.run("2026-01-01T00:00:00Z", {"apply", "--yes"});
  INFO(day0.out << day0.err);
  REQUIRE(day0.exit_code == 0);

  auto day7 = s.run("2026-01-08T00:00:00Z", {"promote", "--yes"});
  INFO(day7.out << day7.err);
  CHECK(day7.exit_code == 3);
  CHECK((day7.out + day7.err).find("mail." + s.zones[0]) != std::string::npos);
  CHECK(s.dns_id(0) == "20260101000000");
  CHECK(s.served_policy(0).find("mode: testing") != std::string::npos);  // the enforce file was not published
  auto status = s.status_row("2026-01-08T00:00:01Z", 0);
  CHECK(status["mode"] == "testing");
  CHECK(status["gate"].get<std::string>().find("mx-coverage") != std::string::npos);

  // Z1's policy host is not served by nginx: its id is never pushed.
  s.write_config("  Z0: {mx: [other.Z0, mail.Z0]}\n  Z1: {mx: [mail.Z1]}\n");
  auto dark = s.run("2026-01-09T00:00:00Z", {"apply", "--yes"});
  INFO(dark.out << dark.err);
  CHECK(dark.exit_code == 3);
  CHECK((dark.out + dark.err).find("policy-not-live") != std::string::npos);
  CHECK(s.dns_id(1) == "");
  CHECK(s.dns_id(0) == "20260109000000");  // Z0's mx change went out
  CHECK(s.status_row("2026-01-09T00:00:01Z", 1)["published"] == false);
  CHECK(s.status_row("2026-01-09T00:00:01Z", 0)["published"] == true);

  // Every id in DNS points at a policy the web root serves.
  std::string served = s.served_policy(0);
  CHECK(served.find("mx: mail." + s.zones[0]) != std::string::npos);
}

TEST_CASE(
    "rollout gates: an MX with STARTTLS and a valid certificate is promoted; one without STARTTLS stays") {
  Scenario s({"tls", "plain"});
  TestCa smtp_ca("stsctl SMTP Test CA");
  SmtpServer good(smtp_ca, SmtpServerOptions{"mail." + s.zones[0], true, {}, TestCa::Validity::Valid});
  SmtpServer plain(smtp_ca, SmtpServerOptions{"mail." + s.zones[1], false, {}, TestCa::Validity::Valid});
  // MX lookups go to PowerDNS; the MX hosts' connections go to the two Exims.
  s.gates = "{starttls: true, resolver: \"127.0.0.1:" + std::to_string(s.pdns.dns_port()) +
            "\", ca_file: \"" + smtp_ca.ca_file() + "\", timeout: 10, connect_to: {\"mail." + s.zones[0] +
            ":25\": \"" + good.address() + "\", \"mail." + s.zones[1] + ":25\": \"" + plain.address() +
            "\"}}";
  s.write_config("  Z0: {mx: [mail.Z0]}\n  Z1: {mx: [mail.Z1]}\n");
  auto day0 = s.run("2026-01-01T00:00:00Z", {"apply", "--yes"});
  INFO(day0.out << day0.err);
  REQUIRE(day0.exit_code == 0);

  auto day7 = s.run("2026-01-08T00:00:00Z", {"promote", "--yes"});
  INFO(day7.out << day7.err);
  CHECK(day7.exit_code == 3);  // one domain was held back by a gate
  CHECK(day7.out.find(s.zones[0] + ": stage 1 -> 2") != std::string::npos);
  CHECK(day7.out.find("mail." + s.zones[1] + " does not offer STARTTLS") != std::string::npos);
  CHECK(s.dns_id(0) == "20260108000000");
  CHECK(s.served_policy(0).find("mode: enforce\r\n") != std::string::npos);
  CHECK(s.dns_id(1) == "20260101000000");
  CHECK(s.served_policy(1).find("mode: testing\r\n") != std::string::npos);

  auto status = s.run("2026-01-08T00:00:01Z", {"status", "--json"});
  INFO(status.out << status.err);
  REQUIRE(status.exit_code == 0);
  auto rows = nlohmann::json::parse(status.out);
  int seen = 0;
  for (const auto& row : rows) {
    if (row["domain"] == s.zones[0]) {
      CHECK(row["mode"] == "enforce");
      CHECK(row["stage"] == 1);
      ++seen;
    } else if (row["domain"] == s.zones[1]) {
      CHECK(row["mode"] == "testing");
      CHECK(row["stage"] == 0);
      CHECK(row["gate"].get<std::string>().find("starttls: mail." + s.zones[1] +
                                                " does not offer STARTTLS") != std::string::npos);
      ++seen;
    }
  }
  CHECK(seen == 2);
}

TEST_CASE("MX-change guard: removing a pattern a live MX needs under enforce is refused unless --force") {
  Scenario s({"mxg"});
  s.write_config("  Z0: {mx: [mail.Z0, backup.Z0], policy: {mode: enforce, max_age: 604800}}\n");
  auto day0 = s.run("2026-01-01T00:00:00Z", {"apply", "--yes"});
  INFO(day0.out << day0.err);
  REQUIRE(day0.exit_code == 0);
  std::string id0 = s.dns_id(0);

  s.write_config("  Z0: {mx: [backup.Z0], policy: {mode: enforce, max_age: 604800}}\n");
  auto refused = s.run("2026-01-02T00:00:00Z", {"apply", "--yes"});
  INFO(refused.out << refused.err);
  CHECK(refused.exit_code == 3);
  CHECK((refused.out + refused.err).find("--force") != std::string::npos);
  CHECK(s.dns_id(0) == id0);
  CHECK(s.served_policy(0).find("mx: mail." + s.zones[0]) != std::string::npos);

  auto forced = s.run("2026-01-02T00:00:00Z", {"apply", "--yes", "--force"});
  INFO(forced.out << forced.err);
  CHECK(forced.exit_code == 0);
  CHECK(s.dns_id(0) == "20260102000000");

  // The live MX is still mail.Z0, which the forced policy no longer covers:
  // nothing is left to push, but plan keeps warning until the forced policy
  // can have expired from senders' caches (max_age 7 days, RFC 8461 section 3.2).
  auto plan = s.run("2026-01-03T00:00:00Z", {"plan"});
  INFO(plan.out << plan.err);
  CHECK(plan.exit_code == 0);
  CHECK(plan.out.find("No changes. DNS matches the configuration.") != std::string::npos);
  CHECK(plan.out.find("warning: " + s.zones[0] + ": MX host mail." + s.zones[0] +
                      " is not covered by enforce policy id 20260102000000, which senders may cache until "
                      "2026-01-10T00:00:00Z; mail to it may fail for them until then") != std::string::npos);
}

TEST_CASE("retirement: mode none with a new id, records deleted after the longest max_age") {
  Scenario s({"ret"});
  s.write_config("  Z0: {mx: [mail.Z0], policy: {mode: enforce, max_age: 604800}}\n");
  REQUIRE(s.run("2026-01-01T00:00:00Z", {"apply", "--yes"}).exit_code == 0);

  s.write_config("  Z0: {mx: [mail.Z0], retire: true}\n");
  auto retire = s.run("2026-02-01T00:00:00Z", {"apply", "--yes"});
  INFO(retire.out << retire.err);
  REQUIRE(retire.exit_code == 0);
  CHECK(s.dns_id(0) == "20260201000000");
  CHECK(s.served_policy(0).find("mode: none\r\n") != std::string::npos);
  // The enforce policy was served until 02-01 and may be cached for 7 days.
  CHECK(s.status_row("2026-02-01T00:00:01Z", 0)["retiring_until"] == "2026-02-08T00:00:00Z");

  auto early = s.run("2026-02-05T00:00:00Z", {"plan", "--detailed-exitcode"});
  CHECK(early.exit_code == 0);
  CHECK(early.out.find("deleted on the first apply or promote after 2026-02-08T00:00:00Z") !=
        std::string::npos);
  CHECK_FALSE(s.pdns.query("_mta-sts." + s.zones[0], "TXT").empty());

  // The systemd timer runs promote only: it finishes the retirement.
  auto done = s.run("2026-02-09T00:00:00Z", {"promote", "--yes"});
  INFO(done.out << done.err);
  CHECK(done.exit_code == 0);
  CHECK(s.pdns.query("_mta-sts." + s.zones[0], "TXT").empty());
  CHECK(s.pdns.query("mta-sts." + s.zones[0], "A").empty());
  CHECK(s.pdns.query(s.zones[0], "MX") == std::vector<std::string>{"10 mail." + s.zones[0] + "."});

  // A later run with an earlier clock warns and does not publish it again.
  auto back = s.run("2026-02-06T00:00:00Z", {"apply", "--yes"});
  INFO(back.out << back.err);
  CHECK(back.exit_code == 0);
  CHECK(
      back.out.find("warning: the clock (2026-02-06T00:00:00Z) is earlier than the latest time in the state "
                    "(2026-02-09T00:00:00Z)") != std::string::npos);
  CHECK(s.pdns.query("_mta-sts." + s.zones[0], "TXT").empty());
  auto plan = s.run("2026-02-06T00:00:00Z", {"plan", "--detailed-exitcode"});
  CHECK(plan.exit_code == 0);
}

TEST_CASE("a domain removed from the config is retired, not deleted at once") {
  Scenario s({"keep", "gone"});
  s.write_config(
      "  Z0: {mx: [mail.Z0], policy: {mode: enforce, max_age: 604800}}\n"
      "  Z1: {mx: [mail.Z1], policy: {mode: enforce, max_age: 604800}}\n");
  REQUIRE(s.run("2026-01-01T00:00:00Z", {"apply", "--yes"}).exit_code == 0);
  REQUIRE(s.dns_id(1) == "20260101000000");

  s.write_config("  Z0: {mx: [mail.Z0], policy: {mode: enforce, max_age: 604800}}\n");
  auto plan = s.run("2026-02-01T00:00:00Z", {"plan"});
  INFO(plan.out << plan.err);
  CHECK(plan.out.find(s.zones[1] + " was removed from the config: retiring it") != std::string::npos);
  CHECK(plan.out.find("deleted on the first apply or promote after 2026-02-08T00:00:00Z") !=
        std::string::npos);

  auto retire = s.run("2026-02-01T00:00:00Z", {"apply", "--yes"});
  INFO(retire.out << retire.err);
  REQUIRE(retire.exit_code == 0);
  CHECK(s.dns_id(1) == "20260201000000");
  CHECK(s.served_policy(1).find("mode: none\r\n") != std::string::npos);
  CHECK(s.pdns.query("mta-sts." + s.zones[1], "A") == std::vector<std::string>{"192.0.2.40"});
  CHECK(s.dns_id(0) == "20260101000000");

  auto done = s.run("2026-02-09T00:00:00Z", {"apply", "--yes"});
  INFO(done.out << done.err);
  CHECK(done.exit_code == 0);
  CHECK(s.pdns.query("_mta-sts." + s.zones[1], "TXT").empty());
  CHECK(s.pdns.query("mta-sts." + s.zones[1], "A").empty());
  CHECK(s.dns_id(0) == "20260101000000");
  auto again = s.run("2026-02-10T00:00:00Z", {"plan", "--detailed-exitcode"});
  CHECK(again.exit_code == 0);
}
