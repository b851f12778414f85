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

// Caps how many zone PATCHes are in flight. It starts at k_max_in_flight; the
// first 5xx answer to a PATCH drops it to one for the rest of the run. gsqlite3
// fails a second concurrent writer at once ("database is locked": its read
// snapshot went stale) instead of queueing it, so with that backend parallel
// PATCHes only buy retries and backoff sleeps, never throughput.
class WriteGate {
 public:
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
  size_t m_limit = k_max_in_flight;
};

std::mutex g_default_log_mutex;
PowerdnsLog g_default_log;

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

std::string format_seconds(double seconds) {
  std::ostringstream out;
  out << seconds;
  return out.str();
}

class PowerdnsProvider : public Provider {
 public:
  PowerdnsProvider(const ProviderConfig& config, PowerdnsLog log)
      : m_config(config), m_key(powerdns::load_api_key(config)) {
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
    run_parallel(
        queries.size(), [&](size_t i, HttpClient& client) { results[i] = read_one(client, queries[i]); },
        [&](size_t i, const std::string& what) {
          results[i].zone = queries[i].zone;
          results[i].snapshot.zone = queries[i].zone;
          results[i].error =
              ProviderError(ProviderError::Kind::Other, head("read", queries[i].zone) + " (" + what + ")");
        });
    return results;
  }

  std::vector<ZoneApplyResult> apply_zones(const std::vector<ZonePlan>& plans) override {
    std::vector<ZoneApplyResult> results(plans.size());
    run_parallel(
        plans.size(), [&](size_t i, HttpClient& client) { results[i] = apply_one(client, plans[i]); },
        [&](size_t i, const std::string& what) {
          results[i].zone = plans[i].zone;
          results[i].error =
              ProviderError(ProviderError::Kind::Other, head("update", plans[i].zone) + " (" + what + ")");
        });
    return results;
  }

 private:
  // Runs work(i, client) for i in [0, count) on at most k_max_in_flight
  // workers, each with its own HTTP client (and so its own connection).
  // An exception for one item becomes that item's error via fail(i, text).
  template <typename Work, typename Fail>
  void run_parallel(size_t count, Work work, Fail fail) {
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
    size_t workers = std::min(count, k_max_in_flight);
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

  // Sends with retries on 500-504. With a gate, each attempt holds a gate slot
  // (never while backing off) and a 5xx serialises later attempts.
  HttpResponse send(HttpClient& client, const std::string& method, const std::string& url,
                    const std::string& body = "", WriteGate* gate = nullptr) {
    thread_local std::mt19937 rng(std::random_device{}());
    HttpResponse response;
    for (int attempt = 0; attempt < k_max_attempts; ++attempt) {
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

  std::string zone_url(const std::string& zone) const {
    return m_base_url + "/api/v1/servers/" + m_config.server_id + "/zones/" + absolute_name(zone);
  }

  std::string head(const std::string& verb, const std::string& zone) const {
    return "provider '" + m_config.name + "': failed to " + verb + " zone '" + zone + "' on " + m_shown_url;
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
                                 "): check that PowerDNS is healthy, or raise timeout_seconds");
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
        return ProviderError(
            ProviderError::Kind::ZoneMissing,
            start + cause + ": zone " + absolute_name(zone) + " not found on " + m_shown_url +
                ": create the zone first (stsctl never creates zones), and check server_id '" +
                m_config.server_id + "'");
      case 409:
        return ProviderError(ProviderError::Kind::Conflict, start + cause);
      case 422:
        return ProviderError(ProviderError::Kind::Rejected,
                             start + cause + ": PowerDNS rejected the change and applied none of it");
      default:
        return ProviderError(ProviderError::Kind::Other, start + cause);
    }
  }

  ZoneReadResult read_one(HttpClient& client, const ZoneQuery& query) {
    ZoneReadResult result;
    result.zone = strip_dot(query.zone);
    result.snapshot.zone = result.zone;
    HttpResponse response = send(client, "GET", zone_url(result.zone));
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

    std::set<RRsetKey> owned;
    for (const auto& key : query.owned_keys) {
      owned.insert(RRsetKey{absolute_name(key.owner), key.type});
    }
    const std::string apex = absolute_name(result.zone);
    std::map<RRsetKey, std::vector<std::string>> disabled;

    // Only the RRsets we need are interpreted: anything else in the zone,
    // however malformed, is skipped unread.
    for (const auto& rrset : zone["rrsets"]) {
      if (!rrset.is_object() || !rrset.contains("name") || !rrset["name"].is_string() ||
          !rrset.contains("type") || !rrset["type"].is_string()) {
        continue;
      }
      auto type = rrtype_from_string(rrset["type"].get<std::string>());
      if (!type) {
        continue;
      }
      RRsetKey key{absolute_name(rrset["name"].get<std::string>()), *type};
      bool is_owned = owned.count(key) > 0;
      bool is_apex_mx = key.owner == apex && *type == RRType::MX;
      bool is_apex_ns = key.owner == apex && *type == RRType::NS;
      if (!is_owned && !is_apex_mx && !is_apex_ns) {
        continue;
      }
      RRset set;
      set.owner = key.owner;
      set.type = *type;
      if (rrset.contains("ttl") && rrset["ttl"].is_number_unsigned()) {
        set.ttl = rrset["ttl"].get<uint32_t>();
      }
      if (rrset.contains("records") && rrset["records"].is_array()) {
        for (const auto& record : rrset["records"]) {
          if (!record.is_object() || !record.contains("content") || !record["content"].is_string()) {
            continue;
          }
          const std::string content = record["content"].get<std::string>();
          bool is_disabled = record.contains("disabled") && record["disabled"].is_boolean() &&
                             record["disabled"].get<bool>();
          if (is_disabled) {
            // Not served, so not live; remembered so a REPLACE keeps it.
            if (is_owned) {
              disabled[key].push_back(content);
            }
            continue;
          }
          set.values.push_back(powerdns::canonical_value(*type, content));
        }
      }
      if (set.values.empty()) {
        continue;
      }
      set.normalize();
      if (is_owned) {
        result.snapshot.owned.push_back(set);
      } else if (is_apex_mx) {
        result.snapshot.mx.push_back(set);
      } else {
        for (const auto& value : set.values) {
          result.snapshot.nameservers.push_back(value);
        }
      }
    }
    std::sort(result.snapshot.owned.begin(), result.snapshot.owned.end(), canonical_less);
    std::sort(result.snapshot.nameservers.begin(), result.snapshot.nameservers.end());
    {
      std::lock_guard<std::mutex> lock(m_disabled_mutex);
      m_disabled[result.zone] = std::move(disabled);
    }
    return result;
  }

  std::vector<std::string> disabled_records(const std::string& zone, const RRsetKey& key) {
    std::lock_guard<std::mutex> lock(m_disabled_mutex);
    auto zone_it = m_disabled.find(zone);
    if (zone_it == m_disabled.end()) {
      return {};
    }
    auto it = zone_it->second.find(RRsetKey{absolute_name(key.owner), key.type});
    return it == zone_it->second.end() ? std::vector<std::string>{} : it->second;
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

  ZoneApplyResult apply_one(HttpClient& client, const ZonePlan& plan) {
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
    HttpResponse response = send(client, "PATCH", url, body.dump(), &m_write_gate);
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

  ProviderConfig m_config;
  std::string m_base_url;
  std::string m_shown_url;
  powerdns::Secret m_key;
  PowerdnsLog m_log;
  WriteGate m_write_gate;
  std::mutex m_disabled_mutex;
  // zone -> owned RRset -> contents of its disabled records, from the last read.
  std::map<std::string, std::map<RRsetKey, std::vector<std::string>>> m_disabled;
};

}  // namespace

void set_powerdns_log(PowerdnsLog log) {
  std::lock_guard<std::mutex> lock(g_default_log_mutex);
  g_default_log = std::move(log);
}

std::unique_ptr<Provider> make_powerdns_provider(const ProviderConfig& config) {
  PowerdnsLog log;
  {
    std::lock_guard<std::mutex> lock(g_default_log_mutex);
    log = g_default_log;
  }
  return make_powerdns_provider_with_log(config, std::move(log));
}

std::unique_ptr<Provider> make_powerdns_provider_with_log(const ProviderConfig& config, PowerdnsLog log) {
  return std::make_unique<PowerdnsProvider>(config, std::move(log));
}

}  // namespace stsctl
