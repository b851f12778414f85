#include <catch2/catch.hpp>

#include "config/edit_distance.h"

using stsctl::edit_distance;
using stsctl::spellcheck;

TEST_CASE("edit_distance counts insertions, deletions and replacements", "[config][edit_distance]") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("policy", "policy") == 0);
  CHECK(edit_distance("", "ttl") == 3);
  CHECK(edit_distance("ttl", "") == 3);
  CHECK(edit_distance("polcy", "policy") == 1);    // insertion
  CHECK(edit_distance("policyy", "policy") == 1);  // deletion
  CHECK(edit_distance("polixy", "policy") == 1);   // replacement
  CHECK(edit_distance("mdoe", "mode") == 2);       // a swap is two edits
  CHECK(edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("edit_distance without replacements counts them as two edits", "[config][edit_distance]") {
  CHECK(edit_distance("polixy", "policy", false) == 2);
  CHECK(edit_distance("kitten", "sitting", false) == 5);
}

TEST_CASE("edit_distance stops early past the limit", "[config][edit_distance]") {
  CHECK(edit_distance("abcdefgh", "zyxwvuts", true, 2) == 3);
  CHECK(edit_distance("policy", "polcy", true, 2) == 1);
  CHECK(edit_distance("abc", "abd", true, 1) == 1);
}

TEST_CASE("spellcheck suggests only close candidates", "[config][edit_distance]") {
  const std::vector<std::string> keys = {"zone", "alias_of", "provider", "ttl", "mx", "policy", "tlsrpt"};
  CHECK(spellcheck("polcy", keys) == "policy");
  CHECK(spellcheck("provder", keys) == "provider");
  CHECK(spellcheck("alias", keys) == "");  // 3 edits is too far for a 5-letter word
  CHECK(spellcheck("aliasof", keys) == "alias_of");
  CHECK(spellcheck("tl", keys) == "ttl");
  CHECK(spellcheck("foo", keys) == "");  // short words allow one edit only
  CHECK(spellcheck("colour", keys) == "");
  CHECK(spellcheck("x", {}) == "");
  CHECK(spellcheck("ab", {"ac", "ab"}) == "ab");  // exact match wins
  CHECK(spellcheck("aa", {"ab", "ac"}) == "ab");  // ties go to the first
}
