#include "powerdns/powerdns_provider.h"

#include "powerdns/powerdns_content.h"
#include "powerdns/powerdns_http.h"

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

namespace stsctl {

namespace {

using nlohmann::json;
using powerdns::HttpClient;
using powerdns::HttpResponse;

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

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string absolute_name(const std::string& name) {
  std::string result = lower(name);
  if (result.empty() || result.back() != '.') {
    result += '.';
  }
  return result;
}

std::string strip_dot(const std::string& zone) {
  if (!zone.empty() && zone.back() == '.') {
    return zone.substr(0, zone.size() - 1);
  }
  return zone;
}

// PowerDNS sends {"error": "..."} with 422 and plain text ("Not Found") with
// most other statuses.
std::string server_error_text(const HttpResponse& response) {
  std::string text;
  try {
    json parsed = json::parse(response.body);
    if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_string()) {
      text = parsed["error"].get<std::string>();
    }
  } catch (const json::exception&) {
  }
  if (text.empty()) {
    text = response.body;
  }
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') {
      c = ' ';
    }
  }
  while (!text.empty() && text.back() == ' ') {
    text.pop_back();
  }
  if (text.size() > k_max_error_text) {
    text = text.substr(0, k_max_error_text) + "...";
  }
  return text;
}

// Percent-encodes a query string value (RFC 3986 unreserved kept; '*' is
// search-data's wildcard and kept readable).
std::string query_escape(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '*') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

bool string_field(const json& object, const char* name, std::string& out) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) {
    return false;
  }
  out = it->get<std::string>();
  return true;
}

bool is_true(const json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

// Collects one zone's snapshot from API records in any order (a whole-zone
// GET gives them per RRset, search-data one by one). Only owned RRsets, the
// apex MX and the apex NS are interpreted: anything else, however malformed,
// is skipped unread.
class SnapshotBuilder {
 public:
  explicit SnapshotBuilder(const ZoneQuery& query)
      : m_zone(strip_dot(query.zone)), m_apex(absolute_name(m_zone)) {
    for (const auto& key : query.owned_keys) {
      m_owned.insert(RRsetKey{absolute_name(key.owner), key.type});
    }
  }

  void add(const std::string& name, const std::string& type_text, const json& ttl, const std::string& content,
           bool disabled) {
    auto type = rrtype_from_string(type_text);
    if (!type) {
      return;
    }
    RRsetKey key{absolute_name(name), *type};
    bool is_owned = m_owned.count(key) > 0;
    bool at_apex = key.owner == m_apex && (*type == RRType::MX || *type == RRType::NS);
    if (!is_owned && !at_apex) {
      return;
    }
    if (disabled) {
      // Not served, so not live; remembered so a REPLACE keeps it.
      if (is_owned) {
        m_disabled[key].push_back(content);
      }
      return;
    }
    RRset& set = m_sets[key];
    set.owner = key.owner;
    set.type = *type;
    if (ttl.is_number_unsigned()) {
      set.ttl = ttl.get<uint32_t>();
    }
    set.values.push_back(powerdns::canonical_value(*type, content));
  }

  const std::string& zone() const { return m_zone; }
  const DisabledRecords& disabled() const { return m_disabled; }

  ZoneSnapshot finish() {
    ZoneSnapshot snapshot;
    snapshot.zone = m_zone;
    for (auto& [key, set] : m_sets) {
      set.normalize();
      if (m_owned.count(key) > 0) {
        snapshot.owned.push_back(set);
      } else if (key.type == RRType::MX) {
        snapshot.mx.push_back(set);
      } else {
        snapshot.nameservers.insert(snapshot.nameservers.end(), set.values.begin(), set.values.end());
      }
    }
    std::sort(snapshot.owned.begin(), snapshot.owned.end(), canonical_less);
    std::sort(snapshot.nameservers.begin(), snapshot.nameservers.end());
    return snapshot;
  }

 private:
  std::string m_zone;
  std::string m_apex;
  std::set<RRsetKey> m_owned;
  std::map<RRsetKey, RRset> m_sets;
  DisabledRecords m_disabled;
};

std::string format_seconds(double seconds) {
  std::ostringstream out;
  out << seconds;
  return out.str();
}

class PowerdnsProvider : public Provider {
 public:
  PowerdnsProvider(const PowerdnsConfig& config, PowerdnsLog log, PowerdnsReadTuning tuning)
      : m_config(config), m_key(powerdns::load_api_key(config)), m_tuning(tuning) {
    std::string url = config.url;
    while (!url.empty() && url.back() == '/') {
      url.pop_back();
    }
    m_base_url = url;
    m_shown_url = powerdns::redact_url(url);
    if (log) {
      auto mutex = std::make_shared<std::mutex>();
      m_log = [mutex, log](const std::string& line) {
        std::lock_guard<std::mutex> lock(*mutex);
        log(line);
      };
    }
  }

  std::vector<ZoneReadResult> read_zones(const std::vector<ZoneQuery>& queries) override {
    std::vector<ZoneReadResult> results(queries.size());
    // Zones whose MX or NS the caller wants are read whole: search-data cannot
    // select a zone's apex. The others may be read through search-data.
    std::vector<size_t> whole;
    std::vector<size_t> searchable;
    for (size_t i = 0; i < queries.size(); ++i) {
      bool apex_wanted = queries[i].want_mx || queries[i].want_nameservers;
      (apex_wanted || m_tuning.mode == PowerdnsReadTuning::Mode::WholeZone ? whole : searchable).push_back(i);
    }
    if (!searchable.empty()) {
      bool small = searchable.size() < k_search_min_zones && m_tuning.mode == PowerdnsReadTuning::Mode::Auto;
      if (small || !read_by_search(queries, searchable, results)) {
        whole.insert(whole.end(), searchable.begin(), searchable.end());
      }
    }
    ZoneBreaker breaker(m_limits, m_config.name);
    run_parallel(
        whole.size(), k_max_in_flight,
        [&](size_t i, HttpClient& client) {
          const ZoneQuery& query = queries[whole[i]];
          if (auto skip = breaker.before(query.zone)) {
            results[whole[i]].zone = query.zone;
            results[whole[i]].snapshot.zone = query.zone;
            results[whole[i]].error = *skip;
            return;
          }
          results[whole[i]] = read_one(client, query, &breaker);
          breaker.after(query.zone, results[whole[i]].error);
        },
        [&](size_t i, const std::string& what) {
          const ZoneQuery& query = queries[whole[i]];
          results[whole[i]].zone = query.zone;
          results[whole[i]].snapshot.zone = query.zone;
          results[whole[i]].error =
              ProviderError(ProviderError::Kind::Other, head("read", query.zone) + " (" + what + ")");
        });
    return results;
  }

  std::vector<ZoneApplyResult> apply_zones(const std::vector<ZonePlan>& plans) override {
    std::vector<ZoneApplyResult> results(plans.size());
    size_t writes = static_cast<size_t>(
        std::count_if(plans.begin(), plans.end(), [](const ZonePlan& plan) { return !plan.empty(); }));
    // One PATCH at a time, on one connection, where the backend serialises
    // writes; else a bounded number in flight.
    size_t in_flight = writes > 1 && backend_serialises_writes() ? 1 : k_max_in_flight;
    WriteGate gate(in_flight);
    ZoneBreaker breaker(m_limits, m_config.name);
    run_parallel(
        plans.size(), in_flight,
        [&](size_t i, HttpClient& client) {
          if (plans[i].empty()) {
            results[i] = apply_one(client, plans[i], gate, &breaker);
            return;
          }
          if (auto skip = breaker.before(plans[i].zone)) {
            results[i].zone = plans[i].zone;
            results[i].error = *skip;
            return;
          }
          results[i] = apply_one(client, plans[i], gate, &breaker);
          breaker.after(plans[i].zone, results[i].error);
        },
        [&](size_t i, const std::string& what) {
          results[i].zone = plans[i].zone;
          results[i].error =
              ProviderError(ProviderError::Kind::Other, head("update", plans[i].zone) + " (" + what + ")");
        });
    return results;
  }

 private:
  // Runs work(i, client) for i in [0, count) on at most `max_workers`
  // workers, each with its own HTTP client (and so its own connection).
  // An exception for one item becomes that item's error via fail(i, text).
  template <typename Work, typename Fail>
  void run_parallel(size_t count, size_t max_workers, Work work, Fail fail) {
    if (count == 0) {
      return;
    }
    std::atomic<size_t> next{0};
    std::mutex error_mutex;
    std::exception_ptr worker_error;
    auto worker = [&] {
      try {
        HttpClient client(m_key, m_config.ca_file, m_config.timeout_seconds, m_log);
        for (size_t i = next++; i < count; i = next++) {
          try {
            work(i, client);
          } catch (const std::exception& e) {
            fail(i, e.what());
          }
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        worker_error = std::current_exception();
      }
    };
    size_t workers = std::min(count, std::max<size_t>(max_workers, 1));
    if (workers == 1) {
      worker();
    } else {
      std::vector<std::thread> threads;
      threads.reserve(workers);
      for (size_t w = 0; w < workers; ++w) {
        threads.emplace_back(worker);
      }
      for (auto& thread : threads) {
        thread.join();
      }
    }
    if (worker_error) {
      std::rethrow_exception(worker_error);
    }
  }

  // gsqlite3 fails a second concurrent writer at once ("database is locked":
  // its read snapshot went stale) instead of queueing it, so with it parallel
  // PATCHes only buy retries and backoff sleeps, never throughput.
  // Asked once per provider (GET .../config, the server's `launch`); when the
  // answer is not usable, the WriteGate still drops to one after a 5xx.
  bool backend_serialises_writes() {
    std::lock_guard<std::mutex> lock(m_backend_mutex);
    if (!m_serialises_writes) {
      m_serialises_writes = false;
      HttpClient client(m_key, m_config.ca_file, m_config.timeout_seconds, m_log);
      HttpResponse response = send(client, "GET", server_url() + "/config");
      if (response.transport_ok && response.status == 200) {
        try {
          for (const auto& setting : json::parse(response.body)) {
            std::string name;
            std::string value;
            if (setting.is_object() && string_field(setting, "name", name) && name == "launch" &&
                string_field(setting, "value", value)) {
              m_serialises_writes = launches_gsqlite3(value);
            }
          }
        } catch (const json::exception&) {
        }
      }
    }
    return *m_serialises_writes;
  }

  // `launch` is a comma-separated list of backends, each maybe "name:suffix".
  static bool launches_gsqlite3(const std::string& launch) {
    std::istringstream list(launch);
    std::string item;
    while (std::getline(list, item, ',')) {
      item.erase(std::remove_if(item.begin(), item.end(), [](unsigned char c) { return std::isspace(c); }),
                 item.end());
      if (item.substr(0, item.find(':')) == "gsqlite3") {
        return true;
      }
    }
    return false;
  }

  // Sends with retries on 500-504. With a gate, each attempt holds a gate slot
  // (never while backing off) and a 5xx serialises later attempts.
  // No retry starts once the call's deadline passed.
  HttpResponse send(HttpClient& client, const std::string& method, const std::string& url,
                    const std::string& body = "", WriteGate* gate = nullptr,
                    const ZoneBreaker* breaker = nullptr) {
    thread_local std::mt19937 rng(std::random_device{}());
    HttpResponse response;
    for (int attempt = 0; attempt < k_max_attempts; ++attempt) {
      if (attempt > 0 && breaker != nullptr && breaker->past_deadline()) {
        break;
      }
      if (attempt > 0) {
        std::uniform_int_distribution<int> jitter(0, 20 << attempt);
        std::this_thread::sleep_for(std::chrono::milliseconds((10 << attempt) + jitter(rng)));
      }
      if (gate != nullptr) {
        gate->acquire();
      }
      response = client.request(method, url, body);
      if (gate != nullptr) {
        gate->release();
      }
      if (!response.transport_ok || response.status < 500 || response.status > 504) {
        break;
      }
      if (gate != nullptr) {
        gate->serialise();
      }
    }
    return response;
  }

  std::string server_url() const { return m_base_url + "/api/v1/servers/" + m_config.server_id; }

  std::string zone_url(const std::string& zone) const {
    return server_url() + "/zones/" + absolute_name(zone);
  }

  std::string disabled_key(const std::string& zone) const {
    return m_base_url + " " + m_config.server_id + " " + absolute_name(zone);
  }

  std::string head(const std::string& verb, const std::string& zone) const {
    return "provider '" + m_config.name + "': failed to " + verb + " zone '" + zone + "' on " + m_shown_url;
  }

  ProviderError zone_missing(const std::string& verb, const std::string& zone,
                             const std::string& cause) const {
    return ProviderError(ProviderError::Kind::ZoneMissing,
                         head(verb, zone) + cause + ": zone " + absolute_name(zone) + " not found on " +
                             m_shown_url +
                             ": create the zone first (stsctl never creates zones), and check " +
                             "server_id '" + m_config.server_id + "'");
  }

  ProviderError failure(const std::string& verb, const std::string& zone,
                        const HttpResponse& response) const {
    const std::string start = head(verb, zone);
    if (!response.transport_ok) {
      auto code = static_cast<CURLcode>(response.curl_code);
      if (code == CURLE_OPERATION_TIMEDOUT) {
        return ProviderError(ProviderError::Kind::Timeout,
                             start + " (no answer within " + format_seconds(m_config.timeout_seconds) +
                                 " s: " + response.curl_error +
                                 "): check that PowerDNS is healthy, or raise providers." + m_config.name +
                                 ".timeout");
      }
      if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CONNECT_ERROR ||
          code == CURLE_SSL_CACERT_BADFILE) {
        return ProviderError(
            ProviderError::Kind::Unreachable,
            start + " (TLS: " + response.curl_error +
                "): set ca_file to the CA that signed the API server's certificate, or check url");
      }
      return ProviderError(
          ProviderError::Kind::Unreachable,
          start + " (" + response.curl_error +
              "): check that PowerDNS is running with api=yes and webserver=yes, and that url is "
              "right");
    }
    const std::string status = "HTTP " + std::to_string(response.status);
    const std::string text = server_error_text(response);
    const std::string cause = " (" + status + (text.empty() ? "" : ": " + text) + ")";
    switch (response.status) {
      case 401:
      case 403:
        return ProviderError(
            ProviderError::Kind::Auth,
            start + cause +
                ": the API key was refused; check api_key_file/api_key_env against api-key in "
                "pdns.conf");
      case 404:
        return zone_missing(verb, zone, cause);
      case 409:
        return ProviderError(ProviderError::Kind::Conflict, start + cause);
      case 422:
        return ProviderError(ProviderError::Kind::Rejected,
                             start + cause + ": PowerDNS rejected the change and applied none of it");
      default:
        return ProviderError(ProviderError::Kind::Other, start + cause);
    }
  }

  // One GET of the whole zone (PowerDNS 4.7 has no RRset filter).
  ZoneReadResult read_one(HttpClient& client, const ZoneQuery& query, const ZoneBreaker* breaker = nullptr) {
    ZoneReadResult result;
    result.zone = strip_dot(query.zone);
    result.snapshot.zone = result.zone;
    HttpResponse response = send(client, "GET", zone_url(result.zone), "", nullptr, breaker);
    if (!response.transport_ok || response.status != 200) {
      result.error = failure("read", result.zone, response);
      return result;
    }
    json zone;
    try {
      zone = json::parse(response.body);
    } catch (const json::exception& e) {
      result.error = ProviderError(ProviderError::Kind::Other,
                                   head("read", result.zone) + " (the answer is not JSON: " + e.what() + ")");
      return result;
    }
    if (!zone.is_object() || !zone.contains("rrsets") || !zone["rrsets"].is_array()) {
      result.error = ProviderError(ProviderError::Kind::Other,
                                   head("read", result.zone) + " (the answer has no \"rrsets\" list)");
      return result;
    }
    SnapshotBuilder builder(query);
    for (const auto& rrset : zone["rrsets"]) {
      std::string name;
      std::string type;
      if (!rrset.is_object() || !string_field(rrset, "name", name) || !string_field(rrset, "type", type) ||
          !rrset.contains("records") || !rrset["records"].is_array()) {
        continue;
      }
      const json ttl = rrset.value("ttl", json());
      for (const auto& record : rrset["records"]) {
        std::string content;
        if (record.is_object() && string_field(record, "content", content)) {
          builder.add(name, type, ttl, content, is_true(record, "disabled"));
        }
      }
    }
    result.snapshot = builder.finish();
    m_disabled_store.put(disabled_key(result.zone), builder.disabled());
    return result;
  }

  // Reads the owned RRsets of queries[i] for i in `indexes` with one zone list
  // and one search-data request per distinct first label of the owned names
  // ("_mta-sts.*", ...), whatever the number of zones. Returns false, having
  // set no result, when per-zone reads must do it instead: the server holds
  // many more zones than asked for, a search failed (e.g. a record PowerDNS
  // cannot format) or may have been cut at its max results.
  bool read_by_search(const std::vector<ZoneQuery>& queries, const std::vector<size_t>& indexes,
                      std::vector<ZoneReadResult>& results) {
    HttpClient client(m_key, m_config.ca_file, m_config.timeout_seconds, m_log);
    // The zone list says which zones exist: search-data finds records only.
    HttpResponse listed = send(client, "GET", server_url() + "/zones");
    if (!listed.transport_ok || listed.status == 401 || listed.status == 403) {
      for (size_t i : indexes) {
        results[i].zone = strip_dot(queries[i].zone);
        results[i].snapshot.zone = results[i].zone;
        results[i].error = failure("read", results[i].zone, listed);
      }
      return true;
    }
    std::set<std::string> server_zones;
    try {
      if (listed.status != 200) {
        return false;
      }
      for (const auto& zone : json::parse(listed.body)) {
        std::string name;
        if (zone.is_object() && string_field(zone, "name", name)) {
          server_zones.insert(absolute_name(name));
        }
      }
    } catch (const json::exception&) {
      return false;
    }
    if (m_tuning.mode == PowerdnsReadTuning::Mode::Auto &&
        server_zones.size() > k_search_max_zones_per_query * indexes.size()) {
      return false;
    }

    std::map<std::string, SnapshotBuilder> builders;  // absolute zone name ->
    std::set<std::string> patterns;
    for (size_t i : indexes) {
      const std::string apex = absolute_name(queries[i].zone);
      if (server_zones.count(apex) == 0) {
        continue;
      }
      builders.emplace(apex, SnapshotBuilder(queries[i]));
      for (const auto& key : queries[i].owned_keys) {
        const std::string owner = absolute_name(key.owner);
        if (owner != apex) {
          patterns.insert(owner.substr(0, owner.find('.')) + ".*");
        }
      }
    }
    const size_t limit =
        m_tuning.search_limit > 0
            ? m_tuning.search_limit
            : std::max(k_search_min_results, k_search_results_per_zone * server_zones.size());
    const std::vector<std::string> searches(patterns.begin(), patterns.end());
    std::vector<std::optional<json>> found(searches.size());
    run_parallel(
        searches.size(), k_max_in_flight,
        [&](size_t s, HttpClient& search_client) {
          found[s] = search_records(search_client, searches[s], limit);
        },
        [](size_t, const std::string&) {});
    for (const auto& records : found) {
      if (!records) {
        return false;
      }
    }

    for (const auto& records : found) {
      for (const auto& record : *records) {
        std::string zone;
        std::string name;
        std::string type;
        std::string content;
        std::string object_type;
        if (!record.is_object() || !string_field(record, "object_type", object_type) ||
            object_type != "record" || !string_field(record, "zone", zone) ||
            !string_field(record, "name", name) || !string_field(record, "type", type) ||
            !string_field(record, "content", content)) {
          continue;
        }
        auto builder = builders.find(absolute_name(zone));
        if (builder != builders.end()) {
          builder->second.add(name, type, record.value("ttl", json()), content, is_true(record, "disabled"));
        }
      }
    }
    for (size_t i : indexes) {
      ZoneReadResult& result = results[i];
      result.zone = strip_dot(queries[i].zone);
      result.snapshot.zone = result.zone;
      auto builder = builders.find(absolute_name(queries[i].zone));
      if (builder == builders.end()) {
        result.error = zone_missing("read", result.zone,
                                    " (not in the zone list of server_id '" + m_config.server_id + "')");
        continue;
      }
      result.snapshot = builder->second.finish();
      m_disabled_store.put(disabled_key(result.zone), builder->second.disabled());
    }
    return true;
  }

  // The records whose name or content matches `pattern`, across all zones;
  // nullopt when the search failed or may have been cut at `limit`.
  std::optional<json> search_records(HttpClient& client, const std::string& pattern, size_t limit) {
    HttpResponse response = send(client, "GET",
                                 server_url() + "/search-data?q=" + query_escape(pattern) +
                                     "&max=" + std::to_string(limit) + "&object_type=record");
    if (!response.transport_ok || response.status != 200) {
      return std::nullopt;
    }
    json records;
    try {
      records = json::parse(response.body);
    } catch (const json::exception&) {
      return std::nullopt;
    }
    // The server's LIMIT counts empty non-terminals it then leaves out, so a
    // cut answer may hold a little fewer than `limit` records.
    if (!records.is_array() || records.size() + limit / 8 >= limit) {
      return std::nullopt;
    }
    return records;
  }

  std::vector<std::string> disabled_records(const std::string& zone, const RRsetKey& key) {
    return m_disabled_store.get(disabled_key(zone), RRsetKey{absolute_name(key.owner), key.type});
  }

  // One PATCH rrsets entry for a change.
  json rrset_entry(const std::string& zone, const Change& change) {
    const std::string owner = absolute_name(change.key.owner);
    const char* type = to_string(change.key.type);
    std::vector<std::string> kept_disabled = disabled_records(zone, change.key);
    json records = json::array();
    uint32_t ttl = 3600;
    std::set<std::string> enabled_values;
    if (change.kind != ChangeKind::Delete) {
      if (!change.after) {
        throw std::logic_error("change of " + owner + " " + type + " has no 'after' RRset");
      }
      ttl = change.after->ttl;
      for (const auto& value : change.after->values) {
        records.push_back({{"content", powerdns::api_content(change.key.type, value)}, {"disabled", false}});
        enabled_values.insert(value);
      }
    } else if (change.before) {
      ttl = change.before->ttl;
    }
    for (const auto& content : kept_disabled) {
      // PowerDNS refuses duplicates; an enabled copy wins.
      if (enabled_values.count(powerdns::canonical_value(change.key.type, content)) == 0) {
        records.push_back({{"content", content}, {"disabled", true}});
      }
    }
    if (records.empty()) {
      return {{"name", owner}, {"type", type}, {"changetype", "DELETE"}};
    }
    return {{"name", owner}, {"type", type}, {"ttl", ttl}, {"changetype", "REPLACE"}, {"records", records}};
  }

  ZoneApplyResult apply_one(HttpClient& client, const ZonePlan& plan, WriteGate& gate,
                            const ZoneBreaker* breaker = nullptr) {
    ZoneApplyResult result;
    result.zone = strip_dot(plan.zone);
    if (plan.empty()) {
      return result;
    }
    // DELETEs first so that e.g. an A RRset is gone before a CNAME takes its name.
    json deletes = json::array();
    json replaces = json::array();
    for (const auto& change : plan.changes) {
      json entry = rrset_entry(result.zone, change);
      (entry["changetype"] == "DELETE" ? deletes : replaces).push_back(std::move(entry));
    }
    json rrsets = json::array();
    for (auto& entry : deletes) {
      rrsets.push_back(std::move(entry));
    }
    for (auto& entry : replaces) {
      rrsets.push_back(std::move(entry));
    }
    json body = {{"rrsets", rrsets}};
    const std::string url = zone_url(result.zone);
    HttpResponse response = send(client, "PATCH", url, body.dump(), &gate, breaker);
    if (!response.transport_ok || (response.status != 204 && response.status != 200)) {
      result.error = failure("update", result.zone, response);
      return result;
    }
    if (m_config.notify) {
      HttpResponse notified = send(client, "PUT", url + "/notify");
      if (!notified.transport_ok || notified.status != 200) {
        // The PATCH stood; a missed NOTIFY only delays secondaries until
        // their SOA refresh, so it is a warning, not the zone's error.
        if (m_log) {
          m_log("warning: " + std::string(failure("notify secondaries of", result.zone, notified).what()) +
                "; the records were applied, secondaries will pick them up at their next SOA refresh");
        }
      }
    }
    return result;
  }

  PowerdnsConfig m_config;
  std::string m_base_url;
  std::string m_shown_url;
  powerdns::Secret m_key;
  PowerdnsLog m_log;
  PowerdnsReadTuning m_tuning;
  std::mutex m_backend_mutex;
  std::optional<bool> m_serialises_writes;  // unknown until the first multi-zone apply
  DisabledStore m_disabled_store;
};

}  // namespace

std::unique_ptr<Provider> make_powerdns_provider(const PowerdnsConfig& config) {
  return make_powerdns_provider_with_log(config, {});
}

std::unique_ptr<Provider> make_powerdns_provider_with_log(const PowerdnsConfig& config, PowerdnsLog log,
                                                          PowerdnsReadTuning tuning) {
  return std::make_unique<PowerdnsProvider>(config, std::move(log), tuning);
}

}  // namespace stsctl
