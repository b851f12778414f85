#include "policy/policy.h"

#include <catch2/catch.hpp>

using namespace stsctl;

TEST_CASE("policy_text is the canonical CRLF file", "[policy]") {
  Policy policy = make_policy(PolicyMode::Enforce, 604800, {"mail.example.net", "*.mx.example.net"});
  CHECK(policy_text(policy) ==
        "version: STSv1\r\n"
        "mode: enforce\r\n"
        "mx: *.mx.example.net\r\n"
        "mx: mail.example.net\r\n"
        "max_age: 604800\r\n");
}

TEST_CASE("policy_text writes each mode", "[policy]") {
  CHECK(policy_text(make_policy(PolicyMode::Testing, 86400, {"mx.example.org"})) ==
        "version: STSv1\r\nmode: testing\r\nmx: mx.example.org\r\nmax_age: 86400\r\n");
  SECTION("mode none keeps configured mx lines") {
    CHECK(policy_text(make_policy(PolicyMode::None, 86400, {"mx.example.org"})) ==
          "version: STSv1\r\nmode: none\r\nmx: mx.example.org\r\nmax_age: 86400\r\n");
  }
  SECTION("mode none without mx") {
    CHECK(policy_text(make_policy(PolicyMode::None, 86400, {})) ==
          "version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n");
  }
}

TEST_CASE("every line ends in CRLF and there is no bare LF", "[policy]") {
  std::string text = policy_text(make_policy(PolicyMode::Enforce, 31557600, {"a.example", "b.example"}));
  REQUIRE(text.size() > 2);
  CHECK(text.substr(text.size() - 2) == "\r\n");
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      REQUIRE(i > 0);
      CHECK(text[i - 1] == '\r');
    }
  }
}

TEST_CASE("make_policy canonicalises mx", "[policy]") {
  Policy policy =
      make_policy(PolicyMode::Testing, 86400,
                  {"MAIL.Example.NET.", "*.mx.example.net", "mail.example.net", "*.MX.example.net."});
  CHECK(policy.mx == std::vector<std::string>{"*.mx.example.net", "mail.example.net"});
  CHECK(policy.mode == PolicyMode::Testing);
  CHECK(policy.max_age == 86400);
}

TEST_CASE("reordered, duplicated and uppercased mx give the same bytes and hash", "[policy]") {
  Policy a = make_policy(PolicyMode::Enforce, 604800, {"mail.example.net", "backup.example.net"});
  Policy b =
      make_policy(PolicyMode::Enforce, 604800,
                  {"Backup.Example.Net.", "MAIL.example.net", "mail.example.net", "backup.example.net"});
  CHECK(policy_text(a) == policy_text(b));
  CHECK(policy_hash(a) == policy_hash(b));
}

TEST_CASE("the hash changes with mode, max_age and mx", "[policy]") {
  Policy base = make_policy(PolicyMode::Testing, 86400, {"mail.example.net"});
  std::string hash = policy_hash(base);
  CHECK(hash.size() == 64);
  CHECK(hash.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(policy_hash(make_policy(PolicyMode::Enforce, 86400, {"mail.example.net"})) != hash);
  CHECK(policy_hash(make_policy(PolicyMode::None, 86400, {"mail.example.net"})) != hash);
  CHECK(policy_hash(make_policy(PolicyMode::Testing, 86401, {"mail.example.net"})) != hash);
  CHECK(policy_hash(make_policy(PolicyMode::Testing, 86400, {"mail2.example.net"})) != hash);
  CHECK(policy_hash(make_policy(PolicyMode::Testing, 86400, {"mail.example.net", "b.example.net"})) != hash);
  CHECK(policy_hash(make_policy(PolicyMode::Testing, 86400, {"mail.example.net"})) == hash);
}

TEST_CASE("sha256_hex matches known vectors", "[policy]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string with_nul("a\0b", 3);
  CHECK(sha256_hex(with_nul) != sha256_hex("a"));
}

TEST_CASE("policy_hash is the SHA-256 of policy_text", "[policy]") {
  Policy policy = make_policy(PolicyMode::Enforce, 604800, {"mail.example.net"});
  CHECK(policy_hash(policy) == sha256_hex(policy_text(policy)));
}
