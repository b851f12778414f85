// `stsctl check` end to end: the built binary against a real BIND (records of
// several domains), nginx (policy hosts, test CA) and Exim (SMTP with and
// without STARTTLS), all on loopback. Exit codes, the table, --json, and
// drift against a config plus state are asserted on the binary's output.

#include "policy/policy.h"
#include "support/named_server.h"
#include "support/nginx_server.h"
#include "support/smtp_server.h"
#include "support/support.h"
#include "support/test_ca.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <regex>

using namespace stsctl;
using namespace stsctl::test;

namespace {

const std::string k_zone = "e2e.test";
// The id `render zone --now 2024-01-01T00:00:00Z` gives (timestamp format).
const std::string k_id = "20240101000000";
const std::string k_now = "2024-01-01T00:00:00Z";

std::string d(const std::string& label) { return label + "." + k_zone; }

std::string policy_for(const std::string& mx, PolicyMode mode = PolicyMode::Testing,
                       uint32_t max_age = 86400) {
  return policy_text(make_policy(mode, max_age, {mx}));
}

std::string domain_records(const std::string& label, const std::string& mx_label) {
  return "_mta-sts." + label + " TXT \"v=STSv1; id=" + k_id + "\"\n" + "_smtp._tls." + label +
         " TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@" + d(label) + "\"\n" + "mta-sts." + label + " A 127.0.0.1\n" +
         label + " MX 10 " + mx_label + "\n";
}

struct Fixture {
  TempDir dir{"it-check"};
  TestCa smtp_ca{"stsctl SMTP Test CA"};
  std::unique_ptr<SmtpServer> mx_good;
  std::unique_ptr<SmtpServer> mx_plain;
  std::unique_ptr<NginxServer> nginx;
  std::unique_ptr<NamedServer> named;
  std::string ca_bundle;  // nginx's CA and the SMTP CA in one PEM file

  Fixture() {
    mx_good = std::make_unique<SmtpServer>(
        smtp_ca, SmtpServerOptions{d("mx-good"), true, {}, TestCa::Validity::Valid});
    mx_plain = std::make_unique<SmtpServer>(
        smtp_ca, SmtpServerOptions{d("mx-plain"), false, {}, TestCa::Validity::Valid});
    std::vector<NginxHost> hosts;
    for (const char* label : {"good", "nostarttls", "uncovered", "drift"}) {
      hosts.emplace_back("mta-sts." + d(label));
    }
    nginx = std::make_unique<NginxServer>(hosts);
    nginx->write_policy("mta-sts." + d("good"), policy_for(d("mx-good")));
    nginx->write_policy("mta-sts." + d("nostarttls"), policy_for(d("mx-plain")));
    nginx->write_policy("mta-sts." + d("uncovered"), policy_for(d("mx-other")));
    // The config says testing/86400; the served file says enforce.
    nginx->write_policy("mta-sts." + d("drift"), policy_for(d("mx-good"), PolicyMode::Enforce, 604800));

    std::string records = domain_records("good", "mx-good") + domain_records("nostarttls", "mx-plain") +
                          domain_records("uncovered", "mx-good") + domain_records("drift", "mx-good") +
                          domain_records("nohttps", "mx-good") +
                          "mx-good A 127.0.0.1\nmx-plain A 127.0.0.1\n";
    named = std::make_unique<NamedServer>(std::vector<ZoneSpec>{{k_zone, records}});

    ca_bundle = dir.file("ca-bundle.pem");
    write_file(ca_bundle, read_file(nginx->ca_file()) + read_file(smtp_ca.ca_file()));
  }

  /// The check options that point every name at the loopback servers.
  std::vector<std::string> check_args() const {
    std::vector<std::string> args{"check",     "--resolver", "127.0.0.1:" + std::to_string(named->port()),
                                  "--ca-file", ca_bundle,    "--timeout",
                                  "10"};
    for (const auto& [from, to] : nginx->connect_to()) {
      args.push_back("--connect-to");
      args.push_back(from + ":" + to);
    }
    args.push_back("--connect-to");
    args.push_back(d("mx-good") + ":25:" + mx_good->address());
    args.push_back("--connect-to");
    args.push_back(d("mx-plain") + ":25:" + mx_plain->address());
    return args;
  }

  /// Runs stsctl with `before` (global options), then check with `domains` and its options.
  /// The domains come first: --connect-to takes every value up to the next option.
  CommandResult check(const std::vector<std::string>& before, const std::vector<std::string>& domains) const {
    std::vector<std::string> args = before;
    std::vector<std::string> options = check_args();
    args.push_back(options.front());  // "check"
    args.insert(args.end(), domains.begin(), domains.end());
    args.insert(args.end(), options.begin() + 1, options.end());
    return run_stsctl(args);
  }

  /// Global options that name a config file that does not exist (so check
  /// runs without expectations, as for a domain one does not manage).
  std::vector<std::string> no_config() const { return {"-c", dir.file("absent.yaml")}; }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

const nlohmann::json* find_domain(const nlohmann::json& report, const std::string& name) {
  for (const auto& domain : report["domains"]) {
    if (domain["domain"] == name) {
      return &domain;
    }
  }
  return nullptr;
}

bool has_finding(const nlohmann::json& domain, const std::string& check, const std::string& status,
                 const std::string& text = "") {
  for (const auto& finding : domain["findings"]) {
    if (finding["check"] == check && finding["status"] == status &&
        finding["message"].get<std::string>().find(text) != std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("check cli: a good domain exits 0 and the table shows its checks passing", "[check][cli][live]") {
  Fixture& f = fixture();
  CommandResult result = f.check(f.no_config(), {d("good")});
  INFO(result.out << result.err);
  CHECK(result.exit_code == 0);
  CHECK(result.out.find(d("good")) != std::string::npos);
  CHECK(result.out.find("PASS  smtp.certificate_name") != std::string::npos);
  CHECK(result.out.find("FAIL") == std::string::npos);
  CHECK(result.out.find("smtp.starttls") != std::string::npos);
  CHECK(result.out.find("expires in") != std::string::npos);  // a warning does not fail the check
}

TEST_CASE("check cli: no STARTTLS and an uncovered MX exit 2 with the reason", "[check][cli][live]") {
  Fixture& f = fixture();
  CommandResult nostarttls = f.check(f.no_config(), {d("nostarttls")});
  INFO(nostarttls.out << nostarttls.err);
  CHECK(nostarttls.exit_code == 2);
  CHECK(nostarttls.out.find("mx-plain.e2e.test does not offer STARTTLS") != std::string::npos);

  CommandResult uncovered = f.check(f.no_config(), {d("uncovered")});
  INFO(uncovered.out << uncovered.err);
  CHECK(uncovered.exit_code == 2);
  CHECK(uncovered.out.find("MX mx-good.e2e.test matches no mx pattern") != std::string::npos);
}

TEST_CASE("check cli: --json parses and lists every domain named", "[check][cli][live]") {
  Fixture& f = fixture();
  std::vector<std::string> before = f.no_config();
  before.push_back("--json");
  CommandResult result = f.check(before, {d("good"), d("nostarttls")});
  INFO(result.out << result.err);
  CHECK(result.exit_code == 2);
  nlohmann::json report = nlohmann::json::parse(result.out);
  CHECK(report["exit_code"] == 2);
  CHECK(report["summary"]["domains"] == 2);
  const nlohmann::json* good = find_domain(report, d("good"));
  REQUIRE(good != nullptr);
  CHECK((*good)["status"] != "fail");  // test leaves live 7 days: an expiry warning
  CHECK(has_finding(*good, "smtp.certificate_name", "pass", d("mx-good")));
  const nlohmann::json* bad = find_domain(report, d("nostarttls"));
  REQUIRE(bad != nullptr);
  CHECK((*bad)["status"] == "fail");
  CHECK(has_finding(*bad, "smtp.starttls", "fail", "does not offer STARTTLS"));
}

TEST_CASE(
    "check cli: with a config and state, drift of the served policy is detected and last_check recorded",
    "[check][cli][live]") {
  Fixture& f = fixture();
  TempDir dir("it-check-config");
  write_file(dir.file("stsctl.yaml"),
             "version: 1\n"
             "defaults:\n"
             "  policy: {max_age: 86400}\n"
             "  tlsrpt: {rua: [\"mailto:tlsrpt@example.net\"]}\n"
             "  policy_host: {ipv4: [127.0.0.1]}\n"
             "domains:\n"
             "  " +
                 d("good") + ": {zone: " + k_zone + ", mx: [" + d("mx-good") +
                 "]}\n"
                 "  " +
                 d("drift") + ": {zone: " + k_zone + ", mx: [" + d("mx-good") +
                 "]}\n"
                 "rollout:\n  stages:\n"
                 "    - {mode: testing, max_age: 86400, hold: 7d}\n"
                 "    - {mode: enforce, max_age: 604800}\n");
  std::vector<std::string> global{"-c", dir.file("stsctl.yaml"), "--now", k_now};

  // Rendering records the ids (20240101000000, as the test zone publishes).
  std::vector<std::string> render = global;
  render.insert(render.end(), {"render", "zone"});
  CommandResult rendered = run_stsctl(render);
  INFO(rendered.out << rendered.err);
  REQUIRE(rendered.exit_code == 0);
  CHECK(rendered.out.find("id=" + k_id) != std::string::npos);

  std::vector<std::string> json_global = global;
  json_global.push_back("--json");
  CommandResult result = f.check(json_global, {});
  INFO(result.out << result.err);
  CHECK(result.exit_code == 2);
  nlohmann::json report = nlohmann::json::parse(result.out);
  CHECK(report["summary"]["domains"] == 2);
  const nlohmann::json* good = find_domain(report, d("good"));
  REQUIRE(good != nullptr);
  CHECK((*good)["status"] != "fail");
  CHECK(has_finding(*good, "drift.policy", "pass"));
  CHECK(has_finding(*good, "drift.id", "pass"));
  const nlohmann::json* drift = find_domain(report, d("drift"));
  REQUIRE(drift != nullptr);
  CHECK((*drift)["status"] == "fail");
  CHECK(has_finding(*drift, "drift.policy", "fail", "differs from the configured one"));
  CHECK(has_finding(*drift, "drift.id", "pass"));

  // Only the domain named is checked; the other keeps its last_check.
  CommandResult one = f.check(global, {d("good")});
  INFO(one.out << one.err);
  CHECK(one.exit_code == 0);
  CHECK(one.out.find(d("drift")) == std::string::npos);

  std::vector<std::string> status = json_global;
  status.push_back("status");
  CommandResult shown = run_stsctl(status);
  INFO(shown.out << shown.err);
  REQUIRE(shown.exit_code == 0);
  nlohmann::json rows = nlohmann::json::parse(shown.out);
  int checked = 0;
  for (const auto& row : rows) {
    if (row["domain"] == d("good") || row["domain"] == d("drift")) {
      CHECK(row["last_check"] == k_now);
      ++checked;
    }
  }
  CHECK(checked == 2);
}

TEST_CASE("check cli: bad options are errors (exit 1), not failed checks", "[check][cli]") {
  Fixture& f = fixture();
  CommandResult bad_connect =
      run_stsctl({"-c", f.dir.file("absent.yaml"), "check", d("good"), "--connect-to", "nonsense"});
  CHECK(bad_connect.exit_code == 1);
  CHECK(bad_connect.err.find("--connect-to 'nonsense'") != std::string::npos);
  CommandResult bad_resolver =
      run_stsctl({"-c", f.dir.file("absent.yaml"), "check", d("good"), "--resolver", "resolver.example"});
  CHECK(bad_resolver.exit_code == 1);
  CHECK(bad_resolver.err.find("resolver.example") != std::string::npos);
}

TEST_CASE("check cli: a policy host that refuses HTTPS gets one plain policy.fetch line",
          "[check][cli][live]") {
  Fixture& f = fixture();
  // Nothing listens on this port: the connection is refused.
  const std::string closed = "127.0.0.1:" + std::to_string(free_port());
  std::vector<std::string> args = f.no_config();
  std::vector<std::string> options = f.check_args();
  args.push_back(options.front());
  args.push_back(d("nohttps"));
  args.insert(args.end(), options.begin() + 1, options.end());
  args.push_back("--connect-to");
  args.push_back("mta-sts." + d("nohttps") + ":443:" + closed);
  CommandResult result = run_stsctl(args);
  INFO(result.out << result.err);
  CHECK(result.exit_code == 2);
  // The policy.fetch line and its fix line, with curl's connect time (which varies) as N.
  std::string shown;
  const std::vector<std::string> lines = non_empty_lines(result.out);
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    if (lines[i].find("policy.fetch") != std::string::npos) {
      shown = std::regex_replace(lines[i] + "\n" + lines[i + 1], std::regex("after [0-9]+ ms"), "after N ms");
    }
  }
  CHECK(shown == "  FAIL  policy.fetch             failed to fetch 'https://mta-sts." + d("nohttps") +
                     "/.well-known/mta-sts.txt' (failed to connect to 127.0.0.1:" + closed.substr(10) +
                     " (Connection refused))\n"
                     "                                 fix: check that mta-sts." +
                     d("nohttps") + " resolves and serves HTTPS on port 443");
}
