// evaluate_domain, the exit code and the output formats on hand-made
// observations (no network).
#include "check/checker.h"
#include "check/dns_answers.h"
#include "policy/policy.h"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <optional>

#include <algorithm>

using namespace stsctl;
using stsctl::test::ok;
using stsctl::test::status;

namespace {

const std::string k_timeout = "no answer from resolver 127.0.0.1:9 (timeout or unreachable)";

std::string policy_body(PolicyMode mode, uint32_t max_age, const std::vector<std::string>& mx) {
  return policy_text(make_policy(mode, max_age, mx));
}

DomainObservation good_observation() {
  DomainObservation o;
  o.sts_txt = ok({"v=STSv1; id=20240101000000"});
  o.apex_txt = ok({"v=spf1 mx -all"});
  o.tlsrpt_txt = ok({"v=TLSRPTv1; rua=mailto:tlsrpt@example.test"});
  o.typo_txt = status(DnsStatus::NxDomain);
  o.legacy_txt = status(DnsStatus::NxDomain);
  o.mx = ok({"10 mx1.example.test", "20 mx2.example.test"});
  o.host_a = ok({"192.0.2.40"});
  o.host_aaaa = status(DnsStatus::NoData);
  o.fetch.url = "https://mta-sts.example.test/.well-known/mta-sts.txt";
  o.fetch.transport_ok = true;
  o.fetch.status = 200;
  o.fetch.content_type = "text/plain";
  o.fetch.body = policy_body(PolicyMode::Testing, 86400, {"mx1.example.test", "*.example.test"});
  return o;
}

// A copy, not a pointer: callers often pass a temporary report.
std::optional<Finding> find(const DomainReport& r, const std::string& check, CheckStatus s) {
  auto it = std::find_if(r.findings.begin(), r.findings.end(),
                         [&](const Finding& f) { return f.check_name == check && f.status == s; });
  return it == r.findings.end() ? std::nullopt : std::optional<Finding>(*it);
}

CheckTarget target() {
  CheckTarget t;
  t.domain = "example.test";
  return t;
}

}  // namespace

TEST_CASE("evaluate: a good domain passes") {
  DomainReport r = evaluate_domain(target(), good_observation(), CheckOptions{});
  CHECK(r.worst() == CheckStatus::Pass);
  CHECK(find(r, "sts.record", CheckStatus::Pass));
  CHECK(find(r, "policy.mx_coverage", CheckStatus::Pass));
  CHECK(find(r, "policy_host.dns", CheckStatus::Pass));
  CHECK(find(r, "policy.content_type", CheckStatus::Pass));
}

TEST_CASE("evaluate: DNS timeout is told apart from NXDOMAIN and NODATA") {
  DomainObservation o = good_observation();
  o.sts_txt = status(DnsStatus::Timeout, k_timeout);
  auto f = find(evaluate_domain(target(), o, {}), "sts.record", CheckStatus::Fail);
  REQUIRE(f);
  CHECK(f->message.find("timed out") != std::string::npos);
  CHECK(f->message.find("not the same as a missing record") != std::string::npos);

  o.sts_txt = status(DnsStatus::NxDomain);
  f = find(evaluate_domain(target(), o, {}), "sts.record", CheckStatus::Fail);
  REQUIRE(f);
  CHECK(f->message.find("NXDOMAIN") != std::string::npos);

  o.sts_txt = status(DnsStatus::NoData);
  f = find(evaluate_domain(target(), o, {}), "sts.record", CheckStatus::Fail);
  REQUIRE(f);
  CHECK(f->message.find("NODATA") != std::string::npos);

  o.sts_txt = status(DnsStatus::ServFail);
  f = find(evaluate_domain(target(), o, {}), "sts.record", CheckStatus::Fail);
  REQUIRE(f);
  CHECK(f->message.find("SERVFAIL") != std::string::npos);
}

TEST_CASE("evaluate: STS record at the apex") {
  DomainObservation o = good_observation();
  o.sts_txt = status(DnsStatus::NxDomain);
  o.apex_txt = ok({"v=spf1 -all", "v=STSv1; id=1"});
  DomainReport r = evaluate_domain(target(), o, {});
  auto f = find(r, "sts.apex", CheckStatus::Fail);
  REQUIRE(f);
  CHECK(f->message.find("instead of _mta-sts.example.test") != std::string::npos);
}

TEST_CASE("evaluate: max_age limits") {
  DomainObservation o = good_observation();
  o.fetch.body = policy_body(PolicyMode::Testing, 3600, {"mx1.example.test", "mx2.example.test"});
  CHECK(find(evaluate_domain(target(), o, {}), "policy.max_age", CheckStatus::Fail));
  o.fetch.body = policy_body(PolicyMode::Enforce, 604800, {"mx1.example.test", "mx2.example.test"});
  auto f = find(evaluate_domain(target(), o, {}), "policy.max_age", CheckStatus::Warn);
  REQUIRE(f);
  CHECK(f->message.find("under 28 days in enforce") != std::string::npos);
  o.fetch.body = policy_body(PolicyMode::Testing, 604800, {"mx1.example.test", "mx2.example.test"});
  CHECK(find(evaluate_domain(target(), o, {}), "policy.max_age", CheckStatus::Pass));
}

TEST_CASE("evaluate: MX coverage, anchored wildcards, unused patterns") {
  DomainObservation o = good_observation();
  o.mx = ok({"10 mx1.example.test", "20 a.b.example.test", "30 example.test"});
  o.fetch.body = policy_body(PolicyMode::Testing, 86400, {"*.example.test", "old.example.net"});
  DomainReport r = evaluate_domain(target(), o, {});
  int fails = static_cast<int>(std::count_if(r.findings.begin(), r.findings.end(), [](const Finding& f) {
    return f.check_name == "policy.mx_coverage" && f.status == CheckStatus::Fail;
  }));
  CHECK(fails == 2);  // a.b.example.test (two labels) and example.test (no label)
  auto unused = find(r, "policy.mx_unused", CheckStatus::Warn);
  REQUIRE(unused);
  CHECK(unused->message.find("old.example.net") != std::string::npos);
}

TEST_CASE("evaluate: HTTPS outcomes") {
  DomainObservation o = good_observation();
  o.fetch.status = 404;
  auto f = find(evaluate_domain(target(), o, {}), "policy.fetch", CheckStatus::Fail);
  REQUIRE(f);
  CHECK(f->message.find("404 Not Found") != std::string::npos);

  o = good_observation();
  o.fetch.status = 301;
  o.fetch.location = "https://www.example.test/mta-sts.txt";
  f = find(evaluate_domain(target(), o, {}), "policy.fetch", CheckStatus::Fail);
  REQUIRE(f);
  CHECK(f->message.find("never follow redirects") != std::string::npos);

  o = good_observation();
  o.fetch.content_type = "text/html; charset=utf-8";
  CHECK(find(evaluate_domain(target(), o, {}), "policy.content_type", CheckStatus::Fail));
  o.fetch.content_type = "Text/Plain; charset=utf-8";
  CHECK(find(evaluate_domain(target(), o, {}), "policy.content_type", CheckStatus::Pass));

  o = good_observation();
  o.fetch.transport_ok = false;
  o.fetch.certificate_error = true;
  o.fetch.error = "certificate has expired";
  f = find(evaluate_domain(target(), o, {}), "policy.certificate", CheckStatus::Fail);
  REQUIRE(f);
  CHECK(f->message.find("expired") != std::string::npos);
}

TEST_CASE("evaluate: drift against config and state") {
  CheckTarget t = target();
  DomainObservation o = good_observation();
  t.expected_policy = o.fetch.body;
  t.expected_id = "20240101000000";
  DomainReport r = evaluate_domain(t, o, {});
  CHECK(find(r, "drift.policy", CheckStatus::Pass));
  CHECK(find(r, "drift.id", CheckStatus::Pass));

  t.expected_policy = policy_body(PolicyMode::Enforce, 604800, {"mx1.example.test"});
  t.expected_id = "20250101000000";
  r = evaluate_domain(t, o, {});
  CHECK(find(r, "drift.policy", CheckStatus::Fail));
  auto f = find(r, "drift.id", CheckStatus::Fail);
  REQUIRE(f);
  CHECK(f->message == "DNS id 20240101000000 differs from the id in state (20250101000000)");

  t.expected_policy.reset();
  t.expected_hash = sha256_hex(o.fetch.body);
  CHECK(find(evaluate_domain(t, o, {}), "drift.policy", CheckStatus::Pass));
}

TEST_CASE("evaluate: TLS-RPT typo and legacy names") {
  DomainObservation o = good_observation();
  o.tlsrpt_txt = status(DnsStatus::NxDomain);
  o.typo_txt = ok({"v=TLSRPTv1; rua=mailto:tlsrpt@example.test"});
  auto f = find(evaluate_domain(target(), o, {}), "tlsrpt.misplaced", CheckStatus::Fail);
  REQUIRE(f);
  CHECK(f->message.find("_smtp_tls.example.test") != std::string::npos);
  CHECK(f->message.find("misspelling") != std::string::npos);

  o = good_observation();
  o.legacy_txt = ok({"v=TLSRPTv1; rua=mailto:tlsrpt@example.test"});
  f = find(evaluate_domain(target(), o, {}), "tlsrpt.misplaced", CheckStatus::Warn);
  REQUIRE(f);
  CHECK(f->message.find("_smtp-tlsrpt.example.test") != std::string::npos);

  CheckTarget required = target();
  required.tlsrpt_required = true;
  o = good_observation();
  o.tlsrpt_txt = status(DnsStatus::NxDomain);
  CHECK(find(evaluate_domain(required, o, {}), "tlsrpt.record", CheckStatus::Fail));
  CHECK(find(evaluate_domain(target(), o, {}), "tlsrpt.record", CheckStatus::Warn));
}

TEST_CASE("evaluate: SMTP results") {
  DomainObservation o = good_observation();
  o.mx = ok({"10 mx1.example.test"});
  o.smtp_checked = true;
  SmtpResult r;
  r.host = "mx1.example.test";
  r.connected = true;
  r.banner = "220 mx1.example.test ESMTP";
  r.starttls_offered = true;
  r.tls_ok = true;
  r.tls_version = "TLSv1.3";
  r.cipher = "TLS_AES_128_GCM_SHA256";
  r.chain_valid = true;
  r.name_valid = true;
  r.days_to_expiry = 60;
  o.smtp = {r};
  CHECK(evaluate_domain(target(), o, {}).worst() == CheckStatus::Pass);

  o.smtp[0].days_to_expiry = 5;
  CHECK(find(evaluate_domain(target(), o, {}), "smtp.certificate_expiry", CheckStatus::Warn));
  o.smtp[0].starttls_offered = false;
  CHECK(find(evaluate_domain(target(), o, {}), "smtp.starttls", CheckStatus::Fail));
}

TEST_CASE("exit code and output formats") {
  CheckReport report;
  report.domains.push_back({"a.test",
                            {{"sts.record", CheckStatus::Pass, "one STS record", ""},
                             {"policy.max_age", CheckStatus::Warn, "short", "raise it"}}});
  CHECK(check_exit_code(report) == 0);
  std::string table = format_check_table(report, false);
  CHECK(table.find("a.test  WARN") != std::string::npos);
  CHECK(table.find("PASS  sts.record") != std::string::npos);
  CHECK(table.find("fix: raise it") != std::string::npos);
  CHECK(table.find("\033[") == std::string::npos);
  CHECK(format_check_table(report, true).find("\033[33mWARN") != std::string::npos);

  report.domains.push_back({"b.test", {{"sts.record", CheckStatus::Fail, "no record", "publish it"}}});
  CHECK(check_exit_code(report) == 2);
  auto json = nlohmann::json::parse(check_report_json(report));
  CHECK(json["exit_code"] == 2);
  CHECK(json["summary"]["fail"] == 1);
  CHECK(json["summary"]["warn"] == 1);
  CHECK(json["domains"][1]["status"] == "fail");
  CHECK(json["domains"][1]["findings"][0]["check"] == "sts.record");
  CHECK(json["domains"][1]["findings"][0]["fix"] == "publish it");
  CHECK(check_exit_code(CheckReport{}) == 0);
}

TEST_CASE("check JSON is written a domain at a time, byte for byte as one document would be") {
  // Re-dumping the parsed text gives nlohmann's layout of the whole
  // document, which the output had when it was built as one tree.
  auto as_one_document = [](const std::string& text) { return nlohmann::json::parse(text).dump(2) + "\n"; };
  CheckReport report;
  CHECK(check_report_json(report) == as_one_document(check_report_json(report)));
  report.domains.push_back({"a.test", {}});
  CHECK(check_report_json(report) == as_one_document(check_report_json(report)));
  report.domains.push_back({"b.test",
                            {{"sts.record", CheckStatus::Fail, "no \"record\"\nat all", "publish it"},
                             {"policy.max_age", CheckStatus::Warn, "short \xc3\xa9", ""}}});
  report.domains.push_back({"c.test", {{"sts.record", CheckStatus::Pass, "one", ""}}});
  const std::string text = check_report_json(report);
  CHECK(text == as_one_document(text));
  auto json = nlohmann::json::parse(text);
  CHECK(json["domains"].size() == 3);
  CHECK(json["domains"][1]["findings"][0]["message"] == "no \"record\"\nat all");
  CHECK(json["summary"] == nlohmann::json({{"domains", 3}, {"pass", 2}, {"warn", 0}, {"fail", 1}}));
}

TEST_CASE("evaluate: the policy host's certificate expiry") {
  CheckOptions options;
  options.expiry_warn_days = 14;
  DomainObservation o = good_observation();
  o.fetch.certificate_seen = true;
  o.fetch.days_to_expiry = 60;
  auto f = find(evaluate_domain(target(), o, options), "policy.certificate_expiry", CheckStatus::Pass);
  REQUIRE(f);
  CHECK(f->message == "the certificate of mta-sts.example.test expires in 60 days");

  o.fetch.days_to_expiry = 13;
  f = find(evaluate_domain(target(), o, options), "policy.certificate_expiry", CheckStatus::Warn);
  REQUIRE(f);
  CHECK(f->message == "the certificate of mta-sts.example.test expires in 13 days");
  CHECK(f->fix_hint == "renew the certificate of mta-sts.example.test (automate renewal)");

  o.fetch.transport_ok = false;
  o.fetch.certificate_error = true;
  o.fetch.error = "SSL certificate problem: certificate has expired";
  o.fetch.days_to_expiry = -3;
  DomainReport r = evaluate_domain(target(), o, options);
  f = find(r, "policy.certificate_expiry", CheckStatus::Fail);
  REQUIRE(f);
  CHECK(f->message == "the certificate of mta-sts.example.test expired 3 days ago");
  CHECK(f->fix_hint ==
        "renew the certificate of mta-sts.example.test; senders cannot fetch the policy until then");
  CHECK(find(r, "policy.certificate", CheckStatus::Fail));

  // No certificate seen (no connection): nothing said about expiry.
  o = good_observation();
  CHECK_FALSE(find(evaluate_domain(target(), o, options), "policy.certificate_expiry", CheckStatus::Pass));
}

TEST_CASE("evaluate: the addresses used are named") {
  DomainObservation o = good_observation();
  o.fetch.address = "192.0.2.40:443";
  auto f = find(evaluate_domain(target(), o, {}), "policy.fetch", CheckStatus::Pass);
  REQUIRE(f);
  CHECK(f->message ==
        "https://mta-sts.example.test/.well-known/mta-sts.txt answers 200 (from 192.0.2.40:443)");

  o.fetch.transport_ok = false;
  o.fetch.error = "failed to fetch 'https://mta-sts.example.test/.well-known/mta-sts.txt' (Couldn't connect)";
  f = find(evaluate_domain(target(), o, {}), "policy.fetch", CheckStatus::Fail);
  REQUIRE(f);
  CHECK(f->message ==
        "failed to fetch 'https://mta-sts.example.test/.well-known/mta-sts.txt' (Couldn't connect) at "
        "192.0.2.40:443");

  o = good_observation();
  o.smtp_checked = true;
  SmtpResult smtp;
  smtp.host = "mx1.example.test";
  smtp.address = "192.0.2.25:25";
  smtp.connected = true;
  smtp.starttls_offered = true;
  o.smtp.push_back(smtp);
  f = find(evaluate_domain(target(), o, {}), "smtp.starttls", CheckStatus::Pass);
  REQUIRE(f);
  CHECK(f->message == "mx1.example.test offers STARTTLS (at 192.0.2.25:25)");
}

TEST_CASE("evaluate: CAA findings come after the policy checks") {
  DomainObservation o = good_observation();
  o.fetch.certificate_seen = true;
  o.fetch.days_to_expiry = 60;
  o.fetch.certificate_issuer = "/C=US/O=Let's Encrypt/CN=R3";
  o.fetch.issuer_organization = "Let's Encrypt";
  // mta-sts.example.test: none; example.test: the relevant set; test: refused.
  o.caa = {status(DnsStatus::NoData), ok({"0 issue letsencrypt.org"}), status(DnsStatus::Refused)};
  auto f = find(evaluate_domain(target(), o, {}), "policy.caa", CheckStatus::Pass);
  REQUIRE(f);
  CHECK(f->message == "CAA at example.test allows letsencrypt.org, the issuer of the served certificate");
}
