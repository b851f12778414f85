#include "policy/policy_id.h"

#include <catch2/catch.hpp>

#include <ctime>

using namespace stsctl;

namespace {

// 2024-01-02 03:04:05 UTC
constexpr int64_t k_now = 1704164645;
const std::string k_hash_a = "aaaa0000111122223333444455556666777788889999aaaabbbbccccddddeeee";
const std::string k_hash_b = "bbbb0000111122223333444455556666777788889999aaaabbbbccccddddeeee";

std::optional<PublishedPolicy> published(const std::string& id, const std::string& hash) {
  return PublishedPolicy{id, hash};
}

}  // namespace

TEST_CASE("no previous policy: a new id in each format", "[policy_id]") {
  IdDecision ts = decide_id(IdFormat::Timestamp, k_now, std::nullopt, k_hash_a);
  CHECK(ts.id == "20240102030405");
  CHECK(ts.bumped);
  IdDecision serial = decide_id(IdFormat::Serial, k_now, std::nullopt, k_hash_a);
  CHECK(serial.id == "2024010200");
  CHECK(serial.bumped);
  IdDecision hash = decide_id(IdFormat::Hash, k_now, std::nullopt, k_hash_a);
  CHECK(hash.id == k_hash_a.substr(0, 32));
  CHECK(hash.bumped);
}

TEST_CASE("same hash keeps the previous id, in every format and at any time", "[policy_id]") {
  for (IdFormat format : {IdFormat::Timestamp, IdFormat::Serial, IdFormat::Hash}) {
    for (int64_t now : {k_now, k_now + 86400 * 365, int64_t{0}}) {
      IdDecision d = decide_id(format, now, published("20200101000000", k_hash_a), k_hash_a);
      CHECK(d.id == "20200101000000");
      CHECK_FALSE(d.bumped);
    }
  }
}

TEST_CASE("a changed hash bumps the id", "[policy_id]") {
  IdDecision ts = decide_id(IdFormat::Timestamp, k_now, published("20231231000000", k_hash_a), k_hash_b);
  CHECK(ts.id == "20240102030405");
  CHECK(ts.bumped);

  IdDecision serial = decide_id(IdFormat::Serial, k_now, published("2023123105", k_hash_a), k_hash_b);
  CHECK(serial.id == "2024010200");
  CHECK(serial.bumped);

  IdDecision hash = decide_id(IdFormat::Hash, k_now, published(k_hash_a.substr(0, 32), k_hash_a), k_hash_b);
  CHECK(hash.id == k_hash_b.substr(0, 32));
  CHECK(hash.bumped);
}

TEST_CASE("timestamp ids stay monotonic when the clock repeats or goes backwards", "[policy_id]") {
  SECTION("same second") {
    IdDecision d = decide_id(IdFormat::Timestamp, k_now, published("20240102030405", k_hash_a), k_hash_b);
    CHECK(d.id == "20240102030406");
    CHECK(d.bumped);
  }
  SECTION("clock went back a day") {
    IdDecision d =
        decide_id(IdFormat::Timestamp, k_now - 86400, published("20240102030405", k_hash_a), k_hash_b);
    CHECK(d.id == "20240102030406");
  }
  SECTION("carry across minute, hour, day, month and year") {
    IdDecision d = decide_id(IdFormat::Timestamp, k_now, published("20241231235959", k_hash_a), k_hash_b);
    CHECK(d.id == "20250101000000");
  }
  SECTION("leap day") {
    IdDecision d = decide_id(IdFormat::Timestamp, k_now, published("20240228235959", k_hash_a), k_hash_b);
    CHECK(d.id == "20240229000000");
  }
  SECTION("a 14-digit previous id that is no real time still gets an id after it") {
    IdDecision d = decide_id(IdFormat::Timestamp, k_now, published("20249999999998", k_hash_a), k_hash_b);
    CHECK(d.id == "20249999999999");
  }
  SECTION("a chain of changes within one second keeps sorting after") {
    std::optional<PublishedPolicy> previous;
    std::string last;
    for (int i = 0; i < 100; ++i) {
      std::string hash = std::to_string(i) + k_hash_a;
      IdDecision d = decide_id(IdFormat::Timestamp, k_now, previous, hash);
      CHECK(d.bumped);
      if (!last.empty()) {
        CHECK(d.id > last);
        CHECK(d.id.size() == last.size());
      }
      last = d.id;
      previous = PublishedPolicy{d.id, hash};
    }
    CHECK(last == "20240102030544");  // 03:04:05 + 99 s
  }
}

TEST_CASE("serial ids count up within a day", "[policy_id]") {
  CHECK(decide_id(IdFormat::Serial, k_now, published("2024010200", k_hash_a), k_hash_b).id == "2024010201");
  CHECK(decide_id(IdFormat::Serial, k_now, published("2024010209", k_hash_a), k_hash_b).id == "2024010210");
  CHECK(decide_id(IdFormat::Serial, k_now, published("2024010198", k_hash_a), k_hash_b).id == "2024010200");
}

TEST_CASE("serial rollover past 99 and a backwards clock", "[policy_id]") {
  SECTION("past 99 continues from previous + 1") {
    IdDecision d = decide_id(IdFormat::Serial, k_now, published("2024010299", k_hash_a), k_hash_b);
    CHECK(d.id == "2024010300");
    CHECK(d.bumped);
    // And the next change the same day keeps counting from there.
    IdDecision next = decide_id(IdFormat::Serial, k_now, published(d.id, k_hash_b), k_hash_a);
    CHECK(next.id == "2024010301");
    CHECK(next.id > d.id);
  }
  SECTION("previous from a later day") {
    IdDecision d = decide_id(IdFormat::Serial, k_now, published("2024020507", k_hash_a), k_hash_b);
    CHECK(d.id == "2024020508");
  }
  SECTION("150 changes in one day stay strictly increasing") {
    std::optional<PublishedPolicy> previous;
    std::string last;
    for (int i = 0; i < 150; ++i) {
      std::string hash = std::to_string(i) + k_hash_b;
      IdDecision d = decide_id(IdFormat::Serial, k_now, previous, hash);
      REQUIRE(d.id.size() == 10);
      if (!last.empty()) {
        CHECK(d.id > last);
      }
      last = d.id;
      previous = PublishedPolicy{d.id, hash};
    }
  }
}

TEST_CASE("hash ids are 1-32 alphanumerics (RFC 8461 3.1)", "[policy_id]") {
  IdDecision d = decide_id(IdFormat::Hash, k_now, std::nullopt, k_hash_b);
  CHECK(d.id.size() == 32);
  CHECK(d.id.find_first_not_of("0123456789abcdef") == std::string::npos);
  // Independent of time.
  CHECK(decide_id(IdFormat::Hash, k_now + 5000, std::nullopt, k_hash_b).id == d.id);
}

TEST_CASE("switching the id format still gives a different id", "[policy_id]") {
  const std::string ts = "20240102030405";
  const std::string serial = "2024010203";
  const std::string hash = k_hash_a.substr(0, 32);
  for (const std::string& previous_id : {ts, serial, hash}) {
    for (IdFormat format : {IdFormat::Timestamp, IdFormat::Serial, IdFormat::Hash}) {
      for (int64_t now : {k_now - 86400, k_now, k_now + 86400}) {
        IdDecision d = decide_id(format, now, published(previous_id, k_hash_a), k_hash_b);
        CHECK(d.id != previous_id);
        CHECK(d.bumped);
      }
    }
  }
  SECTION("a foreign previous id of timestamp length still gets a different id") {
    IdDecision d = decide_id(IdFormat::Timestamp, k_now, published("zzzzzzzzzzzzzz", k_hash_a), k_hash_b);
    CHECK(d.id == "20240102030405");
    CHECK(d.bumped);
  }
  SECTION("a foreign previous id of serial length") {
    IdDecision d = decide_id(IdFormat::Serial, k_now, published("abcdefghij", k_hash_a), k_hash_b);
    CHECK(d.id == "2024010200");
  }
}

TEST_CASE("decide_next_id: published, pending and live ids") {
  const int64_t now = 1798372800;  // 2026-12-27T12:00:00Z
  IdHistory known;
  known.published = PublishedPolicy{"20261201000000", "h1"};
  SECTION("unchanged policy keeps the published id") {
    CHECK(decide_next_id(IdFormat::Timestamp, now, known, "h1").id == "20261201000000");
    CHECK_FALSE(decide_next_id(IdFormat::Timestamp, now, known, "h1").bumped);
  }
  SECTION("a pending id for the same hash is reused, later") {
    known.pending = PublishedPolicy{"20261220000000", "h2"};
    IdDecision decision = decide_next_id(IdFormat::Timestamp, now + 86400, known, "h2");
    CHECK(decision.id == "20261220000000");
    CHECK(decision.bumped);
  }
  SECTION("a third policy sorts after the pending id, even with an earlier clock") {
    known.pending = PublishedPolicy{"20271220000000", "h2"};
    IdDecision decision = decide_next_id(IdFormat::Timestamp, now, known, "h3");
    CHECK(decision.id == "20271220000001");
    CHECK(decision.bumped);
  }
  SECTION("a live id the state does not know is stepped past") {
    IdHistory adopted;
    adopted.live_id = "20991231235959";
    CHECK(decide_next_id(IdFormat::Timestamp, now, adopted, "h1").id == "21000101000000");
    adopted.live_id = "210803";  // another length: a plain new id, which differs
    CHECK(decide_next_id(IdFormat::Timestamp, now, adopted, "h1").id == "20261227120000");
  }
}
