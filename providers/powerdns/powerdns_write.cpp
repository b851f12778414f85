#include "powerdns/powerdns_content.h"
#include "powerdns/powerdns_provider_impl.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

namespace stsctl::powerdns {

std::vector<ZoneApplyResult> PowerdnsProvider::apply_zones(const std::vector<ZonePlan>& plans) {
  std::vector<ZoneApplyResult> results(plans.size());
  size_t writes = static_cast<size_t>(
      std::count_if(plans.begin(), plans.end(), [](const ZonePlan& plan) { return !plan.empty(); }));
  // One PATCH at a time, on one connection, where the backend serialises
  // writes; else a bounded number in flight.
  size_t in_flight = writes > 1 && backend_serialises_writes() ? 1 : k_max_in_flight;
  WriteGate gate(in_flight);
  ZoneBreaker breaker(m_limits, m_config.name);
  for_each_parallel(
      plans.size(), in_flight,
      [&](size_t i, HttpClient& client) {
        // PowerDNS closes every connection: one at a time, the next PATCH's
        // connection opens while this one runs (concurrent workers would
        // leave a spare queued ahead of another's request on a server that
        // serves one connection at a time).
        client.keep_spare_connection(in_flight == 1 && i + 1 < plans.size());
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
  drop_spare_connections();
  return results;
}

// gsqlite3 fails concurrent writers ("database is locked") instead of
// queueing them, so with it parallel PATCHes only buy retries and backoff
// sleeps (bench/powerdns on a loaded machine: 699 of 1,000 PATCHes failed
// with 2 in flight, 906 with 50).
// Asked once per provider (GET .../config, the server's `launch`); when the
// answer is not usable, the WriteGate still drops to one after a 5xx.
bool PowerdnsProvider::backend_serialises_writes() {
  std::lock_guard<std::mutex> lock(m_backend_mutex);
  if (!m_serialises_writes) {
    m_serialises_writes = false;
    HttpClient client(m_key, m_config.ca_file, m_config.timeout_seconds, m_log);
    HttpResponse response = send(client, "GET", url({"config"}));
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
bool PowerdnsProvider::launches_gsqlite3(const std::string& launch) {
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

std::vector<std::string> PowerdnsProvider::disabled_records(const std::string& zone, const RRsetKey& key) {
  return m_disabled_store.get(disabled_key(zone), RRsetKey{absolute_name(key.owner), key.type});
}

// One PATCH rrsets entry for a change.
json PowerdnsProvider::rrset_entry(const std::string& zone, const Change& change) {
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
      records.push_back({{"content", api_content(change.key.type, value)}, {"disabled", false}});
      enabled_values.insert(value);
    }
  } else if (change.before) {
    ttl = change.before->ttl;
  }
  for (const auto& content : kept_disabled) {
    // PowerDNS refuses duplicates; an enabled copy wins.
    if (enabled_values.count(canonical_value(change.key.type, content)) == 0) {
      records.push_back({{"content", content}, {"disabled", true}});
    }
  }
  if (records.empty()) {
    return {{"name", owner}, {"type", type}, {"changetype", "DELETE"}};
  }
  return {{"name", owner}, {"type", type}, {"ttl", ttl}, {"changetype", "REPLACE"}, {"records", records}};
}

ZoneApplyResult PowerdnsProvider::apply_one(HttpClient& client, const ZonePlan& plan, WriteGate& gate,
                                            const ZoneBreaker* breaker) {
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
  const std::string patch_url = zone_url(result.zone);
  HttpResponse response = send(client, "PATCH", patch_url, body.dump(), &gate, breaker);
  if (!response.transport_ok || (response.status != 204 && response.status != 200)) {
    result.error = failure("update", result.zone, response);
    return result;
  }
  if (m_config.notify) {
    HttpResponse notified = send(client, "PUT", url({"zones", absolute_name(result.zone), "notify"}));
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

}  // namespace stsctl::powerdns
