// plan/apply through the stsctl binary against a real PowerDNS server started
// by the test, checked by DNS queries to that server.

#include "support/cli_json.h"
#include "support/pdns_server.h"
#include "support/support.h"

#include <catch2/catch.hpp>

#include <regex>

using namespace stsctl::test;

namespace {

/// Z1 is a primary, Z2 its alias; both zones in PowerDNS.
std::string make_config(const PdnsServer& pdns, const std::string& z1, const std::string& z2,
                        const std::string& mode = "testing", const std::string& extra_mx = "") {
  std::string config = R"(version: 1
defaults:
  provider: pdns
  ttl: 300
  policy_host: {ipv4: [192.0.2.40], ipv6: ["2001:db8::40"]}
  tlsrpt: {rua: ["mailto:tlsrpt@Z1"]}
  caa: [{tag: issue, value: letsencrypt.org}]
domains:
  Z1:
    mx: [mail.Z1EXTRA]
    policy: {mode: MODE, max_age: 86400}
  Z2: {alias_of: Z1}
providers:
  pdns: {type: powerdns, url: "URL", api_key_file: "KEYFILE"}
publish:
  propagation: {timeout: 5, nameservers: {"ns1.Z1": "127.0.0.1:DNSPORT", "ns1.Z2": "127.0.0.1:DNSPORT"}}
)";
  config = replace_all(config, "Z1EXTRA", z1 + extra_mx);
  config = replace_all(config, "Z1", z1);
  config = replace_all(config, "Z2", z2);
  config = replace_all(config, "MODE", mode);
  config = replace_all(config, "URL", pdns.api_url());
  config = replace_all(config, "KEYFILE", pdns.api_key_file());
  config = replace_all(config, "DNSPORT", std::to_string(pdns.dns_port()));
  return config;
}

}  // namespace

TEST_CASE("apply against PowerDNS: create, empty re-plan, id bump, aliases, foreign records untouched") {
  PdnsServer pdns;
  std::string z1 = PdnsServer::unique_zone("pri");
  std::string z2 = PdnsServer::unique_zone("ali");
  pdns.create_zone(z1, {{"@", "MX", {"10 mail." + z1 + "."}},
                        {"@", "TXT", {"\"v=spf1 mx -all\""}},
                        {"_mta-sts", "TXT", {"\"google-site-verification=abc\""}},
                        {"www", "A", {"192.0.2.80"}}});
  pdns.create_zone(z2, {{"@", "MX", {"10 mail." + z1 + "."}}});
  TempDir dir("it-pdns");
  write_file(dir.file("stsctl.yaml"), make_config(pdns, z1, z2));
  std::vector<std::string> base{"-c", dir.file("stsctl.yaml"), "--now", "2026-03-01T10:00:00Z"};
  auto with = [&](std::vector<std::string> args) {
    std::vector<std::string> all = base;
    all.insert(all.end(), args.begin(), args.end());
    return all;
  };

  auto plan = run_stsctl(with({"plan", "--detailed-exitcode"}));
  INFO(plan.out << plan.err);
  REQUIRE(plan.exit_code == 2);
  CHECK(plan.out.find("+ 300 \"v=STSv1; id=20260301100000\"") != std::string::npos);

  auto apply = run_stsctl(with({"apply", "--yes"}));
  INFO(apply.out << apply.err);
  REQUIRE(apply.exit_code == 0);
  CHECK(apply.err.find("all name servers serve the new ids") != std::string::npos);

  auto txt = pdns.query("_mta-sts." + z1, "TXT");
  CHECK(sts_id(txt) == "20260301100000");
  CHECK(std::find(txt.begin(), txt.end(), "\"google-site-verification=abc\"") != txt.end());
  CHECK(pdns.query("_smtp._tls." + z1, "TXT") ==
        std::vector<std::string>{"\"v=TLSRPTv1; rua=mailto:tlsrpt@" + z1 + "\""});
  CHECK(pdns.query("mta-sts." + z1, "A") == std::vector<std::string>{"192.0.2.40"});
  CHECK(pdns.query("mta-sts." + z1, "AAAA") == std::vector<std::string>{"2001:db8::40"});
  CHECK(pdns.query("mta-sts." + z1, "CAA") == std::vector<std::string>{"0 issue \"letsencrypt.org\""});
  CHECK(pdns.query("_mta-sts." + z2, "CNAME") == std::vector<std::string>{"_mta-sts." + z1 + "."});
  CHECK(pdns.query("_smtp._tls." + z2, "CNAME") == std::vector<std::string>{"_smtp._tls." + z1 + "."});
  CHECK(pdns.query("mta-sts." + z2, "CNAME") == std::vector<std::string>{"mta-sts." + z1 + "."});
  // Foreign records are untouched.
  CHECK(pdns.query(z1, "MX") == std::vector<std::string>{"10 mail." + z1 + "."});
  CHECK(pdns.query(z1, "TXT") == std::vector<std::string>{"\"v=spf1 mx -all\""});
  CHECK(pdns.query("www." + z1, "A") == std::vector<std::string>{"192.0.2.80"});

  // Unchanged config: empty plan, exit 0 with --detailed-exitcode.
  auto replan = run_stsctl(with({"plan", "--detailed-exitcode"}));
  INFO(replan.out << replan.err);
  CHECK(replan.exit_code == 0);
  CHECK(replan.out.find("No changes") != std::string::npos);

  // Policy change: only the _mta-sts TXT changes, with a new id.
  write_file(dir.file("stsctl.yaml"), make_config(pdns, z1, z2, "enforce"));
  auto later = std::vector<std::string>{"-c", dir.file("stsctl.yaml"), "--now", "2026-03-02T10:00:00Z"};
  auto plan2 = run_stsctl({"-c", dir.file("stsctl.yaml"), "--now", "2026-03-02T10:00:00Z", "plan", "--json"});
  INFO(plan2.out);
  REQUIRE(plan2.exit_code == 0);
  CHECK(plan_changes(plan2.out) == std::vector<std::string>{"update _mta-sts." + z1 + ". TXT"});
  CHECK(plan_id_bumps(plan2.out) == std::vector<std::string>{z1 + " 20260301100000 -> 20260302100000"});
  auto apply2 =
      run_stsctl({"-c", dir.file("stsctl.yaml"), "--now", "2026-03-02T10:00:00Z", "apply", "--yes"});
  INFO(apply2.out << apply2.err);
  REQUIRE(apply2.exit_code == 0);
  CHECK(sts_id(pdns.query("_mta-sts." + z1, "TXT")) == "20260302100000");

  // Markdown for pull requests.
  auto markdown = run_stsctl({"-c", dir.file("stsctl.yaml"), "plan", "--format", "markdown"});
  CHECK(markdown.exit_code == 0);
  CHECK(markdown.out.find("### stsctl plan") != std::string::npos);
}

TEST_CASE("apply against PowerDNS: wrong key and missing zone fail with exit 1 and record nothing") {
  PdnsServer pdns;
  std::string z1 = PdnsServer::unique_zone("pri");
  std::string z2 = PdnsServer::unique_zone("ali");
  pdns.create_zone(z1);
  TempDir dir("it-pdns-err");

  // z2 does not exist: the plan names it and says to create it first.
  write_file(dir.file("stsctl.yaml"), make_config(pdns, z1, z2));
  auto missing = run_stsctl({"-c", dir.file("stsctl.yaml"), "apply", "--yes"});
  INFO(missing.out << missing.err);
  CHECK(missing.exit_code == 1);
  CHECK((missing.out + missing.err).find("create the zone first") != std::string::npos);
  CHECK(pdns.query("_mta-sts." + z1, "TXT").empty());

  // Wrong API key: 401, never echoing the key.
  pdns.create_zone(z2);
  write_file(dir.file("wrong.key"), "not-the-key\n");
  std::string config = make_config(pdns, z1, z2);
  config = replace_all(config, pdns.api_key_file(), dir.file("wrong.key"));
  write_file(dir.file("stsctl.yaml"), config);
  auto denied = run_stsctl({"-c", dir.file("stsctl.yaml"), "-v", "apply", "--yes"});
  INFO(denied.out << denied.err);
  CHECK(denied.exit_code == 1);
  CHECK((denied.out + denied.err).find("401") != std::string::npos);
  CHECK((denied.out + denied.err).find("not-the-key") == std::string::npos);
  CHECK((denied.out + denied.err).find(pdns.api_key()) == std::string::npos);

  auto status = run_stsctl({"-c", dir.file("stsctl.yaml"), "status", "--json"});
  INFO(status.out << status.err);
  CHECK(published_domains(status.out) == std::map<std::string, bool>{{z1, false}});
}

TEST_CASE("apply against PowerDNS: one provider down, the other's zones land; a re-run converges") {
  PdnsServer pdns;
  std::string z1 = PdnsServer::unique_zone("up");
  std::string z3 = PdnsServer::unique_zone("down");
  pdns.create_zone(z1);
  pdns.create_zone(z3);
  int closed_port = free_port();
  auto config_for = [&](int second_port) {
    std::string config = R"(version: 1
defaults:
  policy_host: {ipv4: [192.0.2.40]}
domains:
  Z1: {mx: [mail.Z1], provider: pdns}
  Z3: {mx: [mail.Z3], provider: second}
providers:
  pdns: {type: powerdns, url: "URL", api_key_file: "KEYFILE", timeout: 5}
  second: {type: powerdns, url: "http://127.0.0.1:PORT", api_key_file: "KEYFILE", timeout: 5}
publish:
  propagation: {timeout: 0}
)";
    config = replace_all(config, "Z1", z1);
    config = replace_all(config, "Z3", z3);
    config = replace_all(config, "PORT", std::to_string(second_port));  // before any path goes in
    config = replace_all(config, "URL", pdns.api_url());
    return replace_all(config, "KEYFILE", pdns.api_key_file());
  };
  TempDir dir("it-pdns-down");
  write_file(dir.file("stsctl.yaml"), config_for(closed_port));
  auto first = run_stsctl({"-c", dir.file("stsctl.yaml"), "apply", "--yes"});
  INFO(first.out << first.err);
  CHECK(first.exit_code == 1);
  CHECK((first.out + first.err).find("127.0.0.1:" + std::to_string(closed_port)) != std::string::npos);
  // A read failure stops everything: nothing pushed.
  CHECK(pdns.query("_mta-sts." + z1, "TXT").empty());

  write_file(dir.file("stsctl.yaml"), config_for(pdns.api_port()));
  auto second = run_stsctl({"-c", dir.file("stsctl.yaml"), "apply", "--yes"});
  INFO(second.out << second.err);
  CHECK(second.exit_code == 0);
  CHECK_FALSE(pdns.query("_mta-sts." + z1, "TXT").empty());
  CHECK_FALSE(pdns.query("_mta-sts." + z3, "TXT").empty());
  auto replan = run_stsctl({"-c", dir.file("stsctl.yaml"), "plan", "--detailed-exitcode"});
  CHECK(replan.exit_code == 0);
}

namespace {

size_t occurrences(const std::string& text, const std::string& part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    ++count;
  }
  return count;
}

}  // namespace

TEST_CASE("apply against PowerDNS: many zones read by search; MX guard and propagation still read the apex") {
  PdnsServer pdns;
  // Enough zones for the provider to read owned names by search-data; the
  // first is enforce (its MX is guarded), the others testing.
  std::vector<std::string> zones;
  for (int i = 0; i < 40; ++i) {
    zones.push_back(PdnsServer::unique_zone(i == 0 ? "enf" : "many"));
    pdns.create_zone(zones.back(), {{"@", "MX", {"10 mail." + zones.back() + "."}},
                                    {"_mta-sts", "TXT", {"\"google-site-verification=abc\""}}});
  }
  const std::string& enforced = zones[0];
  auto config_for = [&](const std::string& enforced_mx) {
    std::string config =
        "version: 1\ndefaults:\n  provider: pdns\n  ttl: 300\n"
        "  policy_host: {ipv4: [192.0.2.40]}\n"
        "providers:\n  pdns: {type: powerdns, url: \"" +
        pdns.api_url() + "\", api_key_file: \"" + pdns.api_key_file() +
        "\"}\npublish:\n  propagation:\n    timeout: 5\n    nameservers:\n";
    for (const auto& zone : zones) {
      config += "      ns1." + zone + ": \"127.0.0.1:" + std::to_string(pdns.dns_port()) + "\"\n";
    }
    config += "domains:\n";
    for (const auto& zone : zones) {
      config += "  " + zone + ": {mx: [" + (zone == enforced ? enforced_mx : "mail." + zone) + "]" +
                (zone == enforced ? ", policy: {mode: enforce, max_age: 86400}" : "") + "}\n";
    }
    return config;
  };
  TempDir dir("it-pdns-many");
  write_file(dir.file("stsctl.yaml"), config_for("mail." + enforced));
  auto run = [&](const std::string& now, std::vector<std::string> args) {
    std::vector<std::string> all{"-c", dir.file("stsctl.yaml"), "--now", now, "-v"};
    all.insert(all.end(), args.begin(), args.end());
    return run_stsctl(all);
  };
  const std::string zone_get = "GET " + pdns.api_url() + "/api/v1/servers/localhost/zones/";

  // plan: owned names by search, only the enforce zone read whole (its MX).
  auto plan = run("2026-03-01T10:00:00Z", {"plan", "--detailed-exitcode"});
  INFO(plan.out << plan.err);
  REQUIRE(plan.exit_code == 2);
  CHECK(occurrences(plan.err, "/search-data?q=") == 3);
  CHECK(occurrences(plan.err, zone_get) == 1);
  CHECK(occurrences(plan.err, zone_get + enforced + ". -> 200") == 1);

  // apply waits for the new ids on every zone's name servers, so it reads
  // every zone's NS.
  auto apply = run("2026-03-01T10:00:00Z", {"apply", "--yes"});
  INFO(apply.out << apply.err);
  REQUIRE(apply.exit_code == 0);
  CHECK(occurrences(apply.err, zone_get) == 40);
  CHECK(apply.err.find("all name servers serve the new ids") != std::string::npos);
  for (const auto& zone : {zones[0], zones[39]}) {
    auto txt = pdns.query("_mta-sts." + zone, "TXT");
    CHECK(sts_id(txt) == "20260301100000");
    CHECK(std::find(txt.begin(), txt.end(), "\"google-site-verification=abc\"") != txt.end());
    CHECK(pdns.query("mta-sts." + zone, "A") == std::vector<std::string>{"192.0.2.40"});
    CHECK(pdns.query(zone, "MX") == std::vector<std::string>{"10 mail." + zone + "."});
  }

  auto replan = run("2026-03-01T11:00:00Z", {"plan", "--detailed-exitcode"});
  INFO(replan.out << replan.err);
  CHECK(replan.exit_code == 0);
  CHECK(occurrences(replan.err, zone_get) == 1);

  // A new enforce policy that does not cover the live MX is blocked: the MX
  // guard still sees the MX.
  write_file(dir.file("stsctl.yaml"), config_for("mx.elsewhere.example"));
  auto blocked = run("2026-03-02T10:00:00Z", {"apply", "--yes"});
  INFO(blocked.out << blocked.err);
  CHECK(blocked.exit_code == 3);
  CHECK((blocked.out + blocked.err).find("mx-coverage") != std::string::npos);
  CHECK(sts_id(pdns.query("_mta-sts." + enforced, "TXT")) == "20260301100000");
  // plan shows what the guard blocks, and says so in its exit code.
  auto blocked_plan = run("2026-03-02T10:00:00Z", {"plan", "--detailed-exitcode"});
  INFO(blocked_plan.out << blocked_plan.err);
  CHECK(blocked_plan.exit_code == 3);
  CHECK(blocked_plan.out.find("blocked (mx-coverage): " + enforced +
                              ": id 20260301100000 -> 20260302100000") != std::string::npos);

  // Covered again: only the enforce zone bumps; it alone is read whole.
  write_file(dir.file("stsctl.yaml"), config_for("mail." + enforced + ", mx.elsewhere.example"));
  auto bumped = run("2026-03-02T10:00:00Z", {"apply", "--yes"});
  INFO(bumped.out << bumped.err);
  REQUIRE(bumped.exit_code == 0);
  CHECK(occurrences(bumped.err, zone_get) == 1);
  CHECK(occurrences(bumped.err, "/search-data?q=") == 3);
  CHECK(bumped.err.find("all name servers serve the new ids") != std::string::npos);
  CHECK(sts_id(pdns.query("_mta-sts." + enforced, "TXT")) == "20260302100000");
  CHECK(sts_id(pdns.query("_mta-sts." + zones[1], "TXT")) == "20260301100000");
}
