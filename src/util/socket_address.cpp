#include "util/socket_address.h"

#include <arpa/inet.h>

namespace stsctl {

std::optional<SocketAddress> socket_address(const std::string& ip, uint16_t port) {
  std::string bare =
      ip.size() > 2 && ip.front() == '[' && ip.back() == ']' ? ip.substr(1, ip.size() - 2) : ip;
  SocketAddress out;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (inet_pton(AF_INET, bare.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.length = sizeof(sockaddr_in);
    out.text = bare + ":" + std::to_string(port);
    return out;
  }
  if (inet_pton(AF_INET6, bare.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.length = sizeof(sockaddr_in6);
    out.text = "[" + bare + "]:" + std::to_string(port);
    return out;
  }
  return std::nullopt;
}

}  // namespace stsctl
