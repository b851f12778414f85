#include "plan/plan.h"
#include "records/desired.h"
#include "support/records_fixture.h"

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace stsctl;
using stsctl::test::rrset;

namespace {

const std::string k_sts = "_mta-sts.example.net.";
const std::string k_rpt = "_smtp._tls.example.net.";
const std::string k_host = "mta-sts.example.net.";

std::vector<RRsetKey> owned() { return owned_rrsets("example.net"); }

ZoneSnapshot snapshot(std::vector<RRset> live) {
  ZoneSnapshot s;
  s.zone = "example.net";
  s.owned = std::move(live);
  return s;
}

std::vector<RRset> desired_full() {
  return {rrset(k_sts, RRType::TXT, {"v=STSv1; id=20240101000000"}),
          rrset(k_rpt, RRType::TXT, {"v=TLSRPTv1; rua=mailto:tls@example.net"}),
          rrset(k_host, RRType::A, {"192.0.2.1"}), rrset(k_host, RRType::AAAA, {"2001:db8::1"}),
          rrset(k_host, RRType::CAA, {caa_value(0, "issue", "letsencrypt.org")})};
}

ZonePlan plan_of(const std::vector<RRset>& desired, const std::vector<RRset>& live) {
  return make_zone_plan("example.net", "pdns", desired, snapshot(live), owned());
}

}  // namespace

TEST_CASE("to_string(ChangeKind)", "[plan]") {
  CHECK(std::string(to_string(ChangeKind::Create)) == "create");
  CHECK(std::string(to_string(ChangeKind::Update)) == "update");
  CHECK(std::string(to_string(ChangeKind::Delete)) == "delete");
}

TEST_CASE("unchanged records give an empty plan", "[plan]") {
  const auto plan = plan_of(desired_full(), desired_full());
  CHECK(plan.empty());
  CHECK(plan.zone == "example.net");
  CHECK(plan.provider == "pdns");
}

TEST_CASE("nothing desired and nothing live is an empty plan", "[plan]") { CHECK(plan_of({}, {}).empty()); }

TEST_CASE("absent records are created in canonical order", "[plan]") {
  const auto plan = plan_of(desired_full(), {});
  REQUIRE(plan.changes.size() == 5);
  for (const auto& c : plan.changes) {
    CHECK(c.kind == ChangeKind::Create);
    CHECK_FALSE(c.before.has_value());
    REQUIRE(c.after.has_value());
    CHECK(c.after->owner == c.key.owner);
    CHECK(c.after->type == c.key.type);
  }
  // Canonical: _mta-sts < _smtp._tls < mta-sts (reversed labels), type by enum.
  CHECK(plan.changes[0].key == RRsetKey{k_sts, RRType::TXT});
  CHECK(plan.changes[1].key == RRsetKey{k_rpt, RRType::TXT});
  CHECK(plan.changes[2].key == RRsetKey{k_host, RRType::A});
  CHECK(plan.changes[3].key == RRsetKey{k_host, RRType::AAAA});
  CHECK(plan.changes[4].key == RRsetKey{k_host, RRType::CAA});
  CHECK_NOTHROW(assert_only_owned(plan, owned()));
}

TEST_CASE("a changed value is an update carrying before and after", "[plan]") {
  auto live = desired_full();
  live[0] = rrset(k_sts, RRType::TXT, {"v=STSv1; id=20230101000000"});
  const auto plan = plan_of(desired_full(), live);
  REQUIRE(plan.changes.size() == 1);
  const auto& c = plan.changes[0];
  CHECK(c.kind == ChangeKind::Update);
  CHECK(c.key == RRsetKey{k_sts, RRType::TXT});
  REQUIRE(c.before);
  REQUIRE(c.after);
  CHECK(c.before->values == std::vector<std::string>{"v=STSv1; id=20230101000000"});
  CHECK(c.after->values == std::vector<std::string>{"v=STSv1; id=20240101000000"});
}

TEST_CASE("a TTL difference alone is an update", "[plan]") {
  auto live = desired_full();
  live[2].ttl = 300;
  const auto plan = plan_of(desired_full(), live);
  REQUIRE(plan.changes.size() == 1);
  CHECK(plan.changes[0].kind == ChangeKind::Update);
  CHECK(plan.changes[0].key == RRsetKey{k_host, RRType::A});
  CHECK(plan.changes[0].before->ttl == 300);
  CHECK(plan.changes[0].after->ttl == 3600);
}

TEST_CASE("value order does not matter", "[plan]") {
  RRset desired{k_host, RRType::A, 3600, {"192.0.2.1", "192.0.2.2"}};
  RRset live{k_host, RRType::A, 3600, {"192.0.2.2", "192.0.2.1", "192.0.2.1"}};
  CHECK(plan_of({desired}, {live}).empty());
}

TEST_CASE("live records no longer desired are deleted", "[plan]") {
  auto desired = desired_full();
  desired.erase(desired.begin() + 4);  // no CAA wanted any more
  desired.erase(desired.begin() + 1);  // no TLS-RPT
  const auto plan = plan_of(desired, desired_full());
  REQUIRE(plan.changes.size() == 2);
  CHECK(plan.changes[0].kind == ChangeKind::Delete);
  CHECK(plan.changes[0].key == RRsetKey{k_rpt, RRType::TXT});
  CHECK(plan.changes[1].kind == ChangeKind::Delete);
  CHECK(plan.changes[1].key == RRsetKey{k_host, RRType::CAA});
  CHECK_FALSE(plan.changes[1].after.has_value());
  REQUIRE(plan.changes[1].before.has_value());
}

TEST_CASE("deletes come before creates and updates", "[plan]") {
  // Live: an old TLS-RPT and a host address; desired: new STS TXT, no TLS-RPT,
  // changed address.
  const std::vector<RRset> live = {rrset(k_rpt, RRType::TXT, {"v=TLSRPTv1; rua=mailto:a@example.net"}),
                                   rrset(k_host, RRType::A, {"192.0.2.9"})};
  const std::vector<RRset> desired = {rrset(k_sts, RRType::TXT, {"v=STSv1; id=1"}),
                                      rrset(k_host, RRType::A, {"192.0.2.1"})};
  const auto plan = plan_of(desired, live);
  REQUIRE(plan.changes.size() == 3);
  CHECK(plan.changes[0].kind == ChangeKind::Delete);
  CHECK(plan.changes[0].key == RRsetKey{k_rpt, RRType::TXT});
  CHECK(plan.changes[1].kind == ChangeKind::Create);
  CHECK(plan.changes[1].key == RRsetKey{k_sts, RRType::TXT});
  CHECK(plan.changes[2].kind == ChangeKind::Update);
  CHECK(plan.changes[2].key == RRsetKey{k_host, RRType::A});
}

TEST_CASE("switching mta-sts from addresses to a CNAME deletes first", "[plan]") {
  const std::vector<RRset> live = {rrset(k_host, RRType::A, {"192.0.2.1"}),
                                   rrset(k_host, RRType::AAAA, {"2001:db8::1"}),
                                   rrset(k_host, RRType::CAA, {caa_value(0, "issue", "letsencrypt.org")})};
  const std::vector<RRset> desired = {rrset(k_host, RRType::CNAME, {"sts.provider.example."})};
  const auto plan = plan_of(desired, live);
  REQUIRE(plan.changes.size() == 4);
  CHECK(plan.changes[0].kind == ChangeKind::Delete);
  CHECK(plan.changes[0].key.type == RRType::A);
  CHECK(plan.changes[1].kind == ChangeKind::Delete);
  CHECK(plan.changes[1].key.type == RRType::AAAA);
  CHECK(plan.changes[2].kind == ChangeKind::Delete);
  CHECK(plan.changes[2].key.type == RRType::CAA);
  CHECK(plan.changes[3].kind == ChangeKind::Create);
  CHECK(plan.changes[3].key == RRsetKey{k_host, RRType::CNAME});

  // And back: the CNAME goes before the addresses arrive.
  const auto back = plan_of(live, desired);
  REQUIRE(back.changes.size() == 4);
  CHECK(back.changes[0].kind == ChangeKind::Delete);
  CHECK(back.changes[0].key.type == RRType::CNAME);
  CHECK(back.changes[1].kind == ChangeKind::Create);
  CHECK(back.changes[1].key.type == RRType::A);
}

TEST_CASE("foreign TXT values at owned names are kept", "[plan]") {
  const std::string foreign = "google-site-verification=abc";

  SECTION("carried into after on update") {
    const auto plan = plan_of({rrset(k_sts, RRType::TXT, {"v=STSv1; id=2"})},
                              {rrset(k_sts, RRType::TXT, {"v=STSv1; id=1", foreign})});
    REQUIRE(plan.changes.size() == 1);
    CHECK(plan.changes[0].kind == ChangeKind::Update);
    CHECK(plan.changes[0].after->values == std::vector<std::string>{foreign, "v=STSv1; id=2"});
  }
  SECTION("no change when only the foreign value is extra") {
    CHECK(plan_of({rrset(k_sts, RRType::TXT, {"v=STSv1; id=1"})},
                  {rrset(k_sts, RRType::TXT, {"v=STSv1; id=1", foreign})})
              .empty());
  }
  SECTION("carried into after on create of our value") {
    const auto plan = plan_of({rrset(k_rpt, RRType::TXT, {"v=TLSRPTv1; rua=mailto:t@example.net"})},
                              {rrset(k_rpt, RRType::TXT, {foreign})});
    REQUIRE(plan.changes.size() == 1);
    CHECK(plan.changes[0].kind == ChangeKind::Update);
    CHECK(plan.changes[0].after->values ==
          std::vector<std::string>{foreign, "v=TLSRPTv1; rua=mailto:t@example.net"});
  }
  SECTION("removing our value leaves the foreign one: an update, not a delete") {
    const auto plan = plan_of({}, {rrset(k_sts, RRType::TXT, {"v=STSv1; id=1", foreign}, 600)});
    REQUIRE(plan.changes.size() == 1);
    CHECK(plan.changes[0].kind == ChangeKind::Update);
    REQUIRE(plan.changes[0].after);
    CHECK(plan.changes[0].after->values == std::vector<std::string>{foreign});
    CHECK(plan.changes[0].after->ttl == 600);
  }
  SECTION("a foreign-only TXT RRset is never deleted") {
    CHECK(plan_of({}, {rrset(k_sts, RRType::TXT, {foreign})}).empty());
  }
  SECTION("a TXT value merely containing v=STSv1 later is foreign") {
    const auto plan = plan_of({}, {rrset(k_sts, RRType::TXT, {"x v=STSv1; id=1"})});
    CHECK(plan.empty());
  }
}

TEST_CASE("live RRsets outside the owned keys are ignored", "[plan]") {
  const auto plan = plan_of({}, {rrset("example.net.", RRType::MX, {"10 mx.example.net."})});
  CHECK(plan.empty());
}

TEST_CASE("a desired RRset that stsctl does not own is a bug", "[plan]") {
  CHECK_THROWS_AS(plan_of({rrset("www.example.net.", RRType::A, {"192.0.2.1"})}, {}), std::logic_error);
  CHECK_THROWS_AS(plan_of({rrset(k_sts, RRType::MX, {"10 mx.example.net."})}, {}), std::logic_error);
}

TEST_CASE("assert_only_owned rejects a change to a foreign key", "[plan]") {
  ZonePlan plan;
  plan.zone = "example.net";
  plan.changes.push_back(
      Change{ChangeKind::Create, {k_sts, RRType::TXT}, std::nullopt, rrset(k_sts, RRType::TXT, {"v"})});
  CHECK_NOTHROW(assert_only_owned(plan, owned()));

  plan.changes.push_back(Change{ChangeKind::Delete,
                                {"example.net.", RRType::MX},
                                rrset("example.net.", RRType::MX, {"10 mx."}),
                                std::nullopt});
  try {
    assert_only_owned(plan, owned());
    FAIL("expected std::logic_error");
  } catch (const std::logic_error& e) {
    CHECK(std::string(e.what()) ==
          "plan for zone example.net would delete example.net. MX, which stsctl does not own");
  }

  ZonePlan mismatched;
  mismatched.zone = "example.net";
  mismatched.changes.push_back(Change{
      ChangeKind::Create, {k_sts, RRType::TXT}, std::nullopt, rrset("example.net.", RRType::TXT, {"x"})});
  CHECK_THROWS_AS(assert_only_owned(mismatched, owned()), std::logic_error);
}

TEST_CASE("describe_change shows a terraform-like diff", "[plan]") {
  SECTION("create") {
    Change c{ChangeKind::Create,
             {k_sts, RRType::TXT},
             std::nullopt,
             rrset(k_sts, RRType::TXT, {"v=STSv1; id=20240101000000"})};
    CHECK(describe_change(c) == "  + _mta-sts.example.net. 3600 TXT \"v=STSv1; id=20240101000000\"\n");
  }
  SECTION("delete, one line per value") {
    Change c{ChangeKind::Delete,
             {k_host, RRType::A},
             rrset(k_host, RRType::A, {"192.0.2.2", "192.0.2.1"}, 300),
             std::nullopt};
    CHECK(describe_change(c) ==
          "  - mta-sts.example.net. 300 A 192.0.2.1\n"
          "  - mta-sts.example.net. 300 A 192.0.2.2\n");
  }
  SECTION("update shows old, new and kept values") {
    const auto plan = plan_of({rrset(k_sts, RRType::TXT, {"v=STSv1; id=2"})},
                              {rrset(k_sts, RRType::TXT, {"v=STSv1; id=1", "say \"hi\""})});
    REQUIRE(plan.changes.size() == 1);
    CHECK(describe_change(plan.changes[0]) ==
          "  ~ _mta-sts.example.net. TXT\n"
          "      - 3600 \"v=STSv1; id=1\"\n"
          "        3600 \"say \\\"hi\\\"\"\n"
          "      + 3600 \"v=STSv1; id=2\"\n");
  }
  SECTION("TTL update rewrites every value") {
    Change c{ChangeKind::Update,
             {k_host, RRType::CAA},
             rrset(k_host, RRType::CAA, {"0 issue \"ca.example\""}, 300),
             rrset(k_host, RRType::CAA, {"0 issue \"ca.example\""}, 3600)};
    CHECK(describe_change(c) ==
          "  ~ mta-sts.example.net. CAA\n"
          "      - 300 0 issue \"ca.example\"\n"
          "      + 3600 0 issue \"ca.example\"\n");
  }
}
