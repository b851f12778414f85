#include "util/socket_address.h"

#include <arpa/inet.h>
#include <catch2/catch.hpp>

using namespace stsctl;

TEST_CASE("socket_address makes IPv4 and IPv6 literals into socket addresses", "[socket_address]") {
  auto v4 = socket_address("192.0.2.7", 8081);
  REQUIRE(v4);
  CHECK(v4->family() == AF_INET);
  CHECK(v4->length == sizeof(sockaddr_in));
  CHECK(v4->text == "192.0.2.7:8081");
  const auto* in4 = reinterpret_cast<const sockaddr_in*>(v4->get());
  CHECK(ntohs(in4->sin_port) == 8081);
  CHECK(ntohl(in4->sin_addr.s_addr) == 0xC0000207);

  for (const char* text : {"2001:db8::1", "[2001:db8::1]"}) {
    INFO(text);
    auto v6 = socket_address(text, 443);
    REQUIRE(v6);
    CHECK(v6->family() == AF_INET6);
    CHECK(v6->length == sizeof(sockaddr_in6));
    CHECK(v6->text == "[2001:db8::1]:443");
    CHECK(ntohs(reinterpret_cast<const sockaddr_in6*>(v6->get())->sin6_port) == 443);
  }
}

TEST_CASE("socket_address refuses anything but an IP literal, never looking a name up", "[socket_address]") {
  for (const char* text :
       {"localhost", "mta-sts.example.com", "", "[]", "192.0.2.300", "[192.0.2.1", "1.2.3.4:80", "::1%lo"}) {
    INFO(text);
    CHECK_FALSE(socket_address(text, 443));
  }
}
