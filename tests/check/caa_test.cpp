// CAA evaluation (RFC 8659) on hand-made answers (no network).
#include "check/caa.h"
#include "check/dns_answers.h"

#include <catch2/catch.hpp>

using namespace stsctl;
using stsctl::test::ok;
using stsctl::test::status;

namespace {

CaaInput input(std::vector<DnsAnswer> answers, const std::string& organization = "Let's Encrypt") {
  CaaInput in;
  in.host = "mta-sts.example.net";
  in.names = caa_search_names(in.host);
  in.answers = std::move(answers);
  in.certificate_seen = true;
  in.certificate_issuer = "/C=US/O=" + organization + "/CN=R3";
  in.issuer_organization = organization;
  return in;
}

}  // namespace

TEST_CASE("caa: names searched climb to the last label") {
  CHECK(caa_search_names("mta-sts.Example.NET.") ==
        std::vector<std::string>{"mta-sts.example.net", "example.net", "net"});
}

TEST_CASE("caa: record text and issue values") {
  auto record = parse_caa_text("128 issue letsencrypt.org; accounturi=https://x");
  REQUIRE(record);
  CHECK(record->flags == 128);
  CHECK(record->tag == "issue");
  CHECK(record->value == "letsencrypt.org; accounturi=https://x");
  CHECK_FALSE(parse_caa_text("0 issue"));
  CHECK_FALSE(caa_issue_value_error("letsencrypt.org"));
  CHECK_FALSE(caa_issue_value_error(";"));
  CHECK_FALSE(caa_issue_value_error(" pki.goog ; a=b ; c=d"));
  CHECK(caa_issue_value_error("lets encrypt") ==
        std::optional<std::string>("'lets encrypt' is not a domain name"));
  CHECK(caa_issue_value_error("-ca.example") ==
        std::optional<std::string>("'-ca.example' is not a domain name"));
  CHECK(caa_issue_value_error("ca.example; novalue") ==
        std::optional<std::string>("parameter 'novalue' is not tag=value"));
  CHECK(caa_domains_for_issuer("Let's Encrypt") == std::vector<std::string>{"letsencrypt.org"});
  CHECK(caa_domains_for_issuer("Example Private CA").empty());
}

TEST_CASE("caa: no record anywhere says nothing") {
  CHECK(
      evaluate_caa(input({status(DnsStatus::NoData), status(DnsStatus::NxDomain), status(DnsStatus::NoData)}))
          .empty());
}

TEST_CASE("caa: the closest non-empty set decides (RFC 8659 3)") {
  auto findings = evaluate_caa(
      input({status(DnsStatus::NoData), ok({"0 issue letsencrypt.org", "0 iodef mailto:x@example.net"}),
             ok({"0 issue digicert.com"})}));
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].status == CheckStatus::Pass);
  CHECK(findings[0].message ==
        "CAA at example.net allows letsencrypt.org, the issuer of the served certificate");
}

TEST_CASE("caa: an issuer not listed is a warning: renewal will fail") {
  auto findings = evaluate_caa(input({ok({"0 issue digicert.com", "0 issue pki.goog"})}));
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].status == CheckStatus::Warn);
  CHECK(findings[0].message ==
        "CAA at mta-sts.example.net allows digicert.com, pki.goog but the served certificate is from "
        "/C=US/O=Let's Encrypt/CN=R3 (letsencrypt.org); renewal will fail");
  CHECK(findings[0].fix_hint ==
        "add mta-sts.example.net CAA 0 issue \"letsencrypt.org\" or switch to an allowed CA");
}

TEST_CASE("caa: issue \";\" allows no CA") {
  auto findings = evaluate_caa(input({ok({"0 issue ;"})}));
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].message ==
        "CAA at mta-sts.example.net allows no CA to issue for mta-sts.example.net; the certificate from "
        "/C=US/O=Let's Encrypt/CN=R3 cannot be renewed");
}

TEST_CASE("caa: malformed records and critical unknown tags are reported") {
  auto findings = evaluate_caa(
      input({ok({"0 issue letsencrypt.org", "0 issue lets encrypt", "128 tbs x", "0 bad_tag x"})}));
  REQUIRE(findings.size() == 4);
  CHECK(findings[0].status == CheckStatus::Warn);
  CHECK(findings[0].message ==
        "malformed CAA record at mta-sts.example.net: issue \"lets encrypt\" ('lets encrypt' is not a domain "
        "name)");
  CHECK(findings[1].message ==
        "CAA record at mta-sts.example.net has the critical flag on unknown tag 'tbs'; CAs must refuse to "
        "issue");
  CHECK(findings[2].message == "malformed CAA record at mta-sts.example.net: '0 bad_tag x'");
  CHECK(findings[2].fix_hint ==
        "the tag must be 1-15 letters or digits (RFC 8659 4.1); fix or delete the record");
  CHECK(findings[3].status == CheckStatus::Pass);
}

TEST_CASE("caa: an unknown issuer cannot be judged; a failed lookup is said") {
  auto unknown = evaluate_caa(input({ok({"0 issue letsencrypt.org"})}, "Example Private CA"));
  REQUIRE(unknown.size() == 1);
  CHECK(unknown[0].message ==
        "CAA at mta-sts.example.net allows letsencrypt.org; cannot tell whether /C=US/O=Example Private "
        "CA/CN=R3 "
        "is one of them");
  auto failed =
      evaluate_caa(input({status(DnsStatus::NoData), status(DnsStatus::ServFail, "SERVFAIL from x")}));
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].message ==
        "CAA lookup of example.net failed (SERVFAIL: SERVFAIL from x); cannot tell which CAs may issue for "
        "mta-sts.example.net");
  // Above the domain a refusal (authoritative-only server) ends the climb quietly.
  CHECK(
      evaluate_caa(input({status(DnsStatus::NoData), status(DnsStatus::NoData), status(DnsStatus::Refused)}))
          .empty());
}
