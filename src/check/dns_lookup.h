#pragma once
// DNS lookups for `stsctl check` (edge, ldns). Queries are pipelined: many
// are in flight at once on one UDP socket per address family, matched to
// answers by id and question, so thousands of lookups need no thread each.
// A truncated answer is asked again over TCP. Results tell a timeout apart
// from SERVFAIL, NXDOMAIN and NODATA; CNAMEs are followed.

#include "util/handles.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace stsctl {

enum class DnsStatus { Ok, NxDomain, NoData, ServFail, Refused, Timeout, Error };

const char* to_string(DnsStatus status);

struct DnsAnswer {
  DnsStatus status = DnsStatus::Error;
  std::string error;                     // human text unless Ok/NxDomain/NoData
  std::vector<std::string> records;      // TXT: strings joined without separator; A/AAAA: address;
                                         // MX: "<preference> <host>" (host normalised);
                                         // CAA: "<flags> <tag> <value>"; CNAME chain excluded
  std::vector<std::string> cname_chain;  // names followed, normalised, starting after the query name
};

struct DnsOptions {
  std::string resolver;        // "IP", "IP:port" or "[IPv6]:port"; empty: /etc/resolv.conf
  double timeout_seconds = 5;  // per query, shared by its tries
  int retries = 2;             // tries per query (at least one): UDP may lose a datagram
  // Queries awaiting an answer at once: bounded so a burst of answers fits
  // the socket's receive buffer (net.core.rmem_default) instead of being dropped.
  int max_in_flight = 100;
};

struct DnsQuery {
  std::string name;
  std::string type;  // "TXT", "MX", "A", "AAAA", "CNAME" or "CAA"
};

/// Pipelined lookups through one resolver. Construction throws
/// std::runtime_error when the resolver address or /etc/resolv.conf cannot be
/// used. Not thread-safe: one caller at a time.
class DnsLookup {
 public:
  explicit DnsLookup(const DnsOptions& options);
  ~DnsLookup();
  DnsLookup(const DnsLookup&) = delete;
  DnsLookup& operator=(const DnsLookup&) = delete;

  /// Answers in the order of `queries`; `progress(done, total)` is called as
  /// answers complete (may be empty).
  std::vector<DnsAnswer> lookup_many(const std::vector<DnsQuery>& queries,
                                     const std::function<void(size_t, size_t)>& progress = {});
  DnsAnswer lookup(const std::string& name, const std::string& type);

  /// Human name of the resolver in use (for messages).
  const std::string& resolver_description() const { return m_description; }

 private:
  struct Pipeline;
  DnsOptions m_options;
  std::string m_description;
  handle::LdnsResolver m_tcp;  // for answers truncated over UDP (RFC 7766)
};

/// Parses "IP", "IP:port", "[IPv6]:port" or a bare IPv6 address into address
/// and port (default 53). Throws std::invalid_argument when malformed.
std::pair<std::string, uint16_t> parse_resolver_address(const std::string& text);

struct HostAddresses {
  std::vector<std::string> addresses;  // A then AAAA records; empty when none
  DnsStatus a_status = DnsStatus::Ok;  // of the A lookup, to say why there are none
};

/// The addresses of each host (A and AAAA looked up in parallel), in the
/// order of `hosts`.
std::vector<HostAddresses> resolve_addresses(DnsLookup& dns, const std::vector<std::string>& hosts);

}  // namespace stsctl
