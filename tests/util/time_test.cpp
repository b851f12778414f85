#include "util/time.h"

#include <catch2/catch.hpp>

using namespace stsctl;

TEST_CASE("parse_rfc3339 accepts real times and offsets", "[time]") {
  CHECK(parse_rfc3339("2026-11-22T15:00:00Z") == 1795359600);
  CHECK(parse_rfc3339("2026-11-22T17:00:00+02:00") == 1795359600);
  CHECK(parse_rfc3339("2026-11-22T15:00:00.250Z") == 1795359600);
  CHECK(parse_rfc3339("2026-11-22") == 1795305600);
  CHECK(parse_rfc3339("2028-02-29T00:00:00Z") == 1835395200);  // a leap day
  CHECK(parse_rfc3339("2016-12-31T23:59:60Z") == 1483228800);  // a leap second
}

TEST_CASE("parse_rfc3339 refuses dates that do not exist", "[time]") {
  for (const char* text : {"2026-02-31T00:00:00Z", "2026-02-29", "2026-04-31T12:00:00Z", "2026-13-01",
                           "2026-00-10", "2026-11-22T24:00:00Z", "2026-11-22T15:60:00Z", "garbage", ""}) {
    INFO(text);
    CHECK_FALSE(parse_rfc3339(text));
  }
}

TEST_CASE("format_rfc3339 and parse_rfc3339 round-trip", "[time]") {
  for (int64_t t : {int64_t{0}, int64_t{951782400}, int64_t{1795359600}, int64_t{4102444799}}) {
    CHECK(parse_rfc3339(format_rfc3339(t)) == t);
  }
}
