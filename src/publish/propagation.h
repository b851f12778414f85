#pragma once
// After a push: do the zone's authoritative name servers serve the new id?
// Edge module (DNS queries with ldns, address lookups with getaddrinfo).

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace stsctl {

struct PropagationTarget {
  std::string owner;                     // "_mta-sts.example.net."
  std::string expected_txt;              // "v=STSv1; id=20261122150000"
  std::vector<std::string> nameservers;  // absolute NS names of the zone
};

struct PropagationOptions {
  double timeout_seconds = 60;
  double interval_seconds = 1;
  /// NS name (no trailing dot) -> "addr:port"; names not listed are resolved
  /// with the system resolver and queried on port 53.
  std::map<std::string, std::string> addresses;
};

struct NameserverLag {
  std::string owner;
  std::string nameserver;
  std::string seen;  // what it served last ("" when nothing; an error text in parentheses)
};

/// Queries each name server (no recursion) until every one serves
/// `expected_txt` at `owner` or the timeout passes. `progress` gets
/// (done, total) after each round. Returns the name servers that lag.
std::vector<NameserverLag> wait_for_propagation(const std::vector<PropagationTarget>& targets,
                                                const PropagationOptions& options,
                                                const std::function<void(size_t, size_t)>& progress = {});

}  // namespace stsctl
