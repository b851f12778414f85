#include "net/address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>

#include "util/handles.h"

namespace stsctl {

std::string address_text(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = {};
  const void* bytes = nullptr;
  if (address->sa_family == AF_INET) {
    bytes = &reinterpret_cast<const sockaddr_in*>(address)->sin_addr;
  } else if (address->sa_family == AF_INET6) {
    bytes = &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
  } else {
    return "";
  }
  return inet_ntop(address->sa_family, bytes, text, sizeof text) != nullptr ? text : "";
}

std::vector<std::string> resolve_addresses(const std::string& name, std::string* error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;  // one entry per address, not one per socket type
  addrinfo* raw = nullptr;
  int rc = getaddrinfo(name.c_str(), nullptr, &hints, &raw);
  handle::AddrInfo list(raw);
  std::vector<std::string> addresses;
  if (rc != 0) {
    if (error != nullptr) {
      *error = gai_strerror(rc);
    }
    return addresses;
  }
  for (const addrinfo* entry = list.get(); entry != nullptr; entry = entry->ai_next) {
    std::string text = address_text(entry->ai_addr);
    if (!text.empty() && std::find(addresses.begin(), addresses.end(), text) == addresses.end()) {
      addresses.push_back(text);
    }
  }
  return addresses;
}

}  // namespace stsctl
