#include "cli/init_from_dns.h"

#include "check/policy_parse.h"
#include "policy/policy.h"

#include <catch2/catch.hpp>

using namespace stsctl;

namespace {

DnsAnswer ok(std::vector<std::string> records, std::vector<std::string> chain = {}) {
  DnsAnswer answer;
  answer.status = DnsStatus::Ok;
  answer.records = std::move(records);
  answer.cname_chain = std::move(chain);
  return answer;
}

DnsAnswer none() {
  DnsAnswer answer;
  answer.status = DnsStatus::NxDomain;
  return answer;
}

/// A hand-made policy domain serving `body`.
PublishedDomain policy_domain(const std::string& domain, const std::string& body) {
  PublishedDomain published;
  published.domain = domain;
  published.mx = ok({"10 mail." + domain});
  published.sts_txt = ok({"v=STSv1; id=42"});
  published.tlsrpt_txt = none();
  published.host_a = ok({"192.0.2.1"});
  published.host_aaaa = ok({"2001:db8::1"});
  published.caa_status = none();
  published.policy_fetched = true;
  published.policy.transport_ok = true;
  published.policy.status = 200;
  published.policy.url = "https://mta-sts." + domain + "/.well-known/mta-sts.txt";
  published.policy.body = body;
  return published;
}

PublishedDomain alias_domain(const std::string& domain, const std::string& target) {
  PublishedDomain published;
  published.domain = domain;
  published.mx = ok({"10 mail." + target});
  published.sts_txt = ok({"v=STSv1; id=42"}, {"_mta-sts." + target});
  published.tlsrpt_txt = none();
  published.host_a = ok({"192.0.2.1"}, {"www." + target});  // not mta-sts.<target>
  published.host_aaaa = none();
  published.caa_status = none();
  return published;
}

const std::string k_canonical = "version: STSv1\r\nmode: testing\r\nmx: mail.a.example\r\nmax_age: 86400\r\n";

}  // namespace

TEST_CASE("config_from_published: a policy domain, an alias, and what differs from stsctl's form", "[init]") {
  auto a = policy_domain("a.example",
                         "version: STSv1\r\nmx: mail.a.example\r\nmode: testing\r\nmax_age: 86400\r\n");
  a.tlsrpt_txt = ok({"v=TLSRPTv1; rua=ftp://nowhere"});
  auto b = alias_domain("b.example", "a.example");
  InitResult result = config_from_published({a, b}, "", "header");
  REQUIRE(result.errors.empty());
  ParsedTlsRpt tlsrpt = parse_tlsrpt_records({"v=TLSRPTv1; rua=ftp://nowhere"});
  REQUIRE_FALSE(tlsrpt.findings.empty());
  CHECK(
      result.notes ==
      std::vector<std::string>{
          "a.example: the live policy file is not in canonical form (its lines are in another order than "
          "stsctl's (version, mode, sorted mx, max_age)): apply serves the canonical bytes, and new bytes "
          "take a new id",
          "a.example: live id 42: plan shows how stsctl adopts it",
          "a.example: _smtp._tls.a.example TXT is not a valid TLS-RPT record (" + tlsrpt.findings[0].message +
              "): left out, so plan shows its deletion; set tlsrpt.rua to keep reports",
          "b.example: mta-sts.b.example is not a CNAME to mta-sts.a.example: as an alias of a.example, apply "
          "makes it one"});
  CHECK(result.config_text ==
        "# header\n"
        "# What these domains publish today. TTLs cannot be read reliably through a\n"
        "# resolver: set ttl to your zone's (plan shows any TTL it would change).\n"
        "version: 1\ndefaults:\n  ttl: 3600\n"
        "  # provider: NAME   # the key of your DNS provider under providers:\n"
        "domains:\n"
        "  a.example:\n"
        "    mx: [\"mail.a.example\"]\n"
        "    policy: {mode: testing, max_age: 86400}\n"
        "    policy_host: {ipv4: [\"192.0.2.1\"], ipv6: [\"2001:db8::1\"]}\n"
        "  b.example: {alias_of: a.example}\n"
        "# providers:   # the DNS server plan and apply read and write; see stsctl.yaml(5)\n"
        "#   NAME: {type: powerdns, url: \"http://127.0.0.1:8081\", api_key_file: pdns.key}\n"
        "#   NAME: {type: rfc2136, server: \"ns1.example.net:53\",\n"
        "#          tsig: {name: KEY, algorithm: hmac-sha256, secret_file: tsig.secret}}\n"
        "# publish: {webroot: /var/www/mta-sts}   # where the policy files are served from\n");
  CHECK(alias_target(b) == "a.example");
  CHECK(alias_target(a).empty());
}

TEST_CASE("config_from_published: LF line endings, no MTA-STS yet, a CNAMEd host with quoted values",
          "[init]") {
  std::string lf = k_canonical;
  for (size_t at; (at = lf.find("\r\n")) != std::string::npos;) {
    lf.erase(at, 1);
  }
  auto a = policy_domain("a.example", lf);
  a.host_a = ok({"192.0.2.1"}, {"web.example.net"});
  PublishedDomain fresh;
  fresh.domain = "c.example";
  fresh.mx = ok({"20 mx2.c.example", "10 mx1.c.example"});
  fresh.sts_txt = none();
  fresh.tlsrpt_txt = ok({"v=TLSRPTv1; rua=mailto:a\"b@c.example"});
  fresh.host_a = none();
  fresh.host_aaaa = none();
  fresh.caa_status = none();
  InitResult result = config_from_published({a, fresh}, "my dns", "h");
  REQUIRE(result.errors.empty());
  CHECK(result.notes ==
        std::vector<std::string>{
            "a.example: the live policy file is not in canonical form (LF line endings where "
            "RFC 8461 section 3.2 has CRLF): apply serves the canonical bytes, and new bytes "
            "take a new id",
            "a.example: live id 42: plan shows how stsctl adopts it",
            "c.example: publishes no MTA-STS yet: mx comes from its MX records, the policy from "
            "the defaults (mode testing)",
            "c.example: mta-sts.c.example has no address: set policy_host (ipv4/ipv6 or cname) "
            "before apply"});
  const std::string& text = result.config_text;
  CHECK(text.find("  provider: \"my dns\"\n") != std::string::npos);
  CHECK(text.find("  a.example:\n    mx: [\"mail.a.example\"]\n    policy: {mode: testing, max_age: 86400}\n"
                  "    policy_host: {cname: \"web.example.net\"}\n  c.example:\n") != std::string::npos);
  CHECK(text.find("  c.example:\n    mx: [\"mx1.c.example\", \"mx2.c.example\"]\n"
                  "    tlsrpt: {rua: [\"mailto:a\\\"b@c.example\"]}\n#") != std::string::npos);
}

TEST_CASE("config_from_published errors, verbatim; nothing is written", "[init]") {
  auto failed = policy_domain("a.example", k_canonical);
  failed.sts_txt.status = DnsStatus::ServFail;
  failed.sts_txt.error = "SERVFAIL from the system resolver";
  failed.caa_status.status = DnsStatus::Timeout;
  auto bad_id = policy_domain("b.example", k_canonical);
  bad_id.sts_txt = ok({"v=STSv1; id=not-an-id!"});
  auto missing = policy_domain("c.example", k_canonical);
  missing.policy.status = 404;
  auto invalid = policy_domain("d.example", "version: STSv1\r\nmode: sometimes\r\nmax_age: 86400\r\n");
  auto orphan = alias_domain("e.example", "f.example");
  auto unfetched = policy_domain("g.example", k_canonical);
  unfetched.policy.transport_ok = false;
  unfetched.policy.error = "SSL certificate problem: unable to get local issuer certificate";
  InitResult result = config_from_published({failed, bad_id, missing, invalid, orphan, unfetched}, "", "h");
  CHECK(result.config_text.empty());
  ParsedStsRecord sts = parse_sts_records({"v=STSv1; id=not-an-id!"});
  std::string sts_why;
  for (const auto& finding : sts.findings) {
    if (finding.status == CheckStatus::Fail && sts_why.empty()) {
      sts_why = finding.message;
    }
  }
  ParsedPolicy policy = parse_policy_body("version: STSv1\r\nmode: sometimes\r\nmax_age: 86400\r\n");
  std::string policy_why;
  for (const auto& finding : policy.findings) {
    if (finding.status == CheckStatus::Fail && policy_why.empty()) {
      policy_why = finding.message;
    }
  }
  const std::string tail = " must serve it with a valid certificate (--ca-file for a private CA)";
  CHECK(result.errors ==
        std::vector<std::string>{
            "failed to look up '_mta-sts.a.example' TXT (SERVFAIL from the system resolver); init writes "
            "nothing "
            "until every lookup answers: try again, or pass --resolver",
            "failed to look up 'mta-sts.a.example' CAA (timeout); init writes nothing until every lookup "
            "answers: try again, or pass --resolver",
            "failed to adopt '_mta-sts.b.example' TXT (" + sts_why +
                "): senders ignore it; fix the record by hand first, or delete it and let stsctl publish one",
            "failed to fetch 'https://mta-sts.c.example/.well-known/mta-sts.txt' (HTTP 404): init reproduces "
            "the "
            "live policy, so https://mta-sts.c.example" +
                tail,
            "failed to adopt 'https://mta-sts.d.example/.well-known/mta-sts.txt' (" + policy_why +
                "): senders reject this policy; fix the file by hand first",
            "failed to adopt 'e.example' (_mta-sts.e.example is a CNAME to _mta-sts.f.example, and f.example "
            "is "
            "not a policy domain here): list the domain that publishes the policy too",
            "failed to fetch 'https://mta-sts.g.example/.well-known/mta-sts.txt' (SSL certificate problem: "
            "unable to get local issuer certificate): init reproduces the live policy, so "
            "https://mta-sts.g.example" +
                tail});
}
