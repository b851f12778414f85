#include "check/policy_parse.h"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace stsctl;

namespace {

const std::string k_good =
    "version: STSv1\r\nmode: enforce\r\nmx: mail.example.net\r\nmx: *.mx.example.net\r\nmax_age: 604800\r\n";

bool has(const std::vector<Finding>& findings, const std::string& check, CheckStatus status,
         const std::string& text) {
  return std::any_of(findings.begin(), findings.end(), [&](const Finding& f) {
    return f.check_name == check && f.status == status && f.message.find(text) != std::string::npos;
  });
}

bool any_status(const std::vector<Finding>& findings, CheckStatus status) {
  return std::any_of(findings.begin(), findings.end(), [&](const Finding& f) { return f.status == status; });
}

}  // namespace

TEST_CASE("a canonical policy parses cleanly") {
  ParsedPolicy p = parse_policy_body(k_good);
  CHECK(p.valid);
  REQUIRE(p.mode);
  CHECK(*p.mode == PolicyMode::Enforce);
  REQUIRE(p.max_age);
  CHECK(*p.max_age == 604800);
  CHECK(p.mx == std::vector<std::string>{"mail.example.net", "*.mx.example.net"});
  CHECK_FALSE(any_status(p.findings, CheckStatus::Warn));
  CHECK_FALSE(any_status(p.findings, CheckStatus::Fail));
  CHECK(has(p.findings, "policy.syntax", CheckStatus::Pass, "mode enforce, max_age 604800, 2 mx"));
}

TEST_CASE("LF-only line endings are accepted with a warning") {
  ParsedPolicy p = parse_policy_body("version: STSv1\nmode: testing\nmx: mail.example.net\nmax_age: 86400\n");
  CHECK(p.valid);
  CHECK(has(p.findings, "policy.syntax", CheckStatus::Warn, "4 line(s) end in LF only"));
}

TEST_CASE("mixed line endings count only the LF lines") {
  ParsedPolicy p =
      parse_policy_body("version: STSv1\r\nmode: testing\nmx: mail.example.net\r\nmax_age: 86400\r\n");
  CHECK(p.valid);
  CHECK(has(p.findings, "policy.syntax", CheckStatus::Warn, "1 line(s) end in LF only"));
}

TEST_CASE("a misspelt key gets a did-you-mean warning and is ignored") {
  ParsedPolicy p = parse_policy_body(
      "version: STSv1\r\nmode: testing\r\nnmx: mail.example.net\r\nmx: "
      "mail.example.net\r\nmax_age: 86400\r\n");
  CHECK(p.valid);
  CHECK(
      has(p.findings, "policy.syntax", CheckStatus::Warn, "line 3: unknown key 'nmx' (did you mean 'mx'?)"));
  CHECK(p.mx.size() == 1);
}

TEST_CASE("a misspelt mx as the only mx line leaves no mx: fail") {
  ParsedPolicy p =
      parse_policy_body("version: STSv1\r\nmode: enforce\r\nnmx: mail.example.net\r\nmax_age: 86400\r\n");
  CHECK_FALSE(p.valid);
  CHECK(has(p.findings, "policy.syntax", CheckStatus::Warn, "did you mean 'mx'"));
  CHECK(has(p.findings, "policy.syntax", CheckStatus::Fail, "no valid 'mx' line"));
}

TEST_CASE("key case matters: Mode is suggested as mode") {
  ParsedPolicy p =
      parse_policy_body("version: STSv1\r\nMode: enforce\r\nmx: a.example.net\r\nmax_age: 86400\r\n");
  CHECK_FALSE(p.valid);
  CHECK(has(p.findings, "policy.syntax", CheckStatus::Warn, "unknown key 'Mode' (did you mean 'mode'?)"));
  CHECK(has(p.findings, "policy.syntax", CheckStatus::Fail, "no 'mode' line"));
  CHECK(suggest_policy_key("max-age") == "max_age");
  CHECK(suggest_policy_key("maxage") == "max_age");
  CHECK(suggest_policy_key("versoin") == "version");
  CHECK(suggest_policy_key("id").empty());
  CHECK(suggest_policy_key("comment").empty());
}

TEST_CASE("unknown keys far from known ones are noted, not warned") {
  ParsedPolicy p = parse_policy_body(k_good + "comment: hello\r\n");
  CHECK(p.valid);
  CHECK(has(p.findings, "policy.syntax", CheckStatus::Pass, "unknown key 'comment' ignored"));
  CHECK_FALSE(any_status(p.findings, CheckStatus::Warn));
}

TEST_CASE("the obsolete report mode fails with a hint") {
  ParsedPolicy p =
      parse_policy_body("version: STSv1\r\nmode: report\r\nmx: a.example.net\r\nmax_age: 86400\r\n");
  CHECK_FALSE(p.valid);
  REQUIRE(has(p.findings, "policy.syntax", CheckStatus::Fail, "mode 'report' is from an obsolete draft"));
  auto it = std::find_if(p.findings.begin(), p.findings.end(),
                         [](const Finding& f) { return f.message.find("report") != std::string::npos; });
  CHECK(it->fix_hint.find("mode: testing") != std::string::npos);
}

TEST_CASE("modes are case-sensitive") {
  ParsedPolicy p =
      parse_policy_body("version: STSv1\r\nmode: Enforce\r\nmx: a.example.net\r\nmax_age: 86400\r\n");
  CHECK_FALSE(p.valid);
  CHECK(
      has(p.findings, "policy.syntax", CheckStatus::Fail, "mode 'Enforce' is not testing, enforce or none"));
}

TEST_CASE("mode none needs no mx") {
  ParsedPolicy p = parse_policy_body("version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n");
  CHECK(p.valid);
  CHECK(*p.mode == PolicyMode::None);
}

TEST_CASE("version must come first and be STSv1") {
  ParsedPolicy late =
      parse_policy_body("mode: testing\r\nversion: STSv1\r\nmx: a.example.net\r\nmax_age: 86400\r\n");
  CHECK_FALSE(late.valid);
  CHECK(has(late.findings, "policy.syntax", CheckStatus::Fail,
            "line 1: the first line must be 'version: STSv1'"));

  ParsedPolicy wrong =
      parse_policy_body("version: STSv2\r\nmode: testing\r\nmx: a.example.net\r\nmax_age: 86400\r\n");
  CHECK_FALSE(wrong.valid);
  CHECK(has(wrong.findings, "policy.syntax", CheckStatus::Fail, "version is 'STSv2', expected 'STSv1'"));

  ParsedPolicy missing = parse_policy_body("mode: testing\r\nmx: a.example.net\r\nmax_age: 86400\r\n");
  CHECK_FALSE(missing.valid);
  CHECK(has(missing.findings, "policy.syntax", CheckStatus::Fail, "no 'version' line"));
}

TEST_CASE("duplicate keys: first wins, with a warning") {
  ParsedPolicy p = parse_policy_body(
      "version: STSv1\r\nmode: testing\r\nmode: enforce\r\nmx: a.example.net\r\nmax_age: 86400\r\nmax_age: "
      "5\r\n");
  CHECK(p.valid);
  CHECK(*p.mode == PolicyMode::Testing);
  CHECK(*p.max_age == 86400);
  CHECK(has(p.findings, "policy.syntax", CheckStatus::Warn,
            "line 3: duplicate key 'mode' (the first one counts)"));
  CHECK(has(p.findings, "policy.syntax", CheckStatus::Warn, "line 6: duplicate key 'max_age'"));
}

TEST_CASE("duplicate mx lines are warned") {
  ParsedPolicy p = parse_policy_body(
      "version: STSv1\r\nmode: testing\r\nmx: a.example.net\r\nmx: A.example.net\r\nmax_age: 86400\r\n");
  CHECK(p.valid);
  CHECK(has(p.findings, "policy.syntax", CheckStatus::Warn, "is listed twice"));
}

TEST_CASE("mx patterns: IP literals and bad wildcards fail") {
  ParsedPolicy ip =
      parse_policy_body("version: STSv1\r\nmode: enforce\r\nmx: 192.0.2.25\r\nmax_age: 86400\r\n");
  CHECK_FALSE(ip.valid);
  CHECK(has(ip.findings, "policy.syntax", CheckStatus::Fail, "mx '192.0.2.25' is an IP address"));

  ParsedPolicy v6 =
      parse_policy_body("version: STSv1\r\nmode: enforce\r\nmx: [2001:db8::25]\r\nmax_age: 86400\r\n");
  CHECK(has(v6.findings, "policy.syntax", CheckStatus::Fail, "is an IP address"));

  ParsedPolicy partial =
      parse_policy_body("version: STSv1\r\nmode: enforce\r\nmx: mx*.example.net\r\nmax_age: 86400\r\n");
  CHECK_FALSE(partial.valid);
  CHECK(has(partial.findings, "policy.syntax", CheckStatus::Fail,
            "mx 'mx*.example.net' is not a valid pattern"));

  ParsedPolicy inner =
      parse_policy_body("version: STSv1\r\nmode: enforce\r\nmx: a.*.example.net\r\nmax_age: 86400\r\n");
  CHECK_FALSE(inner.valid);

  ParsedPolicy good =
      parse_policy_body("version: STSv1\r\nmode: enforce\r\nmx: *.example.net\r\nmax_age: 86400\r\n");
  CHECK(good.valid);
}

TEST_CASE("max_age must be 1-10 digits and at most 31557600") {
  auto body = [](const std::string& v) {
    return "version: STSv1\r\nmode: testing\r\nmx: a.example.net\r\nmax_age: " + v + "\r\n";
  };
  CHECK(parse_policy_body(body("31557600")).valid);
  CHECK(has(parse_policy_body(body("31557601")).findings, "policy.syntax", CheckStatus::Fail,
            "exceeds 31557600"));
  CHECK(
      has(parse_policy_body(body("-1")).findings, "policy.syntax", CheckStatus::Fail, "is not 1-10 digits"));
  CHECK(
      has(parse_policy_body(body("1d")).findings, "policy.syntax", CheckStatus::Fail, "is not 1-10 digits"));
  CHECK(has(parse_policy_body(body("12345678901")).findings, "policy.syntax", CheckStatus::Fail,
            "is not 1-10 digits"));
  CHECK(*parse_policy_body(body("0")).max_age == 0);
}

TEST_CASE("malformed lines and empty bodies fail") {
  CHECK(has(parse_policy_body("").findings, "policy.syntax", CheckStatus::Fail, "empty"));
  ParsedPolicy p = parse_policy_body("<html>not found</html>\r\n");
  CHECK_FALSE(p.valid);
  CHECK(has(p.findings, "policy.syntax", CheckStatus::Fail, "is not 'key: value'"));
  ParsedPolicy space =
      parse_policy_body("version: STSv1\r\nmode : testing\r\nmx: a.example.net\r\nmax_age: 86400\r\n");
  CHECK(has(space.findings, "policy.syntax", CheckStatus::Fail, "'mode ' is not a valid key"));
}

TEST_CASE("STS TXT: one valid record") {
  ParsedStsRecord r = parse_sts_records({"v=STSv1; id=20240101120000;"});
  CHECK(r.valid);
  CHECK(r.id == "20240101120000");
  CHECK(has(r.findings, "sts.id", CheckStatus::Pass, "valid"));
  CHECK(parse_sts_records({"v=STSv1;id=abc"}).valid);
  CHECK(parse_sts_records({"v=STSv1; id=abc; ext=1"}).valid);
}

TEST_CASE("STS TXT: two v=STSv1 records mean no policy") {
  ParsedStsRecord r = parse_sts_records({"v=STSv1; id=1", "v=STSv1; id=2"});
  CHECK_FALSE(r.valid);
  CHECK(r.sts_record_count == 2);
  CHECK(has(r.findings, "sts.record", CheckStatus::Fail, "2 TXT records start with 'v=STSv1'"));
}

TEST_CASE("STS TXT: bad ids") {
  CHECK(has(parse_sts_records({"v=STSv1; id=2024-01-01"}).findings, "sts.id", CheckStatus::Fail,
            "id '2024-01-01' is not 1-32 letters and digits"));
  CHECK(has(parse_sts_records({"v=STSv1; id=" + std::string(33, 'a')}).findings, "sts.id", CheckStatus::Fail,
            "is not 1-32"));
  CHECK(has(parse_sts_records({"v=STSv1; id="}).findings, "sts.id", CheckStatus::Fail, "is not 1-32"));
  CHECK(has(parse_sts_records({"v=STSv1;"}).findings, "sts.id", CheckStatus::Fail, "has no id= field"));
  CHECK_FALSE(parse_sts_records({"v=STSv1; id=1;;"}).valid);
}

TEST_CASE("STS TXT: other records at _mta-sts are filtered and warned") {
  ParsedStsRecord r = parse_sts_records({"v=spf1 -all", "hello", "v=STSv1; id=1"});
  CHECK(r.valid);
  CHECK(r.other_records.size() == 2);
  CHECK(has(r.findings, "sts.other_txt", CheckStatus::Warn, "wildcard TXT"));
  CHECK(has(r.findings, "sts.other_txt", CheckStatus::Warn, "unrelated TXT 'hello'"));

  ParsedStsRecord only_spf = parse_sts_records({"v=spf1 -all"});
  CHECK_FALSE(only_spf.valid);
  CHECK(has(only_spf.findings, "sts.record", CheckStatus::Fail, "no TXT record starting with 'v=STSv1'"));
}

TEST_CASE("STS TXT: the version tag is case-sensitive") {
  ParsedStsRecord r = parse_sts_records({"v=stsv1; id=1"});
  CHECK_FALSE(r.valid);
  CHECK(has(r.findings, "sts.record", CheckStatus::Fail, "does not start with 'v=STSv1'"));
  CHECK_FALSE(parse_sts_records({"v=STSv10; id=1"}).valid);
}

TEST_CASE("TLS-RPT TXT: valid records") {
  ParsedTlsRpt r =
      parse_tlsrpt_records({"v=TLSRPTv1; rua=mailto:tlsrpt@example.net,https://reports.example.net/v1"});
  CHECK(r.valid);
  CHECK(r.rua == std::vector<std::string>{"mailto:tlsrpt@example.net", "https://reports.example.net/v1"});
  CHECK(parse_tlsrpt_records({"v=TLSRPTv1;rua=mailto:a@b.example , mailto:c@d.example;"}).valid);
}

TEST_CASE("TLS-RPT TXT: bad URIs, missing rua, duplicates") {
  CHECK(has(parse_tlsrpt_records({"v=TLSRPTv1; rua=tlsrpt@example.net"}).findings, "tlsrpt.rua",
            CheckStatus::Fail, "neither mailto: nor https:"));
  CHECK(has(parse_tlsrpt_records({"v=TLSRPTv1; rua=http://example.net/r"}).findings, "tlsrpt.rua",
            CheckStatus::Fail, "neither mailto: nor https:"));
  CHECK(has(parse_tlsrpt_records({"v=TLSRPTv1; rua=mailto:r@example.net!10m"}).findings, "tlsrpt.rua",
            CheckStatus::Fail, "unencoded '!'"));
  CHECK(has(parse_tlsrpt_records({"v=TLSRPTv1; rua=mailto:nobody"}).findings, "tlsrpt.rua", CheckStatus::Fail,
            "no valid mail address"));
  CHECK(
      has(parse_tlsrpt_records({"v=TLSRPTv1;"}).findings, "tlsrpt.rua", CheckStatus::Fail, "no rua= field"));
  CHECK(has(parse_tlsrpt_records({"v=TLSRPTv1; rua=mailto:a@b.example", "v=TLSRPTv1; rua=mailto:c@d.example"})
                .findings,
            "tlsrpt.record", CheckStatus::Fail, "2 TXT records"));
  CHECK(has(parse_tlsrpt_records({"v=spf1 -all"}).findings, "tlsrpt.record", CheckStatus::Fail,
            "no TXT record starting with 'v=TLSRPTv1'"));
  CHECK(has(parse_tlsrpt_records({"v=tlsrptv1; rua=mailto:a@b.example"}).findings, "tlsrpt.record",
            CheckStatus::Fail, "exactly"));
}

TEST_CASE("an mx pattern with a trailing dot fails (RFC 8461 3.2 ABNF)") {
  ParsedPolicy p =
      parse_policy_body("version: STSv1\r\nmode: enforce\r\nmx: mail.example.net.\r\nmax_age: 604800\r\n");
  CHECK_FALSE(p.valid);
  CHECK(p.mx.empty());
  auto found = std::find_if(p.findings.begin(), p.findings.end(), [](const Finding& f) {
    return f.status == CheckStatus::Fail && f.message.find("ends with a dot") != std::string::npos;
  });
  REQUIRE(found != p.findings.end());
  CHECK(found->check_name == "policy.syntax");
  CHECK(found->message ==
        "line 3: mx 'mail.example.net.' ends with a dot; senders match no MX host against it");
  CHECK(found->fix_hint == "write the name without the final dot, e.g. 'mx: mail.example.net'");
}
