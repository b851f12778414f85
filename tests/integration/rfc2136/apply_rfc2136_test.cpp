// plan/apply through the stsctl binary against real RFC 2136 servers started
// by the test (BIND, and for the main flow also Knot DNS and PowerDNS's own
// DNS UPDATE; TSIG-signed), checked by DNS queries to them.

#include "support/cli_json.h"
#include "support/knot_server.h"
#include "support/named_server.h"
#include "support/pdns_server.h"
#include "support/support.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <regex>

using namespace stsctl::test;

namespace {

const std::string k_z1 = "primary.test";
const std::string k_z2 = "alias.test";

struct ConfigOptions {
  std::string mode = "testing";
  std::string key_name;     // default: the server's update key
  std::string secret_file;  // required
  std::string extra_domains;
};

/// Z1 is a primary, Z2 its alias; both zones served by `named`. NamedServer
/// names each zone's only name server ns.<zone>; map those to its port so the
/// propagation check asks the test server.
std::string make_config(const UpdateServer& named, const ConfigOptions& options) {
  std::string config = R"(version: 1
defaults:
  provider: bind
  ttl: 300
  policy_host: {ipv4: [192.0.2.40], ipv6: ["2001:db8::40"]}
  tlsrpt: {rua: ["mailto:tlsrpt@Z1"]}
  caa: [{tag: issue, value: letsencrypt.org}]
domains:
  Z1:
    mx: [mail.Z1]
    policy: {mode: MODE, max_age: 86400}
  Z2: {alias_of: Z1}
EXTRA
providers:
  bind:
    type: rfc2136
    server: "127.0.0.1:DNSPORT"
    tsig: {name: KEYNAME, algorithm: hmac-sha256, secret_file: "SECRETFILE"}
publish:
  propagation: {timeout: 5, nameservers: {"ns.Z1": "127.0.0.1:DNSPORT", "ns.Z2": "127.0.0.1:DNSPORT"}}
)";
  config = replace_all(config, "EXTRA\n", options.extra_domains);
  config = replace_all(config, "Z1", k_z1);
  config = replace_all(config, "Z2", k_z2);
  config = replace_all(config, "MODE", options.mode);
  config = replace_all(config, "KEYNAME", options.key_name.empty() ? named.key_name() : options.key_name);
  config = replace_all(config, "SECRETFILE", options.secret_file);
  config = replace_all(config, "DNSPORT", std::to_string(named.port()));
  return config;
}

bool contains(const std::vector<std::string>& values, const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

std::vector<ZoneSpec> test_zones() {
  return {{k_z1,
           "@ IN MX 10 mail\n"
           "@ IN TXT \"v=spf1 mx -all\"\n"
           "mail IN A 192.0.2.25\n"
           "_mta-sts IN TXT \"google-site-verification=abc\"\n"
           "www IN A 192.0.2.80\n"},
          {k_z2, "@ IN MX 10 mail." + k_z1 + ".\n"}};
}

}  // namespace

TEST_CASE(
    "apply against BIND, Knot and PowerDNS: create, empty re-plan, id bump, aliases, foreign records "
    "untouched") {
  auto server = start_update_server(GENERATE(as<std::string>{}, "BIND", "Knot", "PowerDNS"), test_zones());
  UpdateServer& named = *server;
  INFO("server: " + named.kind());
  TempDir dir("it-rfc2136");
  named.write_secret_file(dir.file("tsig.secret"));
  ConfigOptions options;
  options.secret_file = dir.file("tsig.secret");
  write_file(dir.file("stsctl.yaml"), make_config(named, options));
  auto at = [&](const std::string& now, std::vector<std::string> args) {
    std::vector<std::string> all{"-c", dir.file("stsctl.yaml"), "--now", now};
    all.insert(all.end(), args.begin(), args.end());
    return run_stsctl(all);
  };
  const std::string day1 = "2026-03-01T10:00:00Z";
  const std::string day2 = "2026-03-02T10:00:00Z";

  auto validate = at(day1, {"validate"});
  INFO(validate.out << validate.err);
  REQUIRE(validate.exit_code == 0);

  auto plan = at(day1, {"plan", "--detailed-exitcode"});
  INFO(plan.out << plan.err);
  REQUIRE(plan.exit_code == 2);
  // The foreign TXT at _mta-sts makes the policy TXT an update of that RRset.
  CHECK(plan.out.find("~ _mta-sts." + k_z1 + ". TXT") != std::string::npos);
  CHECK(plan.out.find("+ 300 \"v=STSv1; id=20260301100000\"") != std::string::npos);
  CHECK(plan.out.find("+ _smtp._tls." + k_z1 + ". 300 TXT") != std::string::npos);
  CHECK(plan.out.find("+ mta-sts." + k_z2 + ". 300 CNAME mta-sts." + k_z1 + ".") != std::string::npos);
  // plan changes nothing.
  CHECK(sts_id(named.query("_mta-sts." + k_z1, "TXT")).empty());

  auto apply = at(day1, {"apply", "--yes"});
  INFO(apply.out << apply.err);
  REQUIRE(apply.exit_code == 0);
  CHECK(apply.err.find("updated zone " + k_z1) != std::string::npos);
  CHECK(apply.err.find("updated zone " + k_z2) != std::string::npos);
  CHECK(apply.err.find("all name servers serve the new ids") != std::string::npos);

  auto txt = named.query("_mta-sts." + k_z1, "TXT");
  CHECK(sts_id(txt) == "20260301100000");
  CHECK(txt.size() == 2);
  CHECK(contains(txt, "\"google-site-verification=abc\""));
  CHECK(named.query("_smtp._tls." + k_z1, "TXT") ==
        std::vector<std::string>{"\"v=TLSRPTv1; rua=mailto:tlsrpt@" + k_z1 + "\""});
  CHECK(named.query("mta-sts." + k_z1, "A") == std::vector<std::string>{"192.0.2.40"});
  CHECK(named.query("mta-sts." + k_z1, "AAAA") == std::vector<std::string>{"2001:db8::40"});
  CHECK(named.query("mta-sts." + k_z1, "CAA") == std::vector<std::string>{"0 issue \"letsencrypt.org\""});
  CHECK(named.query("_mta-sts." + k_z2, "CNAME") == std::vector<std::string>{"_mta-sts." + k_z1 + "."});
  CHECK(named.query("_smtp._tls." + k_z2, "CNAME") == std::vector<std::string>{"_smtp._tls." + k_z1 + "."});
  CHECK(named.query("mta-sts." + k_z2, "CNAME") == std::vector<std::string>{"mta-sts." + k_z1 + "."});
  // Foreign records are untouched.
  CHECK(named.query(k_z1, "MX") == std::vector<std::string>{"10 mail." + k_z1 + "."});
  CHECK(named.query(k_z1, "TXT") == std::vector<std::string>{"\"v=spf1 mx -all\""});
  CHECK(named.query("www." + k_z1, "A") == std::vector<std::string>{"192.0.2.80"});
  CHECK(named.query(k_z2, "MX") == std::vector<std::string>{"10 mail." + k_z1 + "."});

  auto status = at(day1, {"status", "--json"});
  INFO(status.out << status.err);
  CHECK(status.exit_code == 0);
  auto rows = status_rows(status.out);
  REQUIRE(rows.count(k_z1) == 1);
  CHECK(rows[k_z1].at("published") == true);
  CHECK(rows[k_z1].at("id") == "20260301100000");
  CHECK(rows[k_z1].at("mode") == "testing");
  CHECK(rows[k_z2].at("alias_of") == k_z1);

  // Unchanged config, even a day later: empty plan, exit 0 with --detailed-exitcode.
  auto replan = at(day2, {"plan", "--detailed-exitcode"});
  INFO(replan.out << replan.err);
  CHECK(replan.exit_code == 0);
  CHECK(replan.out.find("No changes") != std::string::npos);
  auto reapply = at(day2, {"apply", "--yes"});
  INFO(reapply.out << reapply.err);
  CHECK(reapply.exit_code == 0);
  CHECK(sts_id(named.query("_mta-sts." + k_z1, "TXT")) == "20260301100000");

  // Policy change: only the _mta-sts TXT of the primary changes, with a new id.
  options.mode = "enforce";
  write_file(dir.file("stsctl.yaml"), make_config(named, options));
  auto plan2 = at(day2, {"plan", "--json"});
  INFO(plan2.out << plan2.err);
  REQUIRE(plan2.exit_code == 0);
  CHECK(plan_changes(plan2.out) == std::vector<std::string>{"update _mta-sts." + k_z1 + ". TXT"});
  CHECK(plan_id_bumps(plan2.out) == std::vector<std::string>{k_z1 + " 20260301100000 -> 20260302100000"});
  auto detailed2 = at(day2, {"plan", "--detailed-exitcode"});
  CHECK(detailed2.exit_code == 2);

  auto apply2 = at(day2, {"apply", "--yes"});
  INFO(apply2.out << apply2.err);
  REQUIRE(apply2.exit_code == 0);
  CHECK(apply2.err.find("updated zone " + k_z1) != std::string::npos);
  CHECK(apply2.err.find("updated zone " + k_z2) == std::string::npos);
  txt = named.query("_mta-sts." + k_z1, "TXT");
  CHECK(sts_id(txt) == "20260302100000");
  CHECK(txt.size() == 2);
  CHECK(contains(txt, "\"google-site-verification=abc\""));
  // Everything else is as before.
  CHECK(named.query("_smtp._tls." + k_z1, "TXT") ==
        std::vector<std::string>{"\"v=TLSRPTv1; rua=mailto:tlsrpt@" + k_z1 + "\""});
  CHECK(named.query("mta-sts." + k_z1, "A") == std::vector<std::string>{"192.0.2.40"});
  CHECK(named.query("mta-sts." + k_z1, "CAA") == std::vector<std::string>{"0 issue \"letsencrypt.org\""});
  CHECK(named.query("_mta-sts." + k_z2, "CNAME") == std::vector<std::string>{"_mta-sts." + k_z1 + "."});
  CHECK(named.query(k_z1, "MX") == std::vector<std::string>{"10 mail." + k_z1 + "."});
  CHECK(named.query(k_z1, "TXT") == std::vector<std::string>{"\"v=spf1 mx -all\""});

  auto replan2 = at(day2, {"plan", "--detailed-exitcode"});
  INFO(replan2.out << replan2.err);
  CHECK(replan2.exit_code == 0);
}

TEST_CASE("apply against BIND: a wrong TSIG secret fails with exit 1, names the key, never the secret") {
  NamedServer named(test_zones());
  TempDir dir("it-bind-badsig");
  // Valid base64, 32 bytes, but not the key's secret.
  const std::string wrong = "c3RzY3RsLXdyb25nLXNlY3JldC0wMTIzNDU2Nzg5YWI=";
  write_file(dir.file("tsig.secret"), wrong + "\n");
  ConfigOptions options;
  options.secret_file = dir.file("tsig.secret");
  write_file(dir.file("stsctl.yaml"), make_config(named, options));

  for (const std::string command : {"plan", "apply"}) {
    std::vector<std::string> args{"-c", dir.file("stsctl.yaml"), "-v", command};
    if (command == "apply") {
      args.push_back("--yes");
    }
    auto result = run_stsctl(args);
    std::string output = result.out + result.err;
    INFO(command << ":\n" << output);
    CHECK(result.exit_code == 1);
    CHECK(output.find(named.key_name()) != std::string::npos);
    CHECK(output.find("BADSIG") != std::string::npos);
    CHECK(output.find(wrong) == std::string::npos);
    CHECK(output.find(named.key_secret()) == std::string::npos);
  }
  CHECK(sts_id(named.query("_mta-sts." + k_z1, "TXT")).empty());
  CHECK(named.query("_mta-sts." + k_z2, "CNAME").empty());

  auto status = run_stsctl({"-c", dir.file("stsctl.yaml"), "status", "--json"});
  INFO(status.out << status.err);
  CHECK(published_domains(status.out) == std::map<std::string, bool>{{k_z1, false}});
}

TEST_CASE("apply against BIND: a zone the server does not serve fails with exit 1 and a clear message") {
  NamedServer named(test_zones());
  TempDir dir("it-bind-nozone");
  named.write_secret_file(dir.file("tsig.secret"));
  ConfigOptions options;
  options.secret_file = dir.file("tsig.secret");
  options.extra_domains = "  missing.test: {mx: [mail.missing.test]}\n";
  write_file(dir.file("stsctl.yaml"), make_config(named, options));

  auto result = run_stsctl({"-c", dir.file("stsctl.yaml"), "apply", "--yes"});
  std::string output = result.out + result.err;
  INFO(output);
  CHECK(result.exit_code == 1);
  // The message names the zone, the provider and the server.
  CHECK(output.find("zone missing.test") != std::string::npos);
  CHECK(output.find("not served") != std::string::npos);
  CHECK(output.find("127.0.0.1:" + std::to_string(named.port())) != std::string::npos);
  CHECK(output.find(named.key_secret()) == std::string::npos);
  // A read failure stops the whole apply: nothing pushed, nothing recorded.
  CHECK(sts_id(named.query("_mta-sts." + k_z1, "TXT")).empty());
  auto status = run_stsctl({"-c", dir.file("stsctl.yaml"), "status", "--json"});
  INFO(status.out << status.err);
  CHECK(published_domains(status.out) == std::map<std::string, bool>{{k_z1, false}, {"missing.test", false}});
}

TEST_CASE("apply against BIND: a refused push records no state; a re-run with the right key converges") {
  NamedServer named(test_zones());
  TempDir dir("it-bind-refused");
  // other-key is known to named (reads succeed) but may update nothing.
  write_file(dir.file("other.secret"), named.other_key_secret() + "\n");
  named.write_secret_file(dir.file("tsig.secret"));
  ConfigOptions options;
  options.key_name = named.other_key_name();
  options.secret_file = dir.file("other.secret");
  write_file(dir.file("stsctl.yaml"), make_config(named, options));
  const std::vector<std::string> base{"-c", dir.file("stsctl.yaml"), "--now", "2026-03-01T10:00:00Z"};
  auto with = [&](std::vector<std::string> args) {
    std::vector<std::string> all = base;
    all.insert(all.end(), args.begin(), args.end());
    return run_stsctl(all);
  };

  auto refused = with({"apply", "--yes"});
  std::string output = refused.out + refused.err;
  INFO(output);
  CHECK(refused.exit_code == 1);
  CHECK(output.find("REFUSED") != std::string::npos);
  CHECK(output.find(named.other_key_name()) != std::string::npos);
  CHECK(output.find("state was not recorded") != std::string::npos);
  CHECK(output.find(named.other_key_secret()) == std::string::npos);
  CHECK(sts_id(named.query("_mta-sts." + k_z1, "TXT")).empty());
  auto status = with({"status", "--json"});
  INFO(status.out << status.err);
  CHECK(published_domains(status.out) == std::map<std::string, bool>{{k_z1, false}});

  options.key_name.clear();
  options.secret_file = dir.file("tsig.secret");
  write_file(dir.file("stsctl.yaml"), make_config(named, options));
  auto fixed = with({"apply", "--yes"});
  INFO(fixed.out << fixed.err);
  CHECK(fixed.exit_code == 0);
  CHECK(sts_id(named.query("_mta-sts." + k_z1, "TXT")) == "20260301100000");
  auto status2 = with({"status", "--json"});
  INFO(status2.out << status2.err);
  CHECK(published_domains(status2.out) == std::map<std::string, bool>{{k_z1, true}});
  auto replan = with({"plan", "--detailed-exitcode"});
  CHECK(replan.exit_code == 0);
}
