#pragma once
// Internal to the PowerDNS provider: the provider class, shared by
// powerdns_provider.cpp (setup, requests, errors), powerdns_read.cpp
// (read_zones) and powerdns_write.cpp (apply_zones).

#include "powerdns/powerdns_http.h"
#include "powerdns/powerdns_provider.h"

#include <nlohmann/json.hpp>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace stsctl::powerdns {

using nlohmann::json;

// Bounded concurrency: PowerDNS 4.7 spends ~3 ms of CPU per PATCH and closes
// every connection, so more in flight only queues on the server.
constexpr size_t k_max_in_flight = 8;
constexpr size_t k_max_error_text = 400;
// A busy backend (gsqlite3: "database is locked" with concurrent writers)
// answers 5xx and rolls the transaction back. GET, REPLACE and DELETE are
// idempotent, so such answers are retried a few times with jittered backoff.
constexpr int k_max_attempts = 6;
// read_zones uses search-data (a few requests for any number of zones) from
// this many zones on; fewer are read whole, one GET each (8 in flight), which
// is as fast and does not scan the whole server.
constexpr size_t k_search_min_zones = 32;
// ... and only while the server holds at most this many zones per zone read:
// each search scans every record of the server and returns the matches of
// every zone, so for a small share of a big server per-zone GETs cost less.
constexpr size_t k_search_max_zones_per_query = 16;
// Default max results per search: enough for every record at an owned name in
// every zone of the server (a policy host has a few A/AAAA/CAA records).
constexpr size_t k_search_results_per_zone = 64;
constexpr size_t k_search_min_results = 10000;

// Caps how many zone PATCHes are in flight for one apply_zones call. It starts
// at one when the server's backend is known to serialise writes, else at
// k_max_in_flight; the first 5xx answer to a PATCH drops it to one for the
// rest of the call (a backend busy with concurrent writers).
class WriteGate {
 public:
  explicit WriteGate(size_t limit) : m_limit(limit) {}
  void acquire() {
    std::unique_lock<std::mutex> lock(m_mutex);
    m_changed.wait(lock, [this] { return m_active < m_limit; });
    ++m_active;
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      --m_active;
    }
    m_changed.notify_all();
  }
  void serialise() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_limit = 1;
  }

 private:
  std::mutex m_mutex;
  std::condition_variable m_changed;
  size_t m_active = 0;
  size_t m_limit;
};

using DisabledRecords = std::map<RRsetKey, std::vector<std::string>>;

// The disabled records of owned RRsets from the last read of each zone, so
// that a REPLACE by the same provider object keeps them (the deploy engine
// reads and applies through one object per run).
class DisabledStore {
 public:
  void put(const std::string& key, DisabledRecords records) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_by_zone[key] = std::move(records);
  }
  std::vector<std::string> get(const std::string& key, const RRsetKey& rrset) {
    std::lock_guard<std::mutex> lock(m_mutex);
    auto zone_it = m_by_zone.find(key);
    if (zone_it == m_by_zone.end()) {
      return {};
    }
    auto it = zone_it->second.find(rrset);
    return it == zone_it->second.end() ? std::vector<std::string>{} : it->second;
  }

 private:
  std::mutex m_mutex;
  std::map<std::string, DisabledRecords> m_by_zone;
};

/// `name` lowercased with a trailing dot; `zone` without one.
std::string absolute_name(const std::string& name);
std::string strip_dot(const std::string& zone);
/// The server's error text from a failed answer, on one line, cut at k_max_error_text.
std::string server_error_text(const HttpResponse& response);
bool string_field(const json& object, const char* name, std::string& out);
bool is_true(const json& object, const char* name);

class PowerdnsProvider : public Provider {
 public:
  PowerdnsProvider(const PowerdnsConfig& config, PowerdnsLog log, PowerdnsReadTuning tuning);
  std::vector<ZoneReadResult> read_zones(const std::vector<ZoneQuery>& queries) override;
  std::vector<ZoneApplyResult> apply_zones(const std::vector<ZonePlan>& plans) override;

 private:
  // --- powerdns_provider.cpp
  /// Runs work(i, client) for i in [0, count) on up to `workers` threads
  /// (util/parallel.h), each call with an HTTP client from the pool (kept
  /// across calls, so connections are reused where the server allows it).
  /// An exception for one item becomes that item's error via fail(i, text).
  void for_each_parallel(size_t count, size_t workers, const std::function<void(size_t, HttpClient&)>& work,
                         const std::function<void(size_t, const std::string&)>& fail);
  std::unique_ptr<HttpClient> take_client();
  void give_client(std::unique_ptr<HttpClient> client);
  void drop_spare_connections();
  HttpResponse send(HttpClient& client, const std::string& method, const std::string& url,
                    const std::string& body = "", WriteGate* gate = nullptr,
                    const ZoneBreaker* breaker = nullptr);
  /// The API URL of `segments` below /api/v1/servers/<server_id> (util: curl's URL API).
  std::string url(const std::vector<std::string>& segments,
                  const std::vector<std::pair<std::string, std::string>>& query = {}) const;
  std::string zone_url(const std::string& zone) const;
  std::string disabled_key(const std::string& zone) const;
  std::string head(const std::string& verb, const std::string& zone) const;
  ProviderError zone_missing(const std::string& verb, const std::string& zone,
                             const std::string& cause) const;
  ProviderError failure(const std::string& verb, const std::string& zone, const HttpResponse& response) const;
  // --- powerdns_read.cpp
  ZoneReadResult read_one(HttpClient& client, const ZoneQuery& query, const ZoneBreaker* breaker = nullptr);
  bool read_by_search(const std::vector<ZoneQuery>& queries, const std::vector<size_t>& indexes,
                      std::vector<ZoneReadResult>& results);
  std::optional<json> search_records(HttpClient& client, const std::string& pattern, size_t limit);
  // --- powerdns_write.cpp
  bool backend_serialises_writes();
  static bool launches_gsqlite3(const std::string& launch);
  std::vector<std::string> disabled_records(const std::string& zone, const RRsetKey& key);
  json rrset_entry(const std::string& zone, const Change& change);
  ZoneApplyResult apply_one(HttpClient& client, const ZonePlan& plan, WriteGate& gate,
                            const ZoneBreaker* breaker = nullptr);

  PowerdnsConfig m_config;
  std::string m_base_url;
  std::string m_shown_url;
  Secret m_key;
  PowerdnsLog m_log;
  PowerdnsReadTuning m_tuning;
  std::mutex m_backend_mutex;
  std::optional<bool> m_serialises_writes;  // unknown until the first multi-zone apply
  DisabledStore m_disabled_store;
  std::mutex m_pool_mutex;
  std::vector<std::unique_ptr<HttpClient>> m_pool;
};

}  // namespace stsctl::powerdns
