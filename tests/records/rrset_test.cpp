#include "records/rrset.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace stsctl;

namespace {

// The definition of RFC 4034 section 6.1 order, spelled out: labels compared
// from the right, a name that is a suffix of another sorts first.
std::vector<std::string> reversed_labels(std::string name) {
  if (!name.empty() && name.back() == '.') {
    name.pop_back();
  }
  std::vector<std::string> labels;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    labels.push_back(name.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) {
      break;
    }
    start = dot + 1;
  }
  std::reverse(labels.begin(), labels.end());
  return labels;
}

}  // namespace

TEST_CASE("canonical_name_less orders names by labels from the right") {
  std::vector<std::string> names{"",
                                 ".",
                                 "example.net.",
                                 "example.net",
                                 "a.example.net.",
                                 "_mta-sts.example.net.",
                                 "mta-sts.example.net.",
                                 "_smtp._tls.example.net.",
                                 "z.example.net.",
                                 "example.org.",
                                 "b.a.example.net.",
                                 "net.",
                                 "ab.example.net.",
                                 "a-b.example.net."};
  for (const auto& a : names) {
    for (const auto& b : names) {
      INFO(a << " vs " << b);
      CHECK(canonical_name_less(a, b) == (reversed_labels(a) < reversed_labels(b)));
    }
  }
  CHECK(canonical_name_less("example.net.", "_mta-sts.example.net."));
  CHECK(canonical_name_less("z.example.net.", "example.org."));
  CHECK_FALSE(canonical_name_less("mta-sts.example.net.", "mta-sts.example.net."));
}

TEST_CASE("canonical_less orders by owner, then type") {
  RRset a{"mta-sts.example.net.", RRType::A, 300, {"192.0.2.1"}};
  RRset caa{"mta-sts.example.net.", RRType::CAA, 300, {"0 issue \"ca.example\""}};
  RRset txt{"_mta-sts.example.net.", RRType::TXT, 300, {"v=STSv1; id=1"}};
  CHECK(canonical_less(txt, a));
  CHECK(canonical_less(a, caa));
  CHECK_FALSE(canonical_less(caa, a));
}

TEST_CASE("canonical_name_less agrees with the label-by-label definition on random names") {
  // Few letters and many dots, so names share suffixes, labels are prefixes
  // of each other, and empty labels occur.
  const std::string alphabet = "ab-_..";
  uint32_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 1103515245 + 12345;
    return (seed >> 16) & 0x7fff;
  };
  auto random_name = [&] {
    std::string name;
    size_t length = next() % 12;
    for (size_t i = 0; i < length; ++i) {
      name += alphabet[next() % alphabet.size()];
    }
    return name;
  };
  for (int round = 0; round < 20000; ++round) {
    std::string a = random_name();
    std::string b = round % 3 == 0 ? random_name() + "." + a : random_name();
    INFO("'" << a << "' vs '" << b << "'");
    REQUIRE(canonical_name_less(a, b) == (reversed_labels(a) < reversed_labels(b)));
    REQUIRE(canonical_name_less(b, a) == (reversed_labels(b) < reversed_labels(a)));
  }
}
