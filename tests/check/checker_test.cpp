// run_checks against real servers on loopback: BIND (zones with the records of
// several fixture domains), nginx (policy hosts with a test CA) and Exim
// (SMTP with STARTTLS). One good domain passes; each broken one is detected
// with the right reason.
#include "check/checker.h"
#include "check/smtp_starttls.h"
#include "policy/policy.h"
#include "support/named_server.h"
#include "support/nginx_server.h"
#include "support/smtp_server.h"
#include "support/test_ca.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <memory>

using namespace stsctl;
using namespace stsctl::test;

namespace {

const std::string k_zone = "check.test";
const std::string k_id = "20240101000000";

std::string d(const std::string& label) { return label + "." + k_zone; }

std::string policy_for(const std::string& mx, PolicyMode mode = PolicyMode::Testing,
                       uint32_t max_age = 86400) {
  return policy_text(make_policy(mode, max_age, {mx}));
}

// Standard records of a fixture domain whose MX is `mx_label`.check.test.
std::string domain_records(const std::string& label, const std::string& mx_label, bool tlsrpt = true,
                           const std::string& sts = "\"v=STSv1; id=" + k_id + "\"") {
  std::string r;
  r += "_mta-sts." + label + " TXT " + sts + "\n";
  if (tlsrpt) {
    r += "_smtp._tls." + label + " TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@" + d(label) + "\"\n";
  }
  r += "mta-sts." + label + " A 127.0.0.1\n";
  r += label + " MX 10 " + mx_label + "\n";
  return r;
}

NginxHost nginx_host(const std::string& name) {
  NginxHost host;
  host.host = name;
  return host;
}

struct Fixture {
  TestCa smtp_ca{"stsctl SMTP Test CA"};
  std::unique_ptr<SmtpServer> mx_good;
  std::unique_ptr<SmtpServer> mx_expired;
  std::unique_ptr<SmtpServer> mx_wrongname;
  std::unique_ptr<SmtpServer> mx_plain;
  std::unique_ptr<NginxServer> nginx;
  std::unique_ptr<NamedServer> named;

  Fixture() {
    mx_good = std::make_unique<SmtpServer>(
        smtp_ca, SmtpServerOptions{d("mx-good"), true, {}, TestCa::Validity::Valid});
    mx_expired = std::make_unique<SmtpServer>(
        smtp_ca, SmtpServerOptions{d("mx-expired"), true, {}, TestCa::Validity::Expired});
    mx_wrongname = std::make_unique<SmtpServer>(
        smtp_ca, SmtpServerOptions{d("mx-wrongname"), true, {d("other")}, TestCa::Validity::Valid});
    mx_plain = std::make_unique<SmtpServer>(
        smtp_ca, SmtpServerOptions{d("mx-plain"), false, {}, TestCa::Validity::Valid});

    std::vector<NginxHost> hosts;
    for (const char* label : {"good", "twosts", "badid", "uncovered", "smtpexpired", "smtpwrongname",
                              "nostarttls", "typo", "alias", "caa"}) {
      hosts.push_back(nginx_host("mta-sts." + d(label)));
    }
    NginxHost redirect = nginx_host("mta-sts." + d("redirect"));
    redirect.redirect = "https://www." + d("redirect") + "/mta-sts.txt";
    hosts.push_back(redirect);
    NginxHost ctype = nginx_host("mta-sts." + d("ctype"));
    ctype.content_type = "text/html";
    hosts.push_back(ctype);
    NginxHost notfound = nginx_host("mta-sts." + d("notfound"));
    notfound.status = 404;
    hosts.push_back(notfound);
    NginxHost expired = nginx_host("mta-sts." + d("httpsexpired"));
    expired.validity = TestCa::Validity::Expired;
    hosts.push_back(expired);
    NginxHost wrongname = nginx_host("mta-sts." + d("httpswrongname"));
    wrongname.cert_names = {"mta-sts." + d("other")};
    hosts.push_back(wrongname);
    nginx = std::make_unique<NginxServer>(hosts);

    const std::string good_policy = policy_for(d("mx-good"));
    for (const char* label : {"good", "twosts", "badid", "typo", "redirect", "ctype", "notfound",
                              "httpsexpired", "httpswrongname", "alias", "caa"}) {
      nginx->write_policy("mta-sts." + d(label), good_policy);
    }
    nginx->write_policy("mta-sts." + d("uncovered"), policy_for(d("mx-other")));
    nginx->write_policy("mta-sts." + d("smtpexpired"), policy_for(d("mx-expired")));
    nginx->write_policy("mta-sts." + d("smtpwrongname"), policy_for(d("mx-wrongname")));
    nginx->write_policy("mta-sts." + d("nostarttls"), policy_for(d("mx-plain")));

    std::string records;
    records += domain_records("good", "mx-good");
    records += domain_records("twosts", "mx-good");
    records += "_mta-sts.twosts TXT \"v=STSv1; id=20240202000000\"\n";
    records += domain_records("badid", "mx-good", true, "\"v=STSv1; id=2024-01-01\"");
    records += domain_records("uncovered", "mx-good");
    records += domain_records("smtpexpired", "mx-expired");
    records += domain_records("smtpwrongname", "mx-wrongname");
    records += domain_records("nostarttls", "mx-plain");
    records += domain_records("typo", "mx-good", false);
    records += "_smtp_tls.typo TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@" + d("typo") + "\"\n";
    for (const char* label : {"redirect", "ctype", "notfound", "httpsexpired", "httpswrongname"}) {
      records += domain_records(label, "mx-good");
    }
    // An alias domain: CNAMEs to good.check.test, as stsctl publishes them.
    records += "_mta-sts.alias CNAME _mta-sts.good\n_smtp._tls.alias CNAME _smtp._tls.good\n";
    records += "mta-sts.alias CNAME mta-sts.good\nalias MX 10 mx-good\n";
    // CAA at the policy host (RFC 8659): one usable, one malformed issue value.
    records += domain_records("caa", "mx-good");
    records +=
        "mta-sts.caa CAA 0 issue \"letsencrypt.org\"\nmta-sts.caa CAA 0 issue \"example.net; bad param\"\n";
    // Eight 250-byte strings: more than a 1232-byte EDNS UDP answer holds.
    records += "big TXT";
    for (int i = 0; i < 8; ++i) {
      records += " \"" + std::string(250, 'x') + "\"";
    }
    records += "\n";
    records += "_mta-sts.nomx TXT \"v=STSv1; id=" + k_id + "\"\nmta-sts.nomx A 127.0.0.1\n";
    for (const char* mx : {"mx-good", "mx-expired", "mx-wrongname", "mx-plain"}) {
      records += std::string(mx) + " A 127.0.0.1\n";
    }
    named = std::make_unique<NamedServer>(std::vector<ZoneSpec>{{k_zone, records}});
  }

  CheckOptions options() const {
    CheckOptions o;
    o.dns.resolver = "127.0.0.1:" + std::to_string(named->port());
    o.dns.timeout_seconds = 3;
    o.fetch = nginx->fetch_options();
    // Names without an nginx host still go to loopback only.
    for (const char* label : {"missing", "nomx"}) {
      o.fetch.connect_to["mta-sts." + d(label) + ":443"] = "127.0.0.1:" + std::to_string(nginx->port());
    }
    o.smtp_options.ca_file = smtp_ca.ca_file();
    o.smtp_options.timeout_seconds = 10;
    o.smtp_options.connect_to[d("mx-good")] = mx_good->address();
    o.smtp_options.connect_to[d("mx-expired")] = mx_expired->address();
    o.smtp_options.connect_to[d("mx-wrongname")] = mx_wrongname->address();
    o.smtp_options.connect_to[d("mx-plain")] = mx_plain->address();
    o.expiry_warn_days = 3;  // test leaves live 7 days
    return o;
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

/// DNS straight to the fixture's authoritative server.
DnsOptions fixture_dns_options() {
  DnsOptions options;
  options.resolver = "127.0.0.1:" + std::to_string(fixture().named->port());
  return options;
}

const DomainReport& domain(const CheckReport& report, const std::string& name) {
  auto it = std::find_if(report.domains.begin(), report.domains.end(),
                         [&](const DomainReport& r) { return r.domain == name; });
  REQUIRE(it != report.domains.end());
  return *it;
}

const Finding* find(const DomainReport& r, const std::string& check, CheckStatus status,
                    const std::string& text = "") {
  auto it = std::find_if(r.findings.begin(), r.findings.end(), [&](const Finding& f) {
    return f.check_name == check && f.status == status && f.message.find(text) != std::string::npos;
  });
  return it == r.findings.end() ? nullptr : &*it;
}

std::string dump(const DomainReport& r) {
  CheckReport one;
  one.domains.push_back(r);
  return format_check_table(one, false);
}

CheckTarget target(const std::string& label) {
  CheckTarget t;
  t.domain = d(label);
  return t;
}

}  // namespace

TEST_CASE("check: a good domain passes everything, including drift against config and state",
          "[check][live]") {
  Fixture& f = fixture();
  CheckTarget t = target("good");
  t.expected_policy = policy_for(d("mx-good"));
  t.expected_id = k_id;
  t.tlsrpt_required = true;
  CheckReport report = run_checks(f.options(), {t});
  const DomainReport& r = domain(report, d("good"));
  INFO(dump(r));
  CHECK(r.worst() == CheckStatus::Pass);
  CHECK(check_exit_code(report) == 0);
  for (const char* check :
       {"sts.record", "sts.id", "drift.id", "tlsrpt.record", "mx.records", "policy_host.dns",
        "policy.certificate", "policy.fetch", "policy.content_type", "policy.syntax", "policy.max_age",
        "policy.mx_coverage", "drift.policy", "smtp.starttls", "smtp.tls", "smtp.certificate_chain",
        "smtp.certificate_name", "smtp.certificate_expiry"}) {
    INFO(check);
    CHECK(find(r, check, CheckStatus::Pass));
  }
  CHECK(find(r, "smtp.tls", CheckStatus::Pass, "TLSv1."));
  auto json = nlohmann::json::parse(check_report_json(report));
  CHECK(json["exit_code"] == 0);
  CHECK(json["domains"][0]["status"] == "pass");
}

TEST_CASE("check: broken fixtures are each detected with the right reason", "[check][live]") {
  Fixture& f = fixture();
  std::vector<CheckTarget> targets;
  for (const char* label :
       {"twosts", "badid", "redirect", "ctype", "notfound", "httpsexpired", "httpswrongname", "uncovered",
        "smtpexpired", "smtpwrongname", "nostarttls", "typo", "missing", "nomx"}) {
    targets.push_back(target(label));
  }
  CheckTarget drift = target("good");
  drift.expected_id = "20990101000000";
  drift.expected_policy = policy_for(d("mx-good"), PolicyMode::Enforce, 604800);
  targets.push_back(drift);
  CheckOptions options = f.options();
  options.smtp_parallel = 3;
  CheckReport report = run_checks(options, targets);
  REQUIRE(report.domains.size() == targets.size());
  CHECK(check_exit_code(report) == 2);
  for (const auto& r : report.domains) {
    INFO(dump(r));
    CHECK(r.worst() == CheckStatus::Fail);
  }

  {
    const DomainReport& r = domain(report, d("twosts"));
    INFO(dump(r));
    CHECK(find(r, "sts.record", CheckStatus::Fail, "2 TXT records start with 'v=STSv1'"));
  }
  {
    const DomainReport& r = domain(report, d("badid"));
    INFO(dump(r));
    CHECK(find(r, "sts.id", CheckStatus::Fail, "id '2024-01-01' is not 1-32 letters and digits"));
  }
  {
    const DomainReport& r = domain(report, d("redirect"));
    INFO(dump(r));
    CHECK(find(r, "policy.fetch", CheckStatus::Fail,
               "301 redirect to 'https://www.redirect.check.test/mta-sts.txt'"));
  }
  {
    const DomainReport& r = domain(report, d("ctype"));
    INFO(dump(r));
    CHECK(find(r, "policy.content_type", CheckStatus::Fail, "Content-Type is 'text/html'"));
  }
  {
    const DomainReport& r = domain(report, d("notfound"));
    INFO(dump(r));
    CHECK(find(r, "policy.fetch", CheckStatus::Fail, "404 Not Found"));
  }
  {
    const DomainReport& r = domain(report, d("httpsexpired"));
    INFO(dump(r));
    CHECK(find(r, "policy.certificate", CheckStatus::Fail, "is not valid"));
  }
  {
    const DomainReport& r = domain(report, d("httpswrongname"));
    INFO(dump(r));
    CHECK(find(r, "policy.certificate", CheckStatus::Fail, "is not valid"));
  }
  {
    const DomainReport& r = domain(report, d("uncovered"));
    INFO(dump(r));
    CHECK(find(r, "policy.mx_coverage", CheckStatus::Fail, "MX mx-good.check.test matches no mx pattern"));
    CHECK(find(r, "policy.mx_unused", CheckStatus::Warn, "mx-other.check.test"));
  }
  {
    const DomainReport& r = domain(report, d("smtpexpired"));
    INFO(dump(r));
    CHECK(find(r, "smtp.certificate_chain", CheckStatus::Fail, "certificate has expired"));
    CHECK(find(r, "smtp.certificate_expiry", CheckStatus::Fail, "expired"));
    CHECK(find(r, "smtp.certificate_name", CheckStatus::Pass));
  }
  {
    const DomainReport& r = domain(report, d("smtpwrongname"));
    INFO(dump(r));
    CHECK(find(r, "smtp.certificate_name", CheckStatus::Fail,
               "is not valid for the name mx-wrongname.check.test"));
    CHECK(find(r, "smtp.certificate_chain", CheckStatus::Pass));
  }
  {
    const DomainReport& r = domain(report, d("nostarttls"));
    INFO(dump(r));
    CHECK(find(r, "smtp.starttls", CheckStatus::Fail, "mx-plain.check.test does not offer STARTTLS"));
  }
  {
    const DomainReport& r = domain(report, d("typo"));
    INFO(dump(r));
    CHECK(find(r, "tlsrpt.misplaced", CheckStatus::Fail, "_smtp_tls.typo.check.test"));
  }
  {
    const DomainReport& r = domain(report, d("missing"));
    INFO(dump(r));
    CHECK(find(r, "sts.record", CheckStatus::Fail, "NXDOMAIN"));
    CHECK(find(r, "mx.records", CheckStatus::Fail, "NXDOMAIN"));
  }
  {
    const DomainReport& r = domain(report, d("nomx"));
    INFO(dump(r));
    CHECK(find(r, "mx.records", CheckStatus::Fail, "NODATA"));
    CHECK(find(r, "sts.record", CheckStatus::Pass));
  }
  {
    const DomainReport& r = domain(report, d("good"));
    INFO(dump(r));
    CHECK(find(r, "drift.id", CheckStatus::Fail, "differs from the id in state (20990101000000)"));
    CHECK(find(r, "drift.policy", CheckStatus::Fail, "differs from the configured one"));
  }
  std::string table = format_check_table(report, false);
  CHECK(table.find("fix: ") != std::string::npos);
}

TEST_CASE("check: alias domains follow CNAMEs to the policy domain", "[check][live]") {
  Fixture& f = fixture();
  CheckTarget t = target("alias");
  t.alias_of = d("good");
  t.expected_id = k_id;
  CheckReport report = run_checks(f.options(), {t});
  const DomainReport& r = domain(report, d("alias"));
  INFO(dump(r));
  CHECK(r.worst() == CheckStatus::Pass);
  CHECK(find(r, "alias.cname", CheckStatus::Pass, "is a CNAME to _mta-sts.good.check.test"));
  CHECK(find(r, "sts.record", CheckStatus::Pass,
             "via CNAME _mta-sts.alias.check.test -> _mta-sts.good.check.test"));
  CHECK(find(r, "drift.id", CheckStatus::Pass));
}

TEST_CASE("check: a DNS timeout is reported as such, not as a missing record", "[check][live]") {
  Fixture& f = fixture();
  CheckOptions options = f.options();
  options.dns.resolver = "127.0.0.1:" + std::to_string(free_port(true));  // nothing listens there
  options.dns.timeout_seconds = 0.5;
  options.smtp = false;
  auto start = std::chrono::steady_clock::now();
  CheckReport report = run_checks(options, {target("good")});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const DomainReport& r = domain(report, d("good"));
  INFO(dump(r));
  const Finding* sts = find(r, "sts.record", CheckStatus::Fail, "not the same as a missing record");
  REQUIRE(sts);
  CHECK(sts->message.find("NXDOMAIN") == std::string::npos);
  CHECK(find(r, "mx.records", CheckStatus::Fail, "timed out"));
  CHECK(seconds < 30);
}

TEST_CASE("check: DNS lookups follow CNAMEs and tell NXDOMAIN from NODATA", "[check][live]") {
  DnsLookup dns(fixture_dns_options());
  DnsAnswer txt = dns.lookup("_mta-sts." + d("alias"), "TXT");
  REQUIRE(txt.status == DnsStatus::Ok);
  CHECK(txt.records == std::vector<std::string>{"v=STSv1; id=" + k_id});
  CHECK(txt.cname_chain == std::vector<std::string>{"_mta-sts." + d("good")});
  CHECK(dns.lookup("nothing-here." + d("good"), "TXT").status == DnsStatus::NxDomain);
  CHECK(dns.lookup("mta-sts." + d("good"), "TXT").status == DnsStatus::NoData);
  DnsAnswer mx = dns.lookup(d("good"), "MX");
  REQUIRE(mx.status == DnsStatus::Ok);
  CHECK(mx.records == std::vector<std::string>{"10 mx-good.check.test"});
  // Not served here: the authoritative server refuses.
  DnsAnswer other = dns.lookup("example.org", "TXT");
  CHECK(other.status == DnsStatus::Refused);

  // Many at once on one socket, answers in the order asked, CNAMEs followed
  // per query.
  std::vector<DnsQuery> queries;
  for (int i = 0; i < 600; ++i) {
    queries.push_back(i % 3 == 0   ? DnsQuery{"_mta-sts." + d("good"), "TXT"}
                      : i % 3 == 1 ? DnsQuery{"_mta-sts." + d("alias"), "TXT"}
                                   : DnsQuery{"nothing-" + std::to_string(i) + "." + d("good"), "A"});
  }
  size_t last_progress = 0;
  std::vector<DnsAnswer> answers =
      dns.lookup_many(queries, [&](size_t done, size_t total) { last_progress = done == total ? done : 0; });
  REQUIRE(answers.size() == queries.size());
  CHECK(last_progress == queries.size());
  for (size_t i = 0; i < answers.size(); ++i) {
    INFO(i);
    if (i % 3 == 2) {
      CHECK(answers[i].status == DnsStatus::NxDomain);
    } else {
      REQUIRE(answers[i].status == DnsStatus::Ok);
      CHECK(answers[i].records == std::vector<std::string>{"v=STSv1; id=" + k_id});
      CHECK(answers[i].cname_chain.size() == (i % 3 == 1 ? 1U : 0U));
    }
  }
}

TEST_CASE("check: a TXT answer too large for UDP is asked again over TCP", "[check][live]") {
  DnsLookup dns(fixture_dns_options());
  DnsAnswer big = dns.lookup(d("big"), "TXT");
  REQUIRE(big.status == DnsStatus::Ok);
  REQUIRE(big.records.size() == 1);
  CHECK(big.records[0] == std::string(8 * 250, 'x'));
}

TEST_CASE("check: CAA of the policy host is read and judged", "[check][live]") {
  Fixture& f = fixture();
  DnsLookup dns(fixture_dns_options());
  DnsAnswer caa = dns.lookup("mta-sts." + d("caa"), "CAA");
  REQUIRE(caa.status == DnsStatus::Ok);
  std::vector<std::string> records = caa.records;
  std::sort(records.begin(), records.end());
  CHECK(records == std::vector<std::string>{"0 issue example.net; bad param", "0 issue letsencrypt.org"});

  CheckOptions options = f.options();
  options.smtp = false;
  CheckReport report = run_checks(options, {target("caa")});
  const DomainReport& r = domain(report, d("caa"));
  INFO(dump(r));
  const Finding* malformed = find(r, "policy.caa", CheckStatus::Warn, "malformed");
  REQUIRE(malformed);
  CHECK(malformed->message ==
        "malformed CAA record at mta-sts.caa.check.test: issue \"example.net; bad param\" "
        "(parameter 'bad param' is not tag=value)");
  // The test CA is no public CA: check says it cannot tell.
  const Finding* unknown = find(r, "policy.caa", CheckStatus::Warn, "cannot tell whether");
  REQUIRE(unknown);
  CHECK(unknown->message.find(
            "CAA at mta-sts.caa.check.test allows letsencrypt.org; cannot tell whether /") == 0);
  CHECK(find(r, "policy.certificate_expiry", CheckStatus::Pass,
             "the certificate of mta-sts.caa.check.test expires in"));
}

TEST_CASE("check: HTTPS goes to the address the check's resolver gave", "[check][live]") {
  Fixture& f = fixture();
  CheckOptions options = f.options();
  options.smtp = false;
  // No connect_to: the name exists only in the test zone (mta-sts.good A
  // 127.0.0.1), where port 443 is closed. A lookup through the system
  // resolver would fail to resolve instead of failing to connect.
  options.fetch.connect_to.clear();
  CheckReport report = run_checks(options, {target("good")});
  const DomainReport& r = domain(report, d("good"));
  INFO(dump(r));
  const Finding* fetch = find(r, "policy.fetch", CheckStatus::Fail);
  REQUIRE(fetch);
  CHECK(fetch->message.find("could not resolve") == std::string::npos);
  CHECK(fetch->message.find("(failed to connect to 127.0.0.1:443 (Connection refused))") !=
        std::string::npos);
}

TEST_CASE("check: resolver addresses", "[check]") {
  CHECK(parse_resolver_address("127.0.0.1") == std::make_pair(std::string("127.0.0.1"), uint16_t{53}));
  CHECK(parse_resolver_address("127.0.0.1:5353") == std::make_pair(std::string("127.0.0.1"), uint16_t{5353}));
  CHECK(parse_resolver_address("::1") == std::make_pair(std::string("::1"), uint16_t{53}));
  CHECK(parse_resolver_address("[::1]:5353") == std::make_pair(std::string("::1"), uint16_t{5353}));
  CHECK_THROWS_AS(parse_resolver_address("resolver.example"), std::invalid_argument);
  CHECK_THROWS_AS(parse_resolver_address("127.0.0.1:99999"), std::invalid_argument);
  DnsOptions bad;
  bad.resolver = "not-an-ip";
  CHECK_THROWS(DnsLookup(bad));
}

TEST_CASE("check: MX host addresses come from the check's resolver", "[check][live]") {
  Fixture& f = fixture();
  CheckOptions options = f.options();
  options.smtp_options.connect_to.clear();  // mx-good.check.test A 127.0.0.1 in the test zone
  options.smtp_options.port = f.mx_good->port();
  CheckReport report = run_checks(options, {target("good")});
  const DomainReport& r = domain(report, d("good"));
  INFO(dump(r));
  CHECK(find(r, "smtp.certificate_name", CheckStatus::Pass, "mx-good.check.test"));
  CHECK(r.worst() == CheckStatus::Pass);
}

TEST_CASE("check: an SMTP connect_to mapping is read as host[:port] like every other address",
          "[check][live]") {
  Fixture& f = fixture();
  SmtpOptions options = f.options().smtp_options;
  // No port in the mapping: the probe's own port applies.
  options.port = f.mx_good->port();
  options.connect_to = {{d("mx-good"), "127.0.0.1"}};
  SmtpResult good = probe_smtp(d("mx-good"), options);
  CHECK(good.error == "");
  CHECK(good.address == "127.0.0.1:" + std::to_string(f.mx_good->port()));
  CHECK(good.starttls_offered);

  options.connect_to = {{d("mx-good"), "[127.0.0.1]:25"}};
  SmtpResult bad = probe_smtp(d("mx-good"), options);
  CHECK_FALSE(bad.connected);
  CHECK(bad.error ==
        "failed to parse connect_to '[127.0.0.1]:25' for 'mx-good.check.test' ('127.0.0.1' in brackets is "
        "not an IPv6 address); write it as addr:port, like 127.0.0.1:2525 or [::1]:2525");
}
