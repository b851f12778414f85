#pragma once
// DNS lookups for `stsctl check` (edge, ldns). A pool of worker threads, each
// with its own ldns_resolver, answers queries concurrently. Results tell a
// timeout apart from SERVFAIL, NXDOMAIN and NODATA; CNAMEs are followed.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stsctl {

enum class DnsStatus { Ok, NxDomain, NoData, ServFail, Refused, Timeout, Error };

const char* to_string(DnsStatus status);

struct DnsAnswer {
  DnsStatus status = DnsStatus::Error;
  std::string error;                     // human text unless Ok/NxDomain/NoData
  std::vector<std::string> records;      // TXT: strings joined without separator; A/AAAA: address;
                                         // MX: "<preference> <host>" (host normalised); CNAME chain excluded
  std::vector<std::string> cname_chain;  // names followed, normalised, starting after the query name
};

struct DnsOptions {
  std::string resolver;  // "IP", "IP:port" or "[IPv6]:port"; empty: /etc/resolv.conf
  double timeout_seconds = 5;
  int retries = 1;
  int workers = 8;
};

/// Thread pool of resolvers. Construction throws std::runtime_error when the
/// resolver address or /etc/resolv.conf cannot be used. Destruction waits for
/// queued lookups to finish.
class DnsLookup {
 public:
  explicit DnsLookup(const DnsOptions& options);
  ~DnsLookup();
  DnsLookup(const DnsLookup&) = delete;
  DnsLookup& operator=(const DnsLookup&) = delete;

  /// Queues a lookup; `type` is "TXT", "MX", "A", "AAAA" or "CNAME".
  std::shared_future<DnsAnswer> lookup_async(const std::string& name, const std::string& type);
  DnsAnswer lookup(const std::string& name, const std::string& type);

  /// Human name of the resolver in use (for messages).
  const std::string& resolver_description() const { return m_description; }

 private:
  struct Job {
    std::string name;
    std::string type;
    std::promise<DnsAnswer> promise;
  };

  DnsOptions m_options;
  std::string m_description;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<Job> m_jobs;
  bool m_stopping = false;
  std::vector<std::thread> m_threads;
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
