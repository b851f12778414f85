#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include "config/values.h"

using namespace stsctl;

TEST_CASE("parse_duration reads a positive count and a unit", "[config][values]") {
  CHECK(parse_duration("90s") == 90);
  CHECK(parse_duration("30m") == 1800);
  CHECK(parse_duration("12h") == 43200);
  CHECK(parse_duration("7d") == 604800);
  CHECK(parse_duration("2w") == 1209600);
  CHECK_FALSE(parse_duration("0d"));
  CHECK_FALSE(parse_duration("7"));
  CHECK_FALSE(parse_duration("d"));
  CHECK_FALSE(parse_duration("7 d"));
  CHECK_FALSE(parse_duration("-1d"));
  CHECK_FALSE(parse_duration("1y"));
  CHECK_FALSE(parse_duration("1.5h"));
  CHECK_FALSE(parse_duration("99999999999999d"));
}

TEST_CASE("parse_host_port accepts names, IPv4 and bracketed IPv6", "[config][values]") {
  HostPort out;
  CHECK_FALSE(parse_host_port("127.0.0.1:5353", 53, &out));
  CHECK(out.host == "127.0.0.1");
  CHECK(out.port == 5353);
  CHECK_FALSE(parse_host_port("[2001:DB8::1]:53", 53, &out));
  CHECK(out.host == "2001:db8::1");
  CHECK_FALSE(parse_host_port("NS1.Example.NET", 53, &out));
  CHECK(out.host == "ns1.example.net");
  CHECK(out.port == 53);
  CHECK_FALSE(parse_host_port("localhost:8081", 0, &out));
  CHECK(out.host == "localhost");
  CHECK(out.port == 8081);
  CHECK_FALSE(parse_host_port("::1", 53, &out));
  CHECK(out.host == "::1");
}

TEST_CASE("parse_host_port explains what is wrong", "[config][values]") {
  HostPort out;
  CHECK(parse_host_port("host.example", 0, &out) == std::string("needs a port (like host:443)"));
  CHECK(parse_host_port("host.example:", 53, &out) == std::string("has an empty port after ':'"));
  CHECK(parse_host_port("host.example:0", 53, &out) ==
        std::string("has port '0', which is not a number from 1 to 65535"));
  CHECK(parse_host_port("host.example:http", 53, &out) ==
        std::string("has port 'http', which is not a number from 1 to 65535"));
  CHECK(parse_host_port("[::1", 53, &out) ==
        std::string("has '[' without ']' (write IPv6 as [2001:db8::1]:53)"));
  CHECK(parse_host_port("[192.0.2.1]:53", 53, &out) ==
        std::string("'192.0.2.1' in brackets is not an IPv6 address"));
  CHECK(parse_host_port("192.0.2.300:53", 53, &out) ==
        std::string("'192.0.2.300' is not a valid IPv4 address"));
  CHECK(parse_host_port(":53", 53, &out) == std::string("has no host"));
  CHECK(parse_host_port("bad_host:53", 53, &out) ==
        std::string("host 'bad_host' label 'bad_host' has '_' (letters, digits and '-' only)"));
}

TEST_CASE("canonical_ip gives inet_ntop text", "[config][values]") {
  CHECK(canonical_ip("192.0.2.1", AF_INET) == std::string("192.0.2.1"));
  CHECK(canonical_ip("2001:DB8:0:0:0:0:0:1", AF_INET6) == std::string("2001:db8::1"));
  CHECK_FALSE(canonical_ip("2001:db8::1", AF_INET));
  CHECK_FALSE(canonical_ip("192.0.2.1", AF_INET6));
  CHECK_FALSE(canonical_ip("192.0.2", AF_INET));
}

TEST_CASE("rua_error follows RFC 8460 section 3", "[config][values]") {
  CHECK_FALSE(rua_error("mailto:tlsrpt@example.net"));
  CHECK_FALSE(rua_error("MAILTO:tlsrpt@Example.NET"));
  CHECK_FALSE(rua_error("mailto:a%2Cb@example.net"));
  CHECK_FALSE(rua_error("https://reports.example.net"));
  CHECK_FALSE(rua_error("https://reports.example.net:8443/v1?a=b"));
  CHECK(rua_error("mailto:a;b@example.net") ==
        std::string(
            "'mailto:a;b@example.net' has ';', which must be written %3B inside a URI (RFC 8460 section 3)"));
  CHECK(rua_error("mailto:a%zz@example.net") ==
        std::string("'mailto:a%zz@example.net' has a '%' not followed by two hex digits"));
  CHECK(rua_error("mailto:a b@example.net") ==
        std::string("'mailto:a b@example.net' contains white space or a control character"));
  CHECK(rua_error("mailto:@example.net") ==
        std::string("'mailto:@example.net' needs an address like mailto:tlsrpt@example.net"));
  CHECK(rua_error("mailto:a<b@example.net") ==
        std::string("'mailto:a<b@example.net' has '<' in the local part of the address"));
  CHECK(rua_error("https://") == std::string("'https://' has no host (like https://reports.example.net/v1)"));
  CHECK(rua_error("https://user@reports.example.net/") ==
        std::string("'https://user@reports.example.net/' must not carry user information"));
  CHECK(rua_error("https://reports.example.net:99999/") ==
        std::string(
            "'https://reports.example.net:99999/' has port '99999', which is not a number from 1 to 65535"));
  CHECK(rua_error("tlsrpt@example.net") ==
        std::string("'tlsrpt@example.net' is not a mailto: or https: URI (like mailto:tlsrpt@example.net)"));
}

TEST_CASE("caa_value_error follows RFC 8659", "[config][values]") {
  CHECK_FALSE(caa_value_error("issue", "letsencrypt.org"));
  CHECK_FALSE(caa_value_error("issue", ";"));
  CHECK_FALSE(caa_value_error("issuewild", "pki.goog; cansignhttpexchanges=yes"));
  CHECK_FALSE(caa_value_error(
      "issue", "letsencrypt.org; accounturi=https://x.example/acct/1; validationmethods=dns-01"));
  CHECK_FALSE(caa_value_error("iodef", "mailto:security@example.net"));
  CHECK_FALSE(caa_value_error("iodef", "https://iodef.example.net/report"));
  CHECK(caa_value_error("issue", "") ==
        std::string("value must be a CA domain name (like letsencrypt.org) or \";\" to forbid issuance"));
  CHECK(caa_value_error("issue", "lets_encrypt.org") ==
        std::string(
            "CA domain 'lets_encrypt.org' label 'lets_encrypt' has '_' (letters, digits and '-' only)"));
  CHECK(caa_value_error("issue", "letsencrypt.org; noequals") ==
        std::string("parameter 'noequals' is not key=value (like accounturi=https://...)"));
  CHECK(caa_value_error("issue", "say \"hi\"") ==
        std::string("value must not contain '\"', '\\' or control characters"));
  CHECK(caa_value_error("iodef", "security@example.net") ==
        std::string("'security@example.net' is not a mailto: or https: URL (iodef reports go there)"));
}

TEST_CASE("server_name_error allows single labels", "[config][values]") {
  CHECK_FALSE(server_name_error("localhost"));
  CHECK_FALSE(server_name_error("stsctl-key"));
  CHECK_FALSE(server_name_error("ns1.example.net"));
  CHECK(server_name_error("bad_key") ==
        std::string("label 'bad_key' has '_' (letters, digits and '-' only)"));
  CHECK(server_name_error("53") == std::string("is a number, not a name"));
  CHECK(server_name_error("") == std::string("is empty"));
}

TEST_CASE("url_scheme tells a URL from a file path", "[config][values]") {
  CHECK(url_scheme("postgresql://db/stsctl") == "postgresql");
  CHECK(url_scheme("mysql://db/stsctl") == "mysql");
  CHECK(url_scheme("svn+ssh://host/x") == "svn+ssh");
  CHECK(url_scheme("/var/lib/stsctl/stsctl.db") == "");
  CHECK(url_scheme("state/stsctl.db") == "");
  CHECK(url_scheme("://nothing") == "");
  CHECK(url_scheme("dir with space://x") == "");
}

TEST_CASE("parse_postgres_url checks each host's port", "[config][values]") {
  std::string error;
  CHECK(parse_postgres_url("postgresql://stsctl@db1:5432,db2,[2001:db8::1]:5433/stsctl", &error));
  CHECK(parse_postgres_url("postgresql://", &error));
  CHECK_FALSE(parse_postgres_url("postgresql://db:0/stsctl", &error));
  CHECK(error == "host 'db:0' has port '0', which is not a number from 1 to 65535");
  CHECK_FALSE(parse_postgres_url("postgres://u@db:/stsctl?sslmode=require", &error));
  CHECK(error == "host 'db:' has port '', which is not a number from 1 to 65535");
  CHECK_FALSE(parse_postgres_url("postgresql://[2001:db8::1/stsctl", &error));
  CHECK(error == "host '[2001:db8::1' has '[' without ']' (write IPv6 as [2001:db8::1]:5432)");
}
