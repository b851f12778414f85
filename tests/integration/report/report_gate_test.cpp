// rollout.gates.tlsrpt end to end: promote with --now against a real
// PowerDNS and a real nginx (test CA), with reports ingested through the
// stsctl binary. The domain stays (exit 3) until the reports of its current
// stage show enough sessions, few failures, and the published policy.

#include "support/nginx_server.h"
#include "support/pdns_server.h"
#include "support/rollout_config.h"
#include "support/support.h"
#include "support/tlsrpt_report.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <map>

using namespace stsctl::test;

namespace {

struct GateScenario {
  PdnsServer pdns;
  std::string zone = PdnsServer::unique_zone("tlsrpt");
  std::string alias;  // an alias domain of zone (alias_of), when asked for
  std::unique_ptr<NginxServer> nginx;
  TempDir dir{"it-report-gate"};
  int reports = 0;

  explicit GateScenario(bool with_alias = false) {
    pdns.create_zone(zone, {{"@", "MX", {"10 mail." + zone + "."}}});
    std::vector<NginxHost> hosts{{"mta-sts." + zone}};
    std::vector<std::string> zones{zone};
    std::string domains = "  " + zone + ": {mx: [mail." + zone + "]}\n";
    if (with_alias) {
      alias = PdnsServer::unique_zone("tlsrpt-alias");
      pdns.create_zone(alias, {{"@", "MX", {"10 mail." + zone + "."}}});
      hosts.push_back({"mta-sts." + alias});
      zones.push_back(alias);
      domains += "  " + alias + ": {alias_of: " + zone + "}\n";
    }
    nginx = std::make_unique<NginxServer>(hosts);
    RolloutConfigOptions options;
    options.domains = domains;
    options.gates = "{starttls: false, tlsrpt: {max_failure_rate: 0.01, min_sessions: 100}}";
    options.tlsrpt_rua = "mailto:tlsrpt@" + zone;
    std::string config = rollout_config(pdns, *nginx, zones, options);
    write_file(dir.file("stsctl.yaml"), config);
  }

  CommandResult run(const std::string& now, std::vector<std::string> args) {
    std::vector<std::string> all{"-c", dir.file("stsctl.yaml"), "--now", now};
    all.insert(all.end(), args.begin(), args.end());
    return run_stsctl(all);
  }

  /// Ingests one report for `domain` (default: the zone) on `day` ("2026-01-03").
  void ingest(const std::string& day, int ok, int failed, const std::vector<std::string>& policy_string,
              const std::string& domain = "") {
    TlsrptDay report;
    report.policy_domain = domain.empty() ? zone : domain;
    report.mx_host = "mail." + zone;
    report.day = day;
    report.successful = ok;
    report.failed = failed;
    report.policy_string = policy_string;
    report.organization = "Sender " + std::to_string(reports % 2);
    report.report_id = "gate-" + std::to_string(++reports);
    std::string file = dir.file("report-" + std::to_string(reports) + ".json");
    write_file(file, tlsrpt_report(report).dump());
    auto result = run(day + "T23:59:59Z", {"report", "ingest", file});
    INFO(result.out << result.err);
    REQUIRE(result.exit_code == 0);
  }

  std::string dns_id() { return sts_id(pdns.query("_mta-sts." + zone, "TXT")); }
};

}  // namespace

TEST_CASE("promote holds a domain until its TLS-RPT reports pass the gate", "[report][gate]") {
  GateScenario s;
  const std::string& z = s.zone;
  auto day0 = s.run("2026-01-01T00:00:00Z", {"apply", "--yes"});
  INFO(day0.out << day0.err);
  REQUIRE(day0.exit_code == 0);
  REQUIRE(s.dns_id() == "20260101000000");
  const std::vector<std::string> published{"version: STSv1", "mode: testing", "mx: mail." + z,
                                           "max_age: 86400"};

  // Before the stage: ignored however bad. No report in this stage yet.
  s.ingest("2025-12-20", 10, 500, {});
  auto none = s.run("2026-01-08T00:00:01Z", {"promote", "--yes"});
  INFO(none.out << none.err);
  CHECK(none.exit_code == 3);
  CHECK(none.out ==
        z + ": stays (gate: TLS-RPT reports cover 0 sessions in this stage (0 reports), fewer than the "
            "100 required; ingest more reports (report ingest, report fetch) or wait)\n"
            "promote: nothing to promote\n");
  CHECK(s.dns_id() == "20260101000000");

  s.ingest("2026-01-03", 100, 3, {});
  auto failing = s.run("2026-01-08T00:00:01Z", {"promote", "--yes"});
  INFO(failing.out << failing.err);
  CHECK(failing.exit_code == 3);
  CHECK(failing.out == z + ": stays (gate: TLS-RPT failure rate 2.9% (3 of 103 sessions) is above 1%)\n"
                           "promote: nothing to promote\n");
  CHECK(s.dns_id() == "20260101000000");

  auto status = s.run("2026-01-08T00:00:01Z", {"status", "--json"});
  auto rows = nlohmann::json::parse(status.out);
  CHECK(rows[0]["tlsrpt_7d"]["sessions"] == 103);
  CHECK(rows[0]["tlsrpt_7d"]["failed_sessions"] == 3);
  CHECK(rows[0]["gate"] == "TLS-RPT failure rate 2.9% (3 of 103 sessions) is above 1%");
  auto table = s.run("2026-01-08T00:00:01Z", {"status"});
  CHECK(table.out.find("TLS-RPT 7D") != std::string::npos);
  CHECK(table.out.find("103 2.9%") != std::string::npos);

  // Enough clean sessions, but senders report only a policy that is not the published one.
  s.ingest("2026-01-04", 2000, 0, {"version: STSv1", "mode: testing", "mx: old-mail." + z, "max_age: 86400"});
  auto stale = s.run("2026-01-08T00:00:02Z", {"promote", "--yes"});
  INFO(stale.out << stale.err);
  CHECK(stale.exit_code == 3);
  CHECK(stale.out == z + ": stays (gate: TLS-RPT reports in this stage show 1 policy-string and none is the "
                         "policy published now; senders have not seen it yet)\n"
                         "promote: nothing to promote\n");

  // A sender reports the published policy: the gate passes and the domain moves on.
  s.ingest("2026-01-05", 500, 0, published);
  auto dry = s.run("2026-01-08T00:00:03Z", {"promote", "--dry-run"});
  CHECK(dry.exit_code == 0);
  CHECK(s.dns_id() == "20260101000000");
  auto pass = s.run("2026-01-08T00:00:03Z", {"promote", "--yes"});
  INFO(pass.out << pass.err);
  CHECK(pass.exit_code == 0);
  CHECK(pass.out.find(z + ": stage 1 -> 2 (mode enforce, max_age 604800)") != std::string::npos);
  CHECK(s.dns_id() == "20260108000003");

  // The next stage starts with no reports of its own: held again at day 22.
  auto next = s.run("2026-01-22T00:00:04Z", {"promote", "--yes"});
  CHECK(next.exit_code == 3);
  CHECK(next.out.find("TLS-RPT reports cover 0 sessions in this stage") != std::string::npos);

  // The HTML page shows the stage and the next promotion date from the state.
  std::string page = s.dir.file("reports.html");
  auto html = s.run("2026-01-22T00:00:05Z", {"report", "show", "--html", page});
  INFO(html.out << html.err);
  REQUIRE(html.exit_code == 0);
  std::string text = read_file(page);
  CHECK(text.find("<td class=\"stage\">2/3 enforce</td>") != std::string::npos);
  CHECK(text.find("<td class=\"next-promotion\">2026-01-22T00:00:03Z</td>") != std::string::npos);
  CHECK(text.find("<svg id=\"chart-" + z + "\"") != std::string::npos);
}

TEST_CASE("reports for an alias domain count toward its policy domain's gate", "[report][gate][alias]") {
  GateScenario s(true);
  const std::string& z = s.zone;
  auto day0 = s.run("2026-01-01T00:00:00Z", {"apply", "--yes"});
  INFO(day0.out << day0.err);
  REQUIRE(day0.exit_code == 0);
  const std::vector<std::string> published{"version: STSv1", "mode: testing", "mx: mail." + z,
                                           "max_age: 86400"};

  // Senders report the alias under its own policy-domain (it fetched the
  // policy at mta-sts.<alias>, a CNAME to the primary's host).
  s.ingest("2026-01-03", 70, 0, published, s.alias);
  auto few = s.run("2026-01-08T00:00:01Z", {"promote", "--yes"});
  INFO(few.out << few.err);
  CHECK(few.exit_code == 3);
  CHECK(few.out ==
        z + ": stays (gate: TLS-RPT reports cover 70 sessions in this stage (1 report), fewer than the "
            "100 required; ingest more reports (report ingest, report fetch) or wait)\n"
            "promote: nothing to promote\n");

  // Failures reported for the alias count as well: 3 of 70 + 40 + 3.
  s.ingest("2026-01-04", 40, 0, {});
  s.ingest("2026-01-04", 0, 3, {}, s.alias);
  auto failing = s.run("2026-01-08T00:00:02Z", {"promote", "--yes"});
  INFO(failing.out << failing.err);
  CHECK(failing.exit_code == 3);
  CHECK(failing.out == z + ": stays (gate: TLS-RPT failure rate 2.7% (3 of 113 sessions) is above 1%)\n"
                           "promote: nothing to promote\n");
  auto status = s.run("2026-01-08T00:00:02Z", {"status", "--json"});
  auto rows = nlohmann::json::parse(status.out);
  REQUIRE(rows.size() == 2);
  // Domains are listed by name: the alias ("tlsrpt-alias...") first.
  CHECK(rows[0] == nlohmann::json{{"domain", s.alias}, {"alias_of", z}});
  CHECK(rows[1]["domain"] == z);
  CHECK(rows[1]["tlsrpt_7d"]["reports"] == 3);
  CHECK(rows[1]["tlsrpt_7d"]["sessions"] == 113);
  CHECK(rows[1]["tlsrpt_7d"]["failed_sessions"] == 3);

  // report show keeps each policy domain as the senders reported it.
  auto show = s.run("2026-01-08T00:00:02Z", {"--json", "report", "show"});
  INFO(show.out << show.err);
  REQUIRE(show.exit_code == 0);
  auto domains = nlohmann::json::parse(show.out)["domains"];
  REQUIRE(domains.size() == 2);
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& domain : domains) {
    by_name[domain["domain"].get<std::string>()] = domain;
  }
  REQUIRE(by_name.count(s.alias) == 1);
  REQUIRE(by_name.count(z) == 1);
  CHECK(by_name[s.alias]["reports"] == 2);
  CHECK(by_name[s.alias]["successful_sessions"] == 70);
  CHECK(by_name[s.alias]["failed_sessions"] == 3);
  CHECK(by_name[z]["reports"] == 1);
  CHECK(by_name[z]["successful_sessions"] == 40);
  CHECK(by_name[z]["failed_sessions"] == 0);

  // Enough clean sessions for the alias alone: the primary moves on.
  s.ingest("2026-01-05", 500, 0, {}, s.alias);
  auto pass = s.run("2026-01-08T00:00:03Z", {"promote", "--yes"});
  INFO(pass.out << pass.err);
  CHECK(pass.exit_code == 0);
  CHECK(pass.out.find(z + ": stage 1 -> 2 (mode enforce, max_age 604800)") != std::string::npos);
  CHECK(s.dns_id() == "20260108000003");
}
