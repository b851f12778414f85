// The TLS-RPT promotion gate, the --json shape of report show, and the HTML page.

#include "report/summary.h"
#include "report/report.h"

#include <catch2/catch.hpp>

using namespace stsctl;

namespace {

const std::string k_published =
    "version: STSv1\r\nmode: testing\r\nmx: *.mx.example.net\r\nmx: mail.example.net\r\nmax_age: 86400\r\n";

ReportSummary summary(uint64_t ok, uint64_t failed, uint64_t reports = 3) {
  ReportSummary out;
  out.domain = "example.net";
  out.reports = reports;
  out.successful_sessions = ok;
  out.failed_sessions = failed;
  return out;
}

}  // namespace

TEST_CASE("the TLS-RPT gate: enough sessions, a low failure rate, the published policy seen",
          "[report][gate]") {
  TlsrptGate gate;  // 1%, 100 sessions
  CHECK_FALSE(tlsrpt_gate_failure(summary(1099, 3), gate, k_published).has_value());
  CHECK(tlsrpt_gate_failure(summary(100, 3), gate, k_published) ==
        std::string("TLS-RPT failure rate 2.9% (3 of 103 sessions) is above 1%"));
  CHECK(
      tlsrpt_gate_failure(summary(40, 0, 1), gate, k_published) ==
      std::string("TLS-RPT reports cover 40 sessions in this stage (1 report), fewer than the 100 required; "
                  "ingest more reports (report ingest, report fetch) or wait"));
  CHECK(
      tlsrpt_gate_failure(summary(0, 0, 0), gate, k_published) ==
      std::string("TLS-RPT reports cover 0 sessions in this stage (0 reports), fewer than the 100 required; "
                  "ingest more reports (report ingest, report fetch) or wait"));
  // Exactly at the threshold passes: "at or below".
  CHECK_FALSE(tlsrpt_gate_failure(summary(99, 1), gate, k_published).has_value());
  TlsrptGate strict{0.0025, 10};
  CHECK(tlsrpt_gate_failure(summary(990, 10), strict, k_published) ==
        std::string("TLS-RPT failure rate 1% (10 of 1000 sessions) is above 0.25%"));

  ReportSummary seen = summary(1000, 0);
  seen.policy_strings = {normalise_policy_text(std::vector<std::string>{
      "version: STSv1", "mode: testing", "mx: mail.example.net", "mx: *.mx.example.net", "max_age: 86400"})};
  CHECK_FALSE(tlsrpt_gate_failure(seen, gate, k_published).has_value());
  ReportSummary old = summary(1000, 0);
  old.policy_strings = {normalise_policy_text(
      std::vector<std::string>{"version: STSv1", "mode: testing", "mx: mail.example.net", "max_age: 86400"})};
  CHECK(
      tlsrpt_gate_failure(old, gate, k_published) ==
      std::string("TLS-RPT reports in this stage show 1 policy-string and none is the policy published now; "
                  "senders have not seen it yet"));
}

TEST_CASE("report show --json has exactly the documented keys, in order", "[report][json]") {
  ReportSummary s = summary(1099, 3);
  s.failures = {{"validation-failure", 2}, {"certificate-expired", 1}};
  s.senders = {"Google Inc.", "Microsoft Corporation"};
  CHECK(dump_spaced(summary_to_json(s, false)) ==
        R"({"domain": "example.net", "reports": 3, "successful_sessions": 1099, "failed_sessions": 3, )"
        R"("failures": {"certificate-expired": 1, "validation-failure": 2}, "senders": ["Google Inc.", )"
        R"("Microsoft Corporation"]})");
  s.days = {DaySummary{"2026-11-20", 2, 600, 3, {{"validation-failure", 2}, {"certificate-expired", 1}}}};
  CHECK(
      dump_spaced(summary_to_json(s, true))
          .find(
              R"("days": [{"date": "2026-11-20", "reports": 2, "successful_sessions": 600, "failed_sessions": 3, )"
              R"("failures": {"certificate-expired": 1, "validation-failure": 2}}]})") != std::string::npos);
}

TEST_CASE("the HTML page is self-contained, with one chart per domain", "[report][html]") {
  ReportSummary a = summary(1099, 3);
  a.days = {DaySummary{"2026-11-20", 2, 600, 3, {{"validation-failure", 3}}},
            DaySummary{"2026-11-21", 1, 499, 0, {}}};
  a.failures = {{"validation-failure", 3}};
  ReportSummary b = summary(10, 0);
  b.domain = "<b>.example";
  std::string page = render_report_html({a, b}, {{"example.net", {"1/3 testing", "2026-11-27T00:00:00Z"}}},
                                        "2026-11-22T00:00:00Z");
  CHECK(page.find("<svg id=\"chart-example.net\"") != std::string::npos);
  CHECK(page.find("<svg id=\"chart-&lt;b&gt;.example\"") != std::string::npos);
  CHECK(page.find("1/3 testing") != std::string::npos);
  CHECK(page.find("2026-11-27T00:00:00Z") != std::string::npos);
  CHECK(page.find("validation-failure") != std::string::npos);
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("<link") == std::string::npos);
  CHECK(page.find("src=") == std::string::npos);
  CHECK(page.find("@import") == std::string::npos);
  CHECK(page.find("url(") == std::string::npos);
}

TEST_CASE("an alias domain's summary merges into its policy domain's", "[report][gate][alias]") {
  ReportSummary primary = summary(40, 0, 1);
  primary.senders = {"Google Inc."};
  primary.failures = {{"certificate-expired", 1}};
  primary.days = {{"2026-01-04", 1, 40, 0, {}}};
  ReportSummary alias = summary(70, 3, 2);
  alias.domain = "example.org";
  alias.senders = {"Google Inc.", "Microsoft Corporation"};
  alias.failures = {{"certificate-expired", 2}, {"validation-failure", 1}};
  alias.policy_strings = {"max_age: 86400\nmode: testing\nmx: mail.example.net\nversion: STSv1"};
  alias.days = {{"2026-01-03", 1, 70, 0, {}}, {"2026-01-04", 1, 0, 3, {{"validation-failure", 3}}}};

  ReportSummary merged = merge_summaries("example.net", {primary, alias});
  CHECK(merged.domain == "example.net");
  CHECK(merged.reports == 3);
  CHECK(merged.successful_sessions == 110);
  CHECK(merged.failed_sessions == 3);
  CHECK(merged.failures ==
        std::map<std::string, uint64_t>{{"certificate-expired", 3}, {"validation-failure", 1}});
  CHECK(merged.senders == std::vector<std::string>{"Google Inc.", "Microsoft Corporation"});
  CHECK(merged.policy_strings == alias.policy_strings);
  REQUIRE(merged.days.size() == 2);
  CHECK(merged.days[0].date == "2026-01-03");
  CHECK(merged.days[1].date == "2026-01-04");
  CHECK(merged.days[1].reports == 2);
  CHECK(merged.days[1].successful_sessions == 40);
  CHECK(merged.days[1].failures == std::map<std::string, uint64_t>{{"validation-failure", 3}});

  TlsrptGate gate;  // 1%, 100 sessions: neither part alone decides it
  CHECK(tlsrpt_gate_failure(merged, gate, "") ==
        std::string("TLS-RPT failure rate 2.7% (3 of 113 sessions) is above 1%"));
  CHECK(merge_summaries("example.net", {}).sessions() == 0);
}
