#include "records/invariants.h"
#include "support/records_fixture.h"

#include <catch2/catch.hpp>

using namespace stsctl;
using stsctl::test::rrset;

namespace {

std::string joined(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) {
    out += p + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("valid records have no problems", "[invariants]") {
  std::vector<RRset> rrsets = {
      rrset("_mta-sts.example.net.", RRType::TXT, {"v=STSv1; id=1"}),
      rrset("mta-sts.example.net.", RRType::A, {"192.0.2.1", "192.0.2.2"}),
      rrset("mta-sts.example.net.", RRType::AAAA, {"2001:db8::1"}),
      rrset("mta-sts.example.net.", RRType::CAA, {"0 issue \"letsencrypt.org\""}),
      rrset("mta-sts.shop.example.net.", RRType::CNAME, {"web.example.net."}),
      rrset("example.net.", RRType::MX, {"10 mail.example.net."}),
  };
  CHECK(check_invariants("example.net", rrsets).empty());
  CHECK(check_invariants("Example.NET.", rrsets).empty());
  CHECK(check_invariants("example.net", {}).empty());
}

TEST_CASE("a CNAME beside other data is a problem", "[invariants]") {
  auto problems =
      check_invariants("example.net", {
                                          rrset("mta-sts.example.net.", RRType::CNAME, {"web.example.net."}),
                                          rrset("mta-sts.example.net.", RRType::CAA, {"0 issue \"x\""}),
                                          rrset("mta-sts.example.net.", RRType::A, {"192.0.2.1"}),
                                      });
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] == "mta-sts.example.net. CNAME: CNAME beside other data (A, CAA)");
}

TEST_CASE("CNAME beside TXT found case-insensitively", "[invariants]") {
  auto problems =
      check_invariants("example.net", {
                                          rrset("_mta-sts.example.net.", RRType::CNAME, {"x.example.org."}),
                                          rrset("_MTA-STS.example.net.", RRType::TXT, {"v=STSv1; id=1"}),
                                      });
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] == "_mta-sts.example.net. CNAME: CNAME beside other data (TXT)");
}

TEST_CASE("two RRsets with one owner and type", "[invariants]") {
  auto problems =
      check_invariants("example.net", {
                                          rrset("_mta-sts.example.net.", RRType::TXT, {"v=STSv1; id=1"}),
                                          rrset("_mta-sts.example.net.", RRType::TXT, {"v=STSv1; id=2"}),
                                      });
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] == "_mta-sts.example.net. TXT: more than one RRset with this owner and type");
}

TEST_CASE("names outside the zone", "[invariants]") {
  auto problems =
      check_invariants("example.net", {
                                          rrset("_mta-sts.example.org.", RRType::TXT, {"v=STSv1; id=1"}),
                                          rrset("mta-sts.badexample.net.", RRType::A, {"192.0.2.1"}),
                                          rrset("net.", RRType::A, {"192.0.2.1"}),
                                          rrset("example.net.", RRType::A, {"192.0.2.1"}),
                                      });
  INFO(joined(problems));
  REQUIRE(problems.size() == 3);
  CHECK(problems[0] == "_mta-sts.example.org. TXT: name is outside zone example.net");
  CHECK(problems[1] == "mta-sts.badexample.net. A: name is outside zone example.net");
  CHECK(problems[2] == "net. A: name is outside zone example.net");
}

TEST_CASE("empty RRsets and multi-value CNAMEs", "[invariants]") {
  auto problems = check_invariants(
      "example.net", {
                         rrset("mta-sts.example.net.", RRType::A, {}),
                         rrset("_mta-sts.example.org.", RRType::CNAME, {}),
                         rrset("_mta-sts.example.net.", RRType::CNAME, {"a.example.org.", "b.example.org."}),
                     });
  INFO(joined(problems));
  REQUIRE(problems.size() == 4);
  CHECK(problems[0] == "mta-sts.example.net. A: RRset is empty");
  CHECK(problems[1] == "_mta-sts.example.org. CNAME: name is outside zone example.net");
  CHECK(problems[2] == "_mta-sts.example.org. CNAME: RRset is empty");
  CHECK(problems[3] == "_mta-sts.example.net. CNAME: CNAME has 2 values (at most one)");
}

TEST_CASE("relative owners are reported", "[invariants]") {
  auto problems = check_invariants("example.net", {rrset("mta-sts.example.net", RRType::A, {"192.0.2.1"})});
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] == "mta-sts.example.net A: owner is not absolute (no trailing dot)");
}

TEST_CASE("all problems are reported at once", "[invariants]") {
  auto problems =
      check_invariants("example.net", {
                                          rrset("a.example.org.", RRType::CNAME, {}),
                                          rrset("b.example.net.", RRType::TXT, {"x"}),
                                          rrset("b.example.net.", RRType::TXT, {"y"}),
                                          rrset("b.example.net.", RRType::CNAME, {"c.example.net."}),
                                      });
  INFO(joined(problems));
  CHECK(problems.size() == 4);
}
