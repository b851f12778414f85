#include "powerdns/powerdns_content.h"
#include "powerdns/powerdns_http.h"
#include "provider.h"

#include <catch2/catch.hpp>

#include <cstdlib>

using namespace stsctl;
using namespace stsctl::powerdns;

TEST_CASE("TXT presentation parses into the joined logical string", "[powerdns][content]") {
  CHECK(parse_txt_content("\"v=STSv1; id=1\"") == "v=STSv1; id=1");
  CHECK(parse_txt_content("\"abc\" \"def\"") == "abcdef");
  CHECK(parse_txt_content("\"a\\\"b\\\\c\"") == "a\"b\\c");
  CHECK(parse_txt_content("\"v=STSv1\\059 id=1\"") == "v=STSv1; id=1");
  CHECK(parse_txt_content("unquoted") == "unquoted");
  CHECK(parse_txt_content("\"\"") == "");
  CHECK_FALSE(parse_txt_content("\"unterminated"));
  CHECK_FALSE(parse_txt_content("\"bad \\25\""));
  CHECK_FALSE(parse_txt_content("\"big \\300\""));
}

TEST_CASE("TXT is always quoted, escaped and split at 255 octets", "[powerdns][content]") {
  CHECK(format_txt_content("v=STSv1; id=1") == "\"v=STSv1; id=1\"");
  CHECK(format_txt_content("") == "\"\"");
  CHECK(format_txt_content("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(format_txt_content(std::string("\x01\xc3\xa9", 3)) == "\"\\001\\195\\169\"");

  std::string long_value(300, 'x');
  std::string formatted = format_txt_content(long_value);
  CHECK(formatted == "\"" + std::string(255, 'x') + "\" \"" + std::string(45, 'x') + "\"");
  CHECK(parse_txt_content(formatted) == long_value);

  // Escapes do not count towards the 255 octets, and round-trip.
  std::string quotes(600, '"');
  CHECK(parse_txt_content(format_txt_content(quotes)) == quotes);
  std::string exactly(255, 'y');
  CHECK(format_txt_content(exactly) == "\"" + exactly + "\"");
}

TEST_CASE("API content becomes stsctl's canonical form", "[powerdns][content]") {
  CHECK(canonical_value(RRType::A, "192.0.2.1") == "192.0.2.1");
  CHECK(canonical_value(RRType::AAAA, "2001:DB8:0:0::40") == "2001:db8::40");
  CHECK(canonical_value(RRType::CNAME, "Web.Example.NET.") == "web.example.net.");
  CHECK(canonical_value(RRType::NS, "ns1.example.net") == "ns1.example.net.");
  CHECK(canonical_value(RRType::MX, "10 Mail.Example.net.") == "10 mail.example.net.");
  CHECK(canonical_value(RRType::CAA, "0 issue \"letsencrypt.org\"") == "0 issue \"letsencrypt.org\"");
  CHECK(canonical_value(RRType::CAA, "128 ISSUE letsencrypt.org") == "128 issue \"letsencrypt.org\"");
  CHECK(canonical_value(RRType::CAA, "0 iodef \"mailto:a\\\"b@example.net\"") ==
        caa_value(0, "iodef", "mailto:a\"b@example.net"));
  CHECK(canonical_value(RRType::TXT, "\"v=TLSRPTv1; \" \"rua=mailto:x@example.net\"") ==
        "v=TLSRPTv1; rua=mailto:x@example.net");
  // Malformed content stays as it is rather than failing the read.
  CHECK(canonical_value(RRType::A, "not-an-address") == "not-an-address");
  CHECK(canonical_value(RRType::TXT, "\"open") == "\"open");
  CHECK(canonical_value(RRType::MX, "x mail.") == "x mail.");

  CHECK(api_content(RRType::TXT, "v=STSv1; id=1") == "\"v=STSv1; id=1\"");
  CHECK(api_content(RRType::CAA, "0 issue \"ca.example\"") == "0 issue \"ca.example\"");
}

TEST_CASE("API keys load from a file or the environment, never into messages", "[powerdns][secret]") {
  PowerdnsConfig config;
  config.name = "pdns";

  SECTION("no source") {
    REQUIRE_THROWS_AS(load_api_key(config), ProviderError);
    REQUIRE_THROWS_WITH(load_api_key(config),
                        "provider 'pdns': failed to read the API key (none configured): set api_key_file or "
                        "api_key_env");
  }
  SECTION("missing file") {
    config.api_key_file = "/nonexistent/pdns.key";
    REQUIRE_THROWS_WITH(
        load_api_key(config),
        "provider 'pdns': failed to read the API key (cannot read file '/nonexistent/pdns.key' (No "
        "such file or directory)): put the key in api_key_file");
  }
  SECTION("environment, trailing newline trimmed") {
    setenv("STSCTL_TEST_PDNS_KEY", "s3cret-value\n", 1);
    config.api_key_env = "STSCTL_TEST_PDNS_KEY";
    Secret key = load_api_key(config);
    CHECK(key.reveal() == "s3cret-value");
    Secret moved = std::move(key);
    CHECK(moved.reveal() == "s3cret-value");
    CHECK(key.empty());
    unsetenv("STSCTL_TEST_PDNS_KEY");
  }
  SECTION("unset variable") {
    config.api_key_env = "STSCTL_TEST_PDNS_KEY_UNSET";
    REQUIRE_THROWS_WITH(load_api_key(config),
                        "provider 'pdns': failed to read the API key (environment variable "
                        "'STSCTL_TEST_PDNS_KEY_UNSET' is not set): put the key in api_key_env");
  }
  SECTION("two lines are refused without echoing the key") {
    setenv("STSCTL_TEST_PDNS_KEY", "line-one\nline-two", 1);
    config.api_key_env = "STSCTL_TEST_PDNS_KEY";
    try {
      load_api_key(config);
      FAIL("expected an error");
    } catch (const ProviderError& e) {
      CHECK(std::string(e.what()).find("line-one") == std::string::npos);
      CHECK(std::string(e.what()) ==
            "provider 'pdns': failed to read the API key (environment variable 'STSCTL_TEST_PDNS_KEY' holds "
            "more "
            "than one line): it must contain only the API key");
    }
    unsetenv("STSCTL_TEST_PDNS_KEY");
  }
}

TEST_CASE("URLs shown in messages drop user:password", "[powerdns][secret]") {
  CHECK(redact_url("http://127.0.0.1:8081") == "http://127.0.0.1:8081");
  CHECK(redact_url("https://user:pw@pdns.example.net/x") == "https://pdns.example.net/x");
  CHECK(redact_url("https://user@pdns.example.net:8443/api") == "https://pdns.example.net:8443/api");
  CHECK(redact_url("not a url") == "not a url");
}

TEST_CASE("API URLs are built with curl's URL API, every part escaped", "[powerdns]") {
  CHECK(api_url("http://127.0.0.1:8081", {"api", "v1", "servers", "localhost", "zones", "example.test."}) ==
        "http://127.0.0.1:8081/api/v1/servers/localhost/zones/example.test.");
  // A path prefix in the configured url is kept; a trailing slash is not doubled.
  CHECK(api_url("https://pdns.example.net/pdns/", {"api", "v1", "servers", "a b/c"}) ==
        "https://pdns.example.net/pdns/api/v1/servers/a%20b%2fc");
  CHECK(api_url("http://127.0.0.1:8081", {"search-data"}, {{"q", "_mta-sts.*"}, {"max", "10"}}) ==
        "http://127.0.0.1:8081/search-data?q=_mta-sts.%2a&max=10");
  CHECK(api_url("not a url", {"x"}).empty());
}
