#include "records/desired.h"
#include "records/invariants.h"
#include "support/records_fixture.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <stdexcept>

using namespace stsctl;
using stsctl::test::sample_alias_domain;
using stsctl::test::sample_config;
using stsctl::test::sample_ids;
using stsctl::test::sample_policy_domain;

namespace {

const RRset* find(const std::vector<RRset>& rrsets, const std::string& owner, RRType type) {
  for (const auto& rrset : rrsets) {
    if (rrset.owner == owner && rrset.type == type) {
      return &rrset;
    }
  }
  return nullptr;
}

/// Runs check_invariants on every zone and asserts canonical order.
void require_valid(const std::map<std::string, std::vector<RRset>>& zones) {
  for (const auto& [zone, rrsets] : zones) {
    INFO("zone " << zone);
    CHECK(check_invariants(zone, rrsets).empty());
    CHECK(std::is_sorted(rrsets.begin(), rrsets.end(), canonical_less));
    for (const auto& rrset : rrsets) {
      CHECK(std::is_sorted(rrset.values.begin(), rrset.values.end()));
    }
  }
}

Config single(const DomainConfig& domain) {
  Config config;
  config.domains = {domain};
  return config;
}

}  // namespace

TEST_CASE("a primary domain gets TXT, TLS-RPT, A/AAAA and CAA", "[desired]") {
  auto zones =
      desired_records(single(sample_policy_domain("example.net")), {{"example.net", "20240101000000"}});
  require_valid(zones);
  REQUIRE(zones.size() == 1);
  const auto& rrsets = zones.at("example.net");
  REQUIRE(rrsets.size() == 5);

  const RRset* sts = find(rrsets, "_mta-sts.example.net.", RRType::TXT);
  REQUIRE(sts);
  CHECK(sts->values == std::vector<std::string>{"v=STSv1; id=20240101000000"});
  CHECK(sts->ttl == 3600);

  const RRset* tlsrpt = find(rrsets, "_smtp._tls.example.net.", RRType::TXT);
  REQUIRE(tlsrpt);
  CHECK(tlsrpt->values ==
        std::vector<std::string>{"v=TLSRPTv1; rua=mailto:tlsrpt@example.net,https://reports.example.net/v1"});

  const RRset* a = find(rrsets, "mta-sts.example.net.", RRType::A);
  REQUIRE(a);
  CHECK(a->values == std::vector<std::string>{"192.0.2.40"});
  const RRset* aaaa = find(rrsets, "mta-sts.example.net.", RRType::AAAA);
  REQUIRE(aaaa);
  CHECK(aaaa->values == std::vector<std::string>{"2001:db8::40"});
  const RRset* caa = find(rrsets, "mta-sts.example.net.", RRType::CAA);
  REQUIRE(caa);
  CHECK(caa->values ==
        std::vector<std::string>{"0 iodef \"mailto:sec@example.net\"", "0 issue \"letsencrypt.org\""});
  CHECK(find(rrsets, "mta-sts.example.net.", RRType::CNAME) == nullptr);
}

TEST_CASE("the TTL comes from the domain", "[desired]") {
  DomainConfig d = sample_policy_domain("example.net");
  d.ttl = 300;
  auto zones = desired_records(single(d), {{"example.net", "1"}});
  for (const auto& rrset : zones.at("example.net")) {
    CHECK(rrset.ttl == 300);
  }
}

TEST_CASE("no TLS-RPT record without rua", "[desired]") {
  DomainConfig d = sample_policy_domain("example.net");
  d.tlsrpt_rua.clear();
  auto zones = desired_records(single(d), {{"example.net", "1"}});
  require_valid(zones);
  CHECK(find(zones.at("example.net"), "_smtp._tls.example.net.", RRType::TXT) == nullptr);
  CHECK(zones.at("example.net").size() == 4);
}

TEST_CASE("rua URIs have ',', '!' and ';' percent-encoded (RFC 8460 3)", "[desired]") {
  DomainConfig d = sample_policy_domain("example.net");
  d.tlsrpt_rua = {"https://r.example.net/a,b;c!d"};
  auto zones = desired_records(single(d), {{"example.net", "1"}});
  const RRset* tlsrpt = find(zones.at("example.net"), "_smtp._tls.example.net.", RRType::TXT);
  REQUIRE(tlsrpt);
  CHECK(tlsrpt->values.at(0) == "v=TLSRPTv1; rua=https://r.example.net/a%2Cb%3Bc%21d");
}

TEST_CASE("a policy host CNAME replaces A/AAAA and suppresses CAA", "[desired]") {
  DomainConfig d = sample_policy_domain("example.net");
  d.policy_host = PolicyHost{};
  d.policy_host.cname = "Web.Example.COM";
  auto zones = desired_records(single(d), {{"example.net", "1"}});
  require_valid(zones);
  const auto& rrsets = zones.at("example.net");
  const RRset* cname = find(rrsets, "mta-sts.example.net.", RRType::CNAME);
  REQUIRE(cname);
  CHECK(cname->values == std::vector<std::string>{"web.example.com."});
  CHECK(find(rrsets, "mta-sts.example.net.", RRType::A) == nullptr);
  CHECK(find(rrsets, "mta-sts.example.net.", RRType::AAAA) == nullptr);
  CHECK(find(rrsets, "mta-sts.example.net.", RRType::CAA) == nullptr);
}

TEST_CASE("IPv6-only and several addresses", "[desired]") {
  DomainConfig d = sample_policy_domain("example.net");
  d.policy_host.ipv4.clear();
  d.policy_host.ipv6 = {"2001:db8::41", "2001:db8::40", "2001:db8::41"};
  auto zones = desired_records(single(d), {{"example.net", "1"}});
  require_valid(zones);
  const auto& rrsets = zones.at("example.net");
  CHECK(find(rrsets, "mta-sts.example.net.", RRType::A) == nullptr);
  const RRset* aaaa = find(rrsets, "mta-sts.example.net.", RRType::AAAA);
  REQUIRE(aaaa);
  CHECK(aaaa->values == std::vector<std::string>{"2001:db8::40", "2001:db8::41"});
}

TEST_CASE("aliases get CNAMEs to their primary's names, with their own TTL and zone", "[desired]") {
  Config config;
  DomainConfig alias = sample_alias_domain("example.org", "example.net");
  alias.ttl = 600;
  config.domains = {sample_policy_domain("example.net"), alias};
  auto zones = desired_records(config, {{"example.net", "7"}});
  require_valid(zones);
  REQUIRE(zones.size() == 2);
  const auto& rrsets = zones.at("example.org");
  REQUIRE(rrsets.size() == 3);
  const RRset* sts = find(rrsets, "_mta-sts.example.org.", RRType::CNAME);
  REQUIRE(sts);
  CHECK(sts->values == std::vector<std::string>{"_mta-sts.example.net."});
  CHECK(sts->ttl == 600);
  const RRset* tlsrpt = find(rrsets, "_smtp._tls.example.org.", RRType::CNAME);
  REQUIRE(tlsrpt);
  CHECK(tlsrpt->values == std::vector<std::string>{"_smtp._tls.example.net."});
  const RRset* host = find(rrsets, "mta-sts.example.org.", RRType::CNAME);
  REQUIRE(host);
  CHECK(host->values == std::vector<std::string>{"mta-sts.example.net."});
  for (const auto& rrset : rrsets) {
    CHECK(rrset.type == RRType::CNAME);
  }
}

TEST_CASE("an alias of a domain without TLS-RPT gets no _smtp._tls CNAME", "[desired]") {
  Config config;
  DomainConfig primary = sample_policy_domain("example.net");
  primary.tlsrpt_rua.clear();
  config.domains = {primary, sample_alias_domain("example.org", "example.net")};
  auto zones = desired_records(config, {{"example.net", "7"}});
  require_valid(zones);
  CHECK(zones.at("example.org").size() == 2);
  CHECK(find(zones.at("example.org"), "_smtp._tls.example.org.", RRType::CNAME) == nullptr);
}

TEST_CASE("the sample config: several zones, a sub-domain in its parent zone", "[desired]") {
  Config config = sample_config();
  auto ids = sample_ids(config);
  ids["shop.example.net"] = "2024010100";
  auto zones = desired_records(config, ids);
  require_valid(zones);
  CHECK(zones.size() == 4);
  CHECK(zones.count("example.com") == 1);
  CHECK(zones.count("example.org") == 1);
  CHECK(zones.count("old.example") == 1);
  CHECK(zones.count("shop.example.net") == 0);

  const auto& net = zones.at("example.net");
  // example.net: 5 RRsets; shop.example.net: _mta-sts TXT + mta-sts CNAME.
  REQUIRE(net.size() == 7);
  const RRset* shop = find(net, "_mta-sts.shop.example.net.", RRType::TXT);
  REQUIRE(shop);
  CHECK(shop->values == std::vector<std::string>{"v=STSv1; id=2024010100"});
  const RRset* shop_host = find(net, "mta-sts.shop.example.net.", RRType::CNAME);
  REQUIRE(shop_host);
  CHECK(shop_host->values == std::vector<std::string>{"web.example.net."});
  // Canonical order: example.net's names before shop.example.net's (reversed labels).
  CHECK(net.front().owner == "_mta-sts.example.net.");
  CHECK(net.back().owner == "mta-sts.shop.example.net.");

  // Retiring domains still publish their records (mode none is in the file, not DNS).
  CHECK(find(zones.at("old.example"), "_mta-sts.old.example.", RRType::TXT) != nullptr);
}

TEST_CASE("desired_records does not depend on the order of addresses and CAA entries in the config",
          "[desired]") {
  Config config = sample_config();
  auto ids = sample_ids(config);
  Config reordered = config;
  size_t reversed = 0;
  for (auto& domain : reordered.domains) {
    reversed += domain.caa.size() + domain.policy_host.ipv4.size() + domain.policy_host.ipv6.size();
    std::reverse(domain.caa.begin(), domain.caa.end());
    std::reverse(domain.policy_host.ipv4.begin(), domain.policy_host.ipv4.end());
    std::reverse(domain.policy_host.ipv6.begin(), domain.policy_host.ipv6.end());
  }
  REQUIRE(reversed > 3);  // the sample has something to reorder
  CHECK(desired_records(reordered, ids) == desired_records(config, ids));
}

TEST_CASE("a missing id names the domain", "[desired]") {
  Config config = sample_config();
  auto ids = sample_ids(config);
  ids.erase("old.example");
  CHECK_THROWS_WITH(desired_records(config, ids), Catch::Contains("old.example"));
  CHECK_THROWS_AS(desired_records(config, ids), std::invalid_argument);
}

TEST_CASE("an alias of an unknown domain is rejected", "[desired]") {
  Config config;
  config.domains = {sample_alias_domain("example.org", "missing.example")};
  CHECK_THROWS_AS(desired_records(config, {}), std::invalid_argument);
}

TEST_CASE("owned_rrsets lists exactly the eight RRsets", "[desired]") {
  auto owned = owned_rrsets("Example.NET.");
  REQUIRE(owned.size() == 8);
  std::vector<RRsetKey> expected = {
      {"_mta-sts.example.net.", RRType::TXT},   {"_mta-sts.example.net.", RRType::CNAME},
      {"_smtp._tls.example.net.", RRType::TXT}, {"_smtp._tls.example.net.", RRType::CNAME},
      {"mta-sts.example.net.", RRType::A},      {"mta-sts.example.net.", RRType::AAAA},
      {"mta-sts.example.net.", RRType::CNAME},  {"mta-sts.example.net.", RRType::CAA},
  };
  CHECK(owned == expected);
}

TEST_CASE("every desired RRset is owned by its domain", "[desired]") {
  Config config = sample_config();
  auto zones = desired_records(config, sample_ids(config));
  std::vector<RRsetKey> owned;
  for (const auto& domain : config.domains) {
    auto keys = owned_rrsets(domain.name);
    owned.insert(owned.end(), keys.begin(), keys.end());
  }
  for (const auto& [zone, rrsets] : zones) {
    for (const auto& rrset : rrsets) {
      INFO(rrset.owner << " " << to_string(rrset.type));
      CHECK(std::find(owned.begin(), owned.end(), RRsetKey{rrset.owner, rrset.type}) != owned.end());
    }
  }
}

TEST_CASE("is_owned_txt recognises stsctl's TXT values only", "[desired]") {
  CHECK(is_owned_txt("_mta-sts.example.net.", "v=STSv1; id=1"));
  CHECK(is_owned_txt("_mta-sts.example.net", "v=STSv1;id=1"));
  CHECK(is_owned_txt("_MTA-STS.example.net.", "v=STSv1"));
  CHECK(is_owned_txt("_mta-sts.example.net.", "v=STSv1 ; id=1"));
  CHECK_FALSE(is_owned_txt("_mta-sts.example.net.", "v=STSv10; id=1"));
  CHECK_FALSE(is_owned_txt("_mta-sts.example.net.", "v=stsv1; id=1"));
  CHECK_FALSE(is_owned_txt("_mta-sts.example.net.", "google-site-verification=abc"));
  CHECK_FALSE(is_owned_txt("_mta-sts.example.net.", "v=TLSRPTv1; rua=mailto:a@b.example"));
  CHECK(is_owned_txt("_smtp._tls.example.net.", "v=TLSRPTv1; rua=mailto:a@b.example"));
  CHECK(is_owned_txt("_smtp._tls.example.net.", "v=TLSRPTv1;rua=mailto:a@b.example"));
  CHECK_FALSE(is_owned_txt("_smtp._tls.example.net.", "v=STSv1; id=1"));
  CHECK_FALSE(is_owned_txt("_smtp._tls.example.net.", "v=TLSRPTv10; rua=x"));
  CHECK_FALSE(is_owned_txt("example.net.", "v=STSv1; id=1"));
  CHECK_FALSE(is_owned_txt("mta-sts.example.net.", "v=STSv1; id=1"));
}

TEST_CASE("domain_policies gives each policy domain its canonical file and hash", "[desired]") {
  Config config = sample_config();
  auto policies = domain_policies(config);
  REQUIRE(policies.size() == 3);
  CHECK(policies[0].domain == "example.net");
  CHECK(policies[0].text ==
        "version: STSv1\r\nmode: enforce\r\nmx: *.mx.example.net\r\nmx: mail.example.net\r\nmax_age: "
        "604800\r\n");
  CHECK(policies[0].hash == policy_hash(policies[0].policy));
  CHECK(policies[1].domain == "old.example");
  CHECK(policies[1].policy.mode == PolicyMode::None);
  CHECK(policies[1].text == "version: STSv1\r\nmode: none\r\nmx: mail.example.net\r\nmax_age: 86400\r\n");
  CHECK(policies[2].domain == "shop.example.net");
  CHECK(policies[2].policy.mode == PolicyMode::Testing);
}

TEST_CASE("make_domain_policy takes a stage's mode and max_age", "[desired]") {
  Policy stage = make_policy(PolicyMode::Enforce, 31557600, {"mail.example.net"});
  DomainPolicy dp = make_domain_policy("example.net", stage);
  CHECK(dp.domain == "example.net");
  CHECK(dp.text == policy_text(stage));
  CHECK(dp.hash == policy_hash(stage));
  CHECK(
      dp.hash !=
      make_domain_policy("example.net", make_policy(PolicyMode::Testing, 86400, {"mail.example.net"})).hash);
}

TEST_CASE("zones_of and desired_zone_records give desired_records zone by zone", "[desired]") {
  Config config = sample_config();
  auto ids = sample_ids(config);
  auto all = desired_records(config, ids);
  auto zones = zones_of(config);
  REQUIRE(zones.size() == all.size());
  std::vector<std::string> names;
  for (const auto& zone : zones) {
    names.push_back(zone.zone);
    INFO("zone " << zone.zone);
    CHECK(desired_zone_records(config, zone, ids) == all.at(zone.zone));
    for (size_t index : zone.domains) {
      const DomainConfig& domain = config.domains.at(index);
      CHECK((domain.zone.empty() ? domain.name : domain.zone) == zone.zone);
    }
  }
  CHECK(std::is_sorted(names.begin(), names.end()));
  // shop.example.net lives in example.net's zone.
  auto in_example_net =
      std::find_if(zones.begin(), zones.end(), [](const ZoneDomains& z) { return z.zone == "example.net"; });
  REQUIRE(in_example_net != zones.end());
  CHECK(in_example_net->domains.size() == 2);
}
