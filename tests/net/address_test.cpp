#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "net/address.h"

using namespace stsctl;

TEST_CASE("resolve_addresses reads literals and /etc/hosts names, and says why it failed") {
  CHECK(resolve_addresses("127.0.0.1") == std::vector<std::string>{"127.0.0.1"});
  CHECK(resolve_addresses("::1") == std::vector<std::string>{"::1"});
  std::vector<std::string> local = resolve_addresses("localhost");
  CHECK_FALSE(local.empty());
  std::string error;
  // An empty name fails inside the resolver library: no query leaves the host.
  CHECK(resolve_addresses("", &error).empty());
  CHECK(error == "Name or service not known");
}

TEST_CASE("address_text gives the numeric form of IPv4 and IPv6 socket addresses") {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  inet_pton(AF_INET, "192.0.2.40", &v4.sin_addr);
  CHECK(address_text(reinterpret_cast<sockaddr*>(&v4)) == "192.0.2.40");
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "2001:db8::0:40", &v6.sin6_addr);
  CHECK(address_text(reinterpret_cast<sockaddr*>(&v6)) == "2001:db8::40");
}
