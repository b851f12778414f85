#pragma once
// Address lookups through the system resolver (getaddrinfo), for the edges
// that must reach a server by name the way the operator's host would.

#include <string>
#include <vector>

struct sockaddr;

namespace stsctl {

/// The numeric text of an IPv4 or IPv6 socket address ("" for other families).
std::string address_text(const sockaddr* address);

/// The addresses `name` resolves to through the system resolver, in the
/// resolver's order without duplicates. On failure returns none and sets
/// *error (when given) to getaddrinfo's reason.
std::vector<std::string> resolve_addresses(const std::string& name, std::string* error = nullptr);

}  // namespace stsctl
