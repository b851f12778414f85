#pragma once
// An IP literal and a port as a socket address, for the edges that connect
// to an address they already know (a resolved policy host, the PowerDNS API's
// spare connection). Pure: no lookup, no socket.

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

namespace stsctl {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  std::string text;  // "addr:port", an IPv6 address in brackets

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
};

/// `ip` (IPv4, or IPv6 with or without brackets) at `port`; nullopt when
/// `ip` is not an IP literal (a name is never looked up here).
std::optional<SocketAddress> socket_address(const std::string& ip, uint16_t port);

}  // namespace stsctl
