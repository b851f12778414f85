#include "rfc2136/rfc2136_provider.h"
#include "plan/plan.h"
#include "support/knot_server.h"
#include "support/named_server.h"
#include "support/pdns_server.h"
#include "support/records_fixture.h"

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

using namespace stsctl;
using namespace stsctl::test;

namespace {

std::vector<RRsetKey> owned_keys(const std::string& domain) {
  const std::string sts = "_mta-sts." + domain + ".";
  const std::string rpt = "_smtp._tls." + domain + ".";
  const std::string host = "mta-sts." + domain + ".";
  return {{sts, RRType::TXT}, {sts, RRType::CNAME}, {rpt, RRType::TXT},  {rpt, RRType::CNAME},
          {host, RRType::A},  {host, RRType::AAAA}, {host, RRType::CAA}, {host, RRType::CNAME}};
}

Change create(const RRset& after) {
  Change change;
  change.kind = ChangeKind::Create;
  change.key = {after.owner, after.type};
  change.after = after;
  return change;
}

Change update(const RRset& before, const RRset& after) {
  Change change;
  change.kind = ChangeKind::Update;
  change.key = {after.owner, after.type};
  change.before = before;
  change.after = after;
  return change;
}

Change remove(const RRset& before) {
  Change change;
  change.kind = ChangeKind::Delete;
  change.key = {before.owner, before.type};
  change.before = before;
  return change;
}

ZonePlan zone_plan(const std::string& zone, std::vector<Change> changes) {
  ZonePlan plan;
  plan.zone = zone;
  plan.provider = "bind";
  plan.changes = std::move(changes);
  return plan;
}

ZoneSnapshot read_ok(Provider& provider, const std::string& zone, const std::string& domain) {
  auto results = provider.read_zones({ZoneQuery{zone, owned_keys(domain)}});
  REQUIRE(results.size() == 1);
  INFO((results[0].error ? results[0].error->what() : "no error"));
  REQUIRE_FALSE(results[0].error);
  return results[0].snapshot;
}

std::optional<RRset> find(const ZoneSnapshot& snapshot, const std::string& owner, RRType type) {
  for (const auto& set : snapshot.owned) {
    if (set.owner == owner && set.type == type) {
      return set;
    }
  }
  return std::nullopt;
}

void apply_ok(Provider& provider, const ZonePlan& plan) {
  auto results = provider.apply_zones({plan});
  REQUIRE(results.size() == 1);
  INFO((results[0].error ? results[0].error->what() : "no error"));
  REQUIRE_FALSE(results[0].error);
}

ProviderError apply_fails(Provider& provider, const ZonePlan& plan) {
  auto results = provider.apply_zones({plan});
  REQUIRE(results.size() == 1);
  REQUIRE(results[0].error);
  return *results[0].error;
}

std::vector<std::string> sorted(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  return values;
}

const std::string k_seed =
    "@ MX 10 mail.example.test.\n"
    "@ TXT \"v=spf1 -all\"\n"
    "www A 192.0.2.80\n"
    "_mta-sts TXT \"google-site-verification=abc\"\n";

/// One of the three RFC 2136 servers the provider is proven against.
struct Fixture {
  explicit Fixture(const std::string& kind)
      : server(start_update_server(kind, {{"example.test", k_seed}, {"alias.test", ""}})) {
    server->write_secret_file(secret_file);
    provider = make_rfc2136_provider(server->provider_config(secret_file));
  }
  TempDir dir{"rfc2136"};
  std::string secret_file = dir.file("tsig.secret");
  std::unique_ptr<UpdateServer> server;
  std::unique_ptr<Provider> provider;
};

#define EACH_SERVER GENERATE(as<std::string>{}, "BIND", "Knot", "PowerDNS")

}  // namespace

TEST_CASE("rfc2136: fresh apply is visible by dig and read back unchanged; foreign records stay",
          "[rfc2136]") {
  Fixture f(EACH_SERVER);
  INFO("server: " + f.server->kind());
  const std::string sts = "_mta-sts.example.test.";
  const std::string rpt = "_smtp._tls.example.test.";
  const std::string host = "mta-sts.example.test.";

  ZoneSnapshot live = read_ok(*f.provider, "example.test", "example.test");
  CHECK(live.zone == "example.test");
  REQUIRE(live.owned.size() == 1);
  CHECK(live.owned[0] == rrset(sts, RRType::TXT, {"google-site-verification=abc"}, 300));
  REQUIRE(live.mx.size() == 1);
  CHECK(live.mx[0] == rrset("example.test.", RRType::MX, {"10 mail.example.test."}, 300));
  CHECK(live.nameservers == std::vector<std::string>{"ns.example.test."});

  const std::string policy = "v=STSv1; id=20240101T000000;";
  std::vector<RRset> desired = {
      rrset(sts, RRType::TXT, {policy}),
      rrset(rpt, RRType::TXT, {"v=TLSRPTv1; rua=mailto:tlsrpt@example.test"}),
      rrset(host, RRType::A, {"192.0.2.10"}),
      rrset(host, RRType::AAAA, {"2001:db8::10"}),
      rrset(host, RRType::CAA, {"0 issue \"letsencrypt.org\"", "0 iodef \"mailto:a\\\"b@example.test\""}),
  };
  ZonePlan plan = make_zone_plan("example.test", "bind", desired, live, owned_keys("example.test"));
  REQUIRE(plan.changes.size() == 5);
  apply_ok(*f.provider, plan);

  CHECK(sorted(f.server->query(sts, "TXT")) ==
        std::vector<std::string>{"\"google-site-verification=abc\"", "\"v=STSv1; id=20240101T000000;\""});
  CHECK(f.server->query(rpt, "TXT") ==
        std::vector<std::string>{"\"v=TLSRPTv1; rua=mailto:tlsrpt@example.test\""});
  CHECK(f.server->query(host, "A") == std::vector<std::string>{"192.0.2.10"});
  CHECK(f.server->query(host, "AAAA") == std::vector<std::string>{"2001:db8::10"});
  CHECK(sorted(f.server->query(host, "CAA")) ==
        std::vector<std::string>{"0 iodef \"mailto:a\\\"b@example.test\"", "0 issue \"letsencrypt.org\""});
  // Foreign records untouched.
  CHECK(f.server->query("example.test", "MX") == std::vector<std::string>{"10 mail.example.test."});
  CHECK(f.server->query("example.test", "TXT") == std::vector<std::string>{"\"v=spf1 -all\""});
  CHECK(f.server->query("www.example.test", "A") == std::vector<std::string>{"192.0.2.80"});

  ZoneSnapshot after = read_ok(*f.provider, "example.test", "example.test");
  std::vector<RRset> expected = desired;
  expected[0].values.insert(expected[0].values.begin(), "google-site-verification=abc");
  std::sort(expected.begin(), expected.end(), canonical_less);
  CHECK(after.owned == expected);
  CHECK(after.mx == live.mx);
  // Read back, nothing is left to do.
  CHECK(make_zone_plan("example.test", "bind", desired, after, owned_keys("example.test")).empty());

  SECTION("id bump replaces only our value and keeps the foreign TXT") {
    desired[0] = rrset(sts, RRType::TXT, {"v=STSv1; id=20240202T000000;"});
    ZonePlan bump = make_zone_plan("example.test", "bind", desired, after, owned_keys("example.test"));
    REQUIRE(bump.changes.size() == 1);
    CHECK(bump.changes[0].kind == ChangeKind::Update);
    apply_ok(*f.provider, bump);
    CHECK(sorted(f.server->query(sts, "TXT")) ==
          std::vector<std::string>{"\"google-site-verification=abc\"", "\"v=STSv1; id=20240202T000000;\""});
    ZoneSnapshot bumped = read_ok(*f.provider, "example.test", "example.test");
    CHECK(find(bumped, sts, RRType::TXT) == bump.changes[0].after);
    CHECK(make_zone_plan("example.test", "bind", desired, bumped, owned_keys("example.test")).empty());
  }

  SECTION("delete removes the RRsets") {
    apply_ok(*f.provider, zone_plan("example.test", {remove(expected[0]), remove(expected[1])}));
    CHECK(f.server->query(rpt, "TXT").empty());
    ZoneSnapshot gone = read_ok(*f.provider, "example.test", "example.test");
    CHECK_FALSE(find(gone, sts, RRType::TXT));
    CHECK_FALSE(find(gone, rpt, RRType::TXT));
    CHECK(find(gone, host, RRType::A));
  }
}

TEST_CASE("rfc2136: a TXT longer than 255 octets is split and read back joined", "[rfc2136]") {
  Fixture f(EACH_SERVER);
  INFO("server: " + f.server->kind());
  const std::string rpt = "_smtp._tls.example.test.";
  std::string rua = "v=TLSRPTv1; rua=mailto:" + std::string(280, 'a') + "@example.test";
  RRset set = rrset(rpt, RRType::TXT, {rua}, 600);
  apply_ok(*f.provider, zone_plan("example.test", {create(set)}));
  auto dig = f.server->query(rpt, "TXT");
  REQUIRE(dig.size() == 1);
  CHECK(dig[0] == "\"" + rua.substr(0, 255) + "\" \"" + rua.substr(255) + "\"");
  CHECK(find(read_ok(*f.provider, "example.test", "example.test"), rpt, RRType::TXT) == set);
}

TEST_CASE("rfc2136: alias CNAMEs are read as CNAME only, never as TXT", "[rfc2136]") {
  Fixture f(EACH_SERVER);
  INFO("server: " + f.server->kind());
  // In-zone target with TXT: BIND answers a TXT query with the CNAME and the
  // target's TXT; neither may show up as a TXT RRset at the alias name.
  RRset target = rrset("_mta-sts.example.test.", RRType::TXT, {"google-site-verification=abc"}, 300);
  RRset cname = rrset("_mta-sts.alias.test.", RRType::CNAME, {"_mta-sts.example.test."});
  RRset rpt = rrset("_smtp._tls.alias.test.", RRType::CNAME, {"_smtp._tls.example.test."});
  RRset host = rrset("mta-sts.alias.test.", RRType::CNAME, {"mta-sts.example.test."});
  apply_ok(*f.provider, zone_plan("alias.test", {create(cname), create(rpt), create(host)}));
  CHECK(f.server->query("_mta-sts.alias.test", "CNAME") ==
        std::vector<std::string>{"_mta-sts.example.test."});

  ZoneSnapshot live = read_ok(*f.provider, "alias.test", "alias.test");
  std::vector<RRset> expected = {cname, rpt, host};
  std::sort(expected.begin(), expected.end(), canonical_less);
  CHECK(live.owned == expected);

  // Same inside one zone: an in-zone CNAME whose target has TXT.
  RRset local = rrset("_smtp._tls.example.test.", RRType::CNAME, {"_mta-sts.example.test."});
  apply_ok(*f.provider, zone_plan("example.test", {create(local)}));
  ZoneSnapshot same = read_ok(*f.provider, "example.test", "example.test");
  CHECK(find(same, "_smtp._tls.example.test.", RRType::CNAME) == local);
  CHECK_FALSE(find(same, "_smtp._tls.example.test.", RRType::TXT));
  CHECK(find(same, "_mta-sts.example.test.", RRType::TXT) == target);
}

TEST_CASE("rfc2136: A/AAAA to CNAME and back in one message each", "[rfc2136]") {
  Fixture f(EACH_SERVER);
  INFO("server: " + f.server->kind());
  const std::string host = "mta-sts.example.test.";
  RRset a = rrset(host, RRType::A, {"192.0.2.1"}, 300);
  RRset aaaa = rrset(host, RRType::AAAA, {"2001:db8::1"}, 300);
  apply_ok(*f.provider, zone_plan("example.test", {create(a), create(aaaa)}));
  ZoneSnapshot live = read_ok(*f.provider, "example.test", "example.test");
  REQUIRE(find(live, host, RRType::A) == a);

  RRset cname = rrset(host, RRType::CNAME, {"sts.provider.test."}, 300);
  // Plan order: deletes first; the provider also puts every delete before any add.
  apply_ok(*f.provider, zone_plan("example.test", {remove(a), remove(aaaa), create(cname)}));
  CHECK(f.server->query(host, "CNAME") == std::vector<std::string>{"sts.provider.test."});
  live = read_ok(*f.provider, "example.test", "example.test");
  CHECK_FALSE(find(live, host, RRType::A));
  CHECK_FALSE(find(live, host, RRType::AAAA));
  CHECK(find(live, host, RRType::CNAME) == cname);

  // And back, with the create listed first to prove deletes go first.
  apply_ok(*f.provider, zone_plan("example.test", {create(a), remove(cname)}));
  CHECK(f.server->query(host, "CNAME").empty());
  CHECK(f.server->query(host, "A") == std::vector<std::string>{"192.0.2.1"});
}

TEST_CASE("rfc2136: a change made between read and apply is a conflict and is kept", "[rfc2136]") {
  Fixture f(EACH_SERVER);
  INFO("server: " + f.server->kind());
  const std::string sts = "_mta-sts.example.test.";
  const std::string rpt = "_smtp._tls.example.test.";
  ZoneSnapshot live = read_ok(*f.provider, "example.test", "example.test");
  RRset before = *find(live, sts, RRType::TXT);

  auto ns = f.server->nsupdate(
      "zone example.test\nupdate add _mta-sts.example.test. 300 TXT \"v=STSv1; id=theirs\"\n"
      "update add _smtp._tls.example.test. 300 TXT \"v=TLSRPTv1; rua=mailto:x@y.test\"");
  INFO(ns.err);
  REQUIRE(ns.exit_code == 0);

  RRset mine = rrset(sts, RRType::TXT, {"google-site-verification=abc", "v=STSv1; id=mine"});
  ProviderError e = apply_fails(*f.provider, zone_plan("example.test", {update(before, mine)}));
  CHECK(e.kind() == ProviderError::Kind::Conflict);
  CHECK(std::string(e.what()) ==
        "provider 'bind' (rfc2136): failed to update zone 'example.test' on 127.0.0.1:" +
            std::to_string(f.server->port()) + " (NXRRSET): the zone changed since plan: run plan again");
  CHECK(sorted(f.server->query(sts, "TXT")) ==
        std::vector<std::string>{"\"google-site-verification=abc\"", "\"v=STSv1; id=theirs\""});

  // A create where the RRset appeared meanwhile: YXRRSET.
  RRset report = rrset(rpt, RRType::TXT, {"v=TLSRPTv1; rua=mailto:me@example.test"});
  e = apply_fails(*f.provider, zone_plan("example.test", {create(report)}));
  CHECK(e.kind() == ProviderError::Kind::Conflict);
  CHECK(std::string(e.what()) ==
        "provider 'bind' (rfc2136): failed to update zone 'example.test' on 127.0.0.1:" +
            std::to_string(f.server->port()) + " (YXRRSET): the zone changed since plan: run plan again");
  CHECK(f.server->query(rpt, "TXT") == std::vector<std::string>{"\"v=TLSRPTv1; rua=mailto:x@y.test\""});
}

TEST_CASE("rfc2136: TSIG and authority errors name server, zone and key, never the secret", "[rfc2136]") {
  Fixture f(EACH_SERVER);
  INFO("server: " + f.server->kind());
  const std::string where = "provider 'bind' (rfc2136): failed to update zone 'example.test' on 127.0.0.1:" +
                            std::to_string(f.server->port());
  RRset report = rrset("_smtp._tls.example.test.", RRType::TXT, {"v=TLSRPTv1; rua=mailto:me@example.test"});
  ZonePlan plan = zone_plan("example.test", {create(report)});
  std::vector<std::string> texts;
  // How each server words a key it does not accept: BIND and Knot answer with
  // a TSIG error (Knot also for a known key its acl does not allow), PowerDNS
  // with REFUSED to an UPDATE and NOTAUTH to a query.
  const std::string kind = f.server->kind();
  auto refused = [&](const std::string& key) {
    return where + " (REFUSED): key '" + key +
           "' may not update this name, or its signature was not accepted: check the secret and the update "
           "policy "
           "for zone example.test (BIND update-policy, Knot acl, PowerDNS TSIG-ALLOW-DNSUPDATE)";
  };
  auto badkey = [&](const std::string& key) {
    return where + " (TSIG BADKEY): the server does not know key '" + key +
           "' with algorithm hmac-sha256, or its acl does not allow the key this: check tsig.name, algorithm "
           "and the "
           "server's keys";
  };

  SECTION("wrong secret: BADSIG") {
    // A valid secret, but not the one the server holds for stsctl-key.
    std::string wrong = f.server->other_key_secret();
    write_file(f.secret_file, wrong + "\n");
    auto provider = make_rfc2136_provider(f.server->provider_config(f.secret_file));
    ProviderError e = apply_fails(*provider, plan);
    CHECK(e.kind() == ProviderError::Kind::Auth);
    CHECK(
        std::string(e.what()) ==
        (kind == "PowerDNS"
             ? refused("stsctl-key")
             : where +
                   " (TSIG BADSIG): wrong secret for key 'stsctl-key': check tsig.secret_file / secret_env"));
    CHECK(std::string(e.what()).find(wrong) == std::string::npos);
    auto read = provider->read_zones({ZoneQuery{"example.test", owned_keys("example.test")}});
    REQUIRE(read[0].error);
    const std::string read_where = replace_all(where, "failed to update", "failed to read");
    CHECK(
        std::string(read[0].error->what()) ==
        (kind == "PowerDNS"
             ? read_where +
                   " (NOTAUTH): the server is not authoritative for zone example.test, or did not accept the "
                   "signature of key 'stsctl-key': check the zone name, the server and the secret"
             : read_where + " (TSIG BADSIG): wrong secret for key 'stsctl-key': check tsig.secret_file / "
                            "secret_env"));
    texts = {e.what(), read[0].error->what()};
  }

  SECTION("unknown key: BADKEY") {
    Rfc2136Config config = f.server->provider_config(f.secret_file);
    config.tsig.name = "nobody-key.";  // trailing dot accepted
    auto provider = make_rfc2136_provider(config);
    ProviderError e = apply_fails(*provider, plan);
    CHECK(e.kind() == ProviderError::Kind::Auth);
    CHECK(std::string(e.what()) == (kind == "PowerDNS" ? refused("nobody-key") : badkey("nobody-key")));
    texts = {e.what()};
  }

  SECTION("known key without update rights: REFUSED") {
    write_file(f.secret_file, f.server->other_key_secret());
    Rfc2136Config config = f.server->provider_config(f.secret_file);
    config.tsig.name = f.server->other_key_name();
    auto provider = make_rfc2136_provider(config);
    ProviderError e = apply_fails(*provider, plan);
    CHECK(e.kind() == ProviderError::Kind::Auth);
    CHECK(std::string(e.what()) == (kind == "Knot" ? badkey("other-key") : refused("other-key")));
    // Reading with that key works.
    CHECK(read_ok(*provider, "example.test", "example.test").owned.size() == 1);
    texts = {e.what()};
  }

  SECTION("zone not served: NOTAUTH on update, error on read") {
    ZonePlan other =
        zone_plan("missing.test", {create(rrset("_smtp._tls.missing.test.", RRType::TXT, {"x"}))});
    ProviderError e = apply_fails(*f.provider, other);
    CHECK(e.kind() == ProviderError::Kind::ZoneMissing);
    CHECK(std::string(e.what()) ==
          "provider 'bind' (rfc2136): failed to update zone 'missing.test' on 127.0.0.1:" +
              std::to_string(f.server->port()) +
              " (NOTAUTH): the server is not authoritative for zone missing.test, or did not accept the "
              "signature of key "
              "'stsctl-key': check the zone name, the server and the secret");
    auto read = f.provider->read_zones({ZoneQuery{"missing.test", owned_keys("missing.test")},
                                        ZoneQuery{"example.test", owned_keys("example.test")}});
    REQUIRE(read.size() == 2);
    REQUIRE(read[0].error);
    CHECK(read[0].error->kind() == ProviderError::Kind::ZoneMissing);
    CHECK(std::string(read[0].error->what()) ==
          "provider 'bind' (rfc2136): failed to read zone 'missing.test' on 127.0.0.1:" +
              std::to_string(f.server->port()) +
              " (REFUSED): zone missing.test is not served there, or allow-query excludes this host");
    CHECK_FALSE(read[1].error);  // one zone's failure does not spoil the others
    texts = {e.what(), read[0].error->what()};
  }

  SECTION("name outside the zone is refused before sending") {
    ZonePlan bad = zone_plan("example.test", {create(rrset("_smtp._tls.other.test.", RRType::TXT, {"x"}))});
    ProviderError e = apply_fails(*f.provider, bad);
    CHECK(e.kind() == ProviderError::Kind::Rejected);
    CHECK(std::string(e.what()) ==
          where +
              " (_smtp._tls.other.test. lies outside zone example.test): nothing was sent; "
              "fix the plan's records");
    texts = {e.what()};
  }

  REQUIRE_FALSE(texts.empty());
  for (const auto& text : texts) {
    CHECK(text.find(f.server->key_secret()) == std::string::npos);
    CHECK(text.find(f.server->other_key_secret()) == std::string::npos);
  }
  // Nothing was written by any of the failures.
  CHECK(f.server->query("_smtp._tls.example.test", "TXT").empty());
}

TEST_CASE("rfc2136: secret sources, algorithm names and hmac-md5 opt-in", "[rfc2136]") {
  Fixture f("BIND");
  Rfc2136Config config = f.server->provider_config(f.secret_file);

  SECTION("secret from the environment, key name with trailing dot") {
    config.tsig.secret_file.clear();
    config.tsig.secret_env = "STSCTL_TEST_TSIG_SECRET";
    config.tsig.name = "stsctl-key.";
    config.tsig.algorithm = "HMAC-SHA256.";
    setenv("STSCTL_TEST_TSIG_SECRET", ("  " + f.server->key_secret() + "\n").c_str(), 1);
    auto provider = make_rfc2136_provider(config);
    unsetenv("STSCTL_TEST_TSIG_SECRET");
    apply_ok(*provider,
             zone_plan("example.test", {create(rrset("_smtp._tls.example.test.", RRType::TXT,
                                                     {"v=TLSRPTv1; rua=mailto:a@example.test"}, 60))}));
    CHECK(f.server->query("_smtp._tls.example.test", "TXT").size() == 1);
  }

  SECTION("missing environment variable") {
    config.tsig.secret_file.clear();
    config.tsig.secret_env = "STSCTL_TEST_TSIG_UNSET";
    unsetenv("STSCTL_TEST_TSIG_UNSET");
    try {
      make_rfc2136_provider(config);
      FAIL("no error");
    } catch (const ProviderError& e) {
      CHECK(std::string(e.what()) ==
            "provider 'bind' (rfc2136): failed to read the secret of TSIG key 'stsctl-key' (environment "
            "variable "
            "'STSCTL_TEST_TSIG_UNSET' is not set): tsig.secret_file or tsig.secret_env must hold its base64 "
            "secret");
    }
  }

  SECTION("secret that is not base64") {
    write_file(f.secret_file, "not base64 !!\n");
    try {
      make_rfc2136_provider(config);
      FAIL("no error");
    } catch (const ProviderError& e) {
      CHECK(std::string(e.what()) ==
            "provider 'bind' (rfc2136): failed to read the secret of TSIG key "
            "'stsctl-key' (not base64 in file '" +
                f.secret_file + "'): write the secret as tsig-keygen prints it");
      CHECK_THAT(e.what(), !Catch::Contains("not base64 !!"));
    }
  }

  SECTION("hmac-md5 needs allow_hmac_md5") {
    config.tsig.algorithm = "hmac-md5";
    try {
      make_rfc2136_provider(config);
      FAIL("no error");
    } catch (const ProviderError& e) {
      CHECK(e.kind() == ProviderError::Kind::Other);
      CHECK(std::string(e.what()) ==
            "provider 'bind' (rfc2136): failed to use TSIG key 'stsctl-key' (hmac-md5 is weak and refused "
            "unless "
            "the provider sets allow_hmac_md5: true; use hmac-sha256 or hmac-sha512): fix tsig.algorithm in "
            "the "
            "config");
    }
    config.allow_hmac_md5 = true;
    // Accepted now; the server holds the key as hmac-sha256, so it answers BADKEY.
    auto provider = make_rfc2136_provider(config);
    ProviderError e = apply_fails(
        *provider,
        zone_plan("example.test", {create(rrset("_smtp._tls.example.test.", RRType::TXT, {"x"}, 60))}));
    CHECK_THAT(e.what(), Catch::Contains("BADKEY"));
  }

  SECTION("unsupported algorithm") {
    config.tsig.algorithm = "hmac-sha384";
    CHECK_THROWS_WITH(
        make_rfc2136_provider(config),
        "provider 'bind' (rfc2136): failed to use TSIG key 'stsctl-key' (hmac-sha384 is not supported: ldns "
        "1.8.3 cannot sign with it; use hmac-sha256 or hmac-sha512): fix tsig.algorithm in the config");
  }

  SECTION("udp transport") {
    config.transport = "udp";
    auto provider = make_rfc2136_provider(config);
    RRset big = rrset("_smtp._tls.example.test.", RRType::TXT,
                      {std::string(600, 'x'), std::string(600, 'y'), std::string(600, 'z')}, 60);
    apply_ok(*provider, zone_plan("example.test", {create(big)}));
    // The answer exceeds 512 octets: read falls back to TCP.
    CHECK(find(read_ok(*provider, "example.test", "example.test"), "_smtp._tls.example.test.", RRType::TXT) ==
          big);
  }
}

TEST_CASE("rfc2136: stopped server is unreachable, a silent one times out", "[rfc2136]") {
  Fixture f("BIND");
  RRset report = rrset("_smtp._tls.example.test.", RRType::TXT, {"v=TLSRPTv1; rua=mailto:me@example.test"});

  SECTION("stopped") {
    f.server->stop();
    auto results = f.provider->read_zones({ZoneQuery{"example.test", owned_keys("example.test")},
                                           ZoneQuery{"alias.test", owned_keys("alias.test")}});
    REQUIRE(results.size() == 2);
    REQUIRE(results[0].error);
    CHECK(results[0].error->kind() == ProviderError::Kind::Unreachable);
    const std::string port = std::to_string(f.server->port());
    CHECK(
        std::string(results[0].error->what()) ==
        "provider 'bind' (rfc2136): failed to read zone 'example.test' on 127.0.0.1:" + port +
            " (cannot connect: Connection refused): is the server running and listening on that address and "
            "port?");
    REQUIRE(results[1].error);
    CHECK(results[1].error->kind() == ProviderError::Kind::Unreachable);
    ProviderError e = apply_fails(*f.provider, zone_plan("example.test", {create(report)}));
    CHECK(e.kind() == ProviderError::Kind::Unreachable);
    CHECK(
        std::string(e.what()) ==
        "provider 'bind' (rfc2136): failed to update zone 'example.test' on 127.0.0.1:" + port +
            " (cannot connect: Connection refused): is the server running and listening on that address and "
            "port?");
  }

  SECTION("silent") {
    // A listening socket nobody accepts from: connect succeeds, no answer comes.
    int port = free_port();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(listen(fd, 8) == 0);
    Rfc2136Config config = f.server->provider_config(f.secret_file);
    config.server_port = static_cast<uint16_t>(port);
    config.timeout_seconds = 1;
    auto provider = make_rfc2136_provider(config);
    auto started = std::chrono::steady_clock::now();
    ProviderError e = apply_fails(*provider, zone_plan("example.test", {create(report)}));
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    close(fd);
    CHECK(e.kind() == ProviderError::Kind::Timeout);
    CHECK(std::string(e.what()) ==
          "provider 'bind' (rfc2136): failed to update zone 'example.test' on 127.0.0.1:" +
              std::to_string(port) +
              " (no answer within 1 s, providers.bind.timeout): the update may or may not "
              "have been applied: run plan again");
    CHECK(elapsed < 5);
  }
}
