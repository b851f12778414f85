// parse_report_json and gunzip against the shapes senders really send
// (PROTOCOLS.md section 9), and the exact refusals.

#include "report/report.h"
#include "support/support.h"

#include <catch2/catch.hpp>

#include <zlib.h>

using namespace stsctl;

namespace {

std::string corpus(const std::string& name) {
  return test::read_file(test::source_path("tests/report/corpus/" + name));
}

TlsReport parse_ok(const std::string& text) {
  ParsedReport parsed = parse_report_json(text);
  INFO(parsed.error);
  REQUIRE(parsed.report.has_value());
  return *parsed.report;
}

std::string parse_error(const std::string& text) {
  ParsedReport parsed = parse_report_json(text);
  REQUIRE_FALSE(parsed.report.has_value());
  return parsed.error;
}

std::string minimal(const std::string& policies) {
  return R"({"organization-name": "Org", "report-id": "r1", "date-range": {"start-datetime": "2026-11-20T00:00:00Z", "end-datetime": "2026-11-20T23:59:59Z"}, "policies": )" +
         policies + "}";
}

}  // namespace

TEST_CASE("Google's shape: mx-host as an array, empty sending-mta-ip", "[report]") {
  TlsReport report = parse_ok(corpus("google-day1.json"));
  CHECK(report.organization_name == "Google Inc.");
  CHECK(report.report_id == "2026-11-20T00:00:00Z_example.net");
  CHECK(report.start == 1795132800);
  CHECK(report.end == 1795132800 + 86399);
  REQUIRE(report.policies.size() == 1);
  const PolicyResult& policy = report.policies[0];
  CHECK(policy.policy_type == "sts");
  CHECK(policy.policy_domain == "example.net");
  CHECK(policy.mx_hosts == std::vector<std::string>{"mail.example.net", "*.mx.example.net"});
  CHECK(policy.policy_string.size() == 5);
  CHECK(policy.successful_sessions == 500);
  CHECK(policy.failed_sessions == 2);
  REQUIRE(policy.failures.size() == 2);
  CHECK(policy.failures[0].result_type == "validation-failure");
  CHECK(policy.failures[0].sending_mta_ip.empty());
  CHECK(policy.failures[1].receiving_mx_hostname == "mx1.mx.example.net");
}

TEST_CASE("Microsoft's shape: no mx-host, no sending-mta-ip, a failure-reason-code", "[report]") {
  TlsReport report = parse_ok(corpus("microsoft.json"));
  REQUIRE(report.policies.size() == 1);
  CHECK(report.policies[0].mx_hosts.empty());
  REQUIRE(report.policies[0].failures.size() == 1);
  CHECK(report.policies[0].failures[0].result_type == "certificate-expired");
  CHECK(report.policies[0].failures[0].failure_reason_code == "CERT_EXPIRED");
  CHECK(report.policies[0].failures[0].sending_mta_ip.empty());
}

TEST_CASE("the RFC 8460 example's shape: mx-host as a string, extra fields kept out", "[report]") {
  TlsReport report = parse_ok(corpus("rfc8460.json"));
  REQUIRE(report.policies.size() == 1);
  CHECK(report.policies[0].mx_hosts == std::vector<std::string>{"*.mail.example.org"});
  CHECK(report.policies[0].failures.size() == 3);
  CHECK(report.policies[0].failures[1].additional_information ==
        "https://reports.company-x.example/report_info?id=5065427c-23d3#StarttlsNotSupported");
}

TEST_CASE("a sparse sender: null contact, no policy-string, unknown result-types, no-policy-found",
          "[report]") {
  TlsReport report = parse_ok(corpus("sparse.json"));
  CHECK(report.contact_info.empty());
  REQUIRE(report.policies.size() == 3);
  CHECK(report.policies[0].policy_domain == "example.net");  // "EXAMPLE.NET." normalised
  CHECK(report.policies[0].policy_string.empty());
  CHECK(report.policies[0].failures[0].result_type == "x-quantum-tls-failure");
  CHECK(report.policies[0].failures[0].failure_reason_code == "QX_17");
  CHECK(report.policies[0].failures[1].result_type == "unknown");
  CHECK(report.policies[1].policy_type == "no-policy-found");
  CHECK(report.policies[1].policy_domain.empty());
  CHECK(report.policies[2].policy_type == "tlsa");
  // Microsoft-style TLSA: one JSON-encoded string.
  CHECK(report.policies[2].policy_string ==
        std::vector<std::string>{R"({"usage":3,"selector":1,"matching":1,"data":"ab12"})"});
}

TEST_CASE("what cannot be a report is refused with the field's path", "[report]") {
  CHECK(parse_error("{\"policies\": [") == "not JSON");
  CHECK(parse_error("[1, 2]") == "not a TLS-RPT report (a JSON array, not an object)");
  CHECK(parse_error(corpus("dmarc.json")) ==
        "not a TLS-RPT report (no organization-name, report-id or policies)");
  CHECK(parse_error(corpus("bad-count.json")) ==
        "policies[0].summary.total-successful-session-count: expected a session count (a whole number, 0 or "
        "more), got \"lots\"");
  CHECK(parse_error(R"({"organization-name": "Org", "policies": []})") == "report-id: missing");
  CHECK(parse_error(R"({"organization-name": "Org", "report-id": "x", "policies": []})") ==
        "date-range: missing");
  CHECK(
      parse_error(
          R"({"organization-name": "Org", "report-id": "x", "date-range": {"start-datetime": "yesterday", "end-datetime": "2026-11-20T00:00:00Z"}, "policies": []})") ==
      "date-range.start-datetime: 'yesterday' is not an RFC 3339 date-time");
  CHECK(parse_error(minimal("{}")) == "policies: expected a list, got object");
  CHECK(parse_error(minimal(R"([{"summary": {}}])")) == "policies[0].policy: missing");
  CHECK(parse_error(minimal(R"([{"policy": {"policy-type": "sts"}}])")) == "policies[0].summary: missing");
  CHECK(parse_error(minimal(R"([{"policy": {"policy-type": "sts", "mx-host": 5}, "summary": {}}])")) ==
        "policies[0].policy.mx-host: expected a string or a list of strings, got number");
  CHECK(
      parse_error(minimal(
          R"([{"policy": {"policy-type": "sts"}, "summary": {"total-successful-session-count": -1, "total-failure-session-count": 0}}])")) ==
      "policies[0].summary.total-successful-session-count: expected a session count (a whole number, 0 or "
      "more), got -1");
  CHECK(
      parse_error(minimal(
          R"([{"policy": {"policy-type": "sts"}, "summary": {"total-successful-session-count": 1, "total-failure-session-count": 0}, "failure-details": [7]}])")) ==
      "policies[0].failure-details[0]: expected an object, got number");
}

TEST_CASE("gunzip: magic bytes, several members, trailing CRLF, truncation, the size cap", "[report]") {
  std::string compressed = corpus("google-day1.json.gz");
  CHECK(is_gzip(compressed));
  CHECK_FALSE(is_gzip("{\"a\":1}"));
  CHECK(gunzip(compressed) == corpus("google-day1.json"));
  CHECK(gunzip(compressed + "\r\n") == corpus("google-day1.json"));
  CHECK(gunzip(compressed + compressed) == corpus("google-day1.json") + corpus("google-day1.json"));
  CHECK_THROWS_WITH(gunzip(corpus("truncated.json.gz")), "truncated gzip data");
  CHECK_THROWS_WITH(gunzip(compressed.substr(0, 5)), "truncated gzip data");
  CHECK_THROWS_WITH(gunzip(compressed, 100), "more than 100 bytes once decompressed");
  std::string corrupt = compressed;
  corrupt[20] = static_cast<char>(corrupt[20] ^ 0x55);
  CHECK_THROWS_WITH(gunzip(corrupt), Catch::StartsWith("corrupt gzip data ("));
  CHECK_THROWS_WITH(gunzip(compressed + "garbage"), "corrupt gzip data (unexpected bytes after the end)");
}

TEST_CASE("policy texts compare equal however a sender splits or orders them", "[report]") {
  std::string published =
      "version: STSv1\r\nmode: testing\r\nmx: *.mx.example.net\r\nmx: mail.example.net\r\nmax_age: "
      "86400\r\n";
  CHECK(normalise_policy_text(published) == normalise_policy_text(std::vector<std::string>{
                                                "version: STSv1", "mode: testing", "mx: mail.example.net",
                                                "mx:  *.MX.example.net", "max_age: 86400"}));
  CHECK(normalise_policy_text(published) != normalise_policy_text(std::vector<std::string>{
                                                "version: STSv1", "mode: enforce", "mx: mail.example.net",
                                                "mx: *.mx.example.net", "max_age: 86400"}));
}
