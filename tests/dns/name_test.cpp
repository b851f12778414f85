#include <catch2/catch.hpp>

#include <string>

#include "dns/name.h"

using namespace stsctl;

TEST_CASE("normalize_name lowercases and strips one trailing dot", "[dns][name]") {
  CHECK(normalize_name("Example.NET.") == "example.net");
  CHECK(normalize_name("example.net") == "example.net");
  CHECK(normalize_name("") == "");
  CHECK(normalize_name(".") == "");
}

TEST_CASE("host_name_error accepts LDH host names", "[dns][name]") {
  CHECK_FALSE(host_name_error("example.net"));
  CHECK_FALSE(host_name_error("mail-1.example.net"));
  CHECK_FALSE(host_name_error("1mail.example.net"));
  CHECK_FALSE(host_name_error("xn--bcher-kva.example"));
  CHECK_FALSE(host_name_error(std::string(63, 'a') + ".example"));
}

TEST_CASE("host_name_error explains what is wrong", "[dns][name]") {
  CHECK(host_name_error("") == std::string("is empty"));
  CHECK(host_name_error("example") == std::string("needs at least two labels (like example.net)"));
  CHECK(host_name_error("a..example") == std::string("has an empty label"));
  CHECK(host_name_error(".example") == std::string("has an empty label"));
  CHECK(host_name_error("mail_1.example") ==
        std::string("label 'mail_1' has '_' (letters, digits and '-' only)"));
  CHECK(host_name_error("my host.example") ==
        std::string("label 'my host' has space (letters, digits and '-' only)"));
  CHECK(host_name_error("-mail.example") == std::string("label '-mail' starts or ends with '-'"));
  CHECK(host_name_error("mail-.example") == std::string("label 'mail-' starts or ends with '-'"));
  CHECK(host_name_error(std::string(64, 'a') + ".example") ==
        std::string("label 'aaaaaaaaaaaaaaaaaaaa...' is longer than 63 characters"));
  CHECK(host_name_error("192.0.2.1") == std::string("looks like an IP address, not a host name"));
  CHECK(host_name_error("*.example.net") == std::string("label '*' has '*' (letters, digits and '-' only)"));
}

TEST_CASE("host_name_error limits the whole name to 253 characters", "[dns][name]") {
  std::string label(63, 'a');
  std::string name_253 = label + "." + label + "." + label + "." + std::string(61, 'b');  // 63*3+3+61 = 253
  REQUIRE(name_253.size() == 253);
  CHECK_FALSE(host_name_error(name_253));
  std::string name_254 = name_253 + "b";
  CHECK(host_name_error(name_254) == std::string("is 254 characters long (at most 253)"));
}

TEST_CASE("mx_pattern_error allows a wildcard only as the whole leftmost label", "[dns][name]") {
  CHECK_FALSE(mx_pattern_error("mail.example.net"));
  CHECK_FALSE(mx_pattern_error("*.example.net"));
  CHECK_FALSE(mx_pattern_error("*.mx.example.net"));
  const std::string message = "'*' may appear only as the whole leftmost label (like *.mx.example.net)";
  CHECK(mx_pattern_error("mx*.example.net") == message);
  CHECK(mx_pattern_error("mail.*.example.net") == message);
  CHECK(mx_pattern_error("*.*.example.net") == message);
  CHECK(mx_pattern_error("*") == message);
  CHECK(mx_pattern_error("*.net") == std::string("needs at least two labels (like example.net)"));
  CHECK(mx_pattern_error("*.ex_ample.net") ==
        std::string("label 'ex_ample' has '_' (letters, digits and '-' only)"));
}

TEST_CASE("is_in_zone compares whole labels", "[dns][name]") {
  CHECK(is_in_zone("example.net", "example.net"));
  CHECK(is_in_zone("mta-sts.example.net", "example.net"));
  CHECK(is_in_zone("a.b.example.net", "example.net"));
  CHECK(is_in_zone("example.net", "net"));
  CHECK_FALSE(is_in_zone("badexample.net", "example.net"));
  CHECK_FALSE(is_in_zone("example.net", "mta-sts.example.net"));
  CHECK_FALSE(is_in_zone("example.org", "example.net"));
}

TEST_CASE("mx_pattern_matches follows RFC 8461 section 4.1", "[dns][name]") {
  CHECK(mx_pattern_matches("mail.example.com", "mail.example.com"));
  CHECK(mx_pattern_matches("mail.example.com", "MAIL.Example.com."));
  CHECK_FALSE(mx_pattern_matches("mail.example.com", "mail2.example.com"));
  CHECK(mx_pattern_matches("*.example.com", "mail.example.com"));
  CHECK(mx_pattern_matches("*.Example.COM", "Mail.example.com."));
  CHECK_FALSE(mx_pattern_matches("*.example.com", "example.com"));
  CHECK_FALSE(mx_pattern_matches("*.example.com", "a.b.example.com"));
  CHECK_FALSE(mx_pattern_matches("*.example.com", ".example.com"));
  CHECK_FALSE(mx_pattern_matches("*.example.com", "mail.example.org"));
  CHECK_FALSE(mx_pattern_matches("*.example.com", "mailexample.com"));
}

TEST_CASE("absolute adds one trailing dot", "[dns][name]") {
  CHECK(absolute("example.net") == "example.net.");
  CHECK(absolute("example.net.") == "example.net.");
}
