#include "powerdns/powerdns_content.h"
#include "powerdns/powerdns_provider_impl.h"

#include <algorithm>
#include <set>

namespace stsctl::powerdns {

namespace {

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
    set.values.push_back(canonical_value(*type, content));
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

}  // namespace

std::vector<ZoneReadResult> PowerdnsProvider::read_zones(const std::vector<ZoneQuery>& queries) {
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
  for_each_parallel(
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

// One GET of the whole zone (PowerDNS 4.7 has no RRset filter).
ZoneReadResult PowerdnsProvider::read_one(HttpClient& client, const ZoneQuery& query,
                                          const ZoneBreaker* breaker) {
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
bool PowerdnsProvider::read_by_search(const std::vector<ZoneQuery>& queries,
                                      const std::vector<size_t>& indexes,
                                      std::vector<ZoneReadResult>& results) {
  std::set<std::string> patterns;
  for (size_t i : indexes) {
    const std::string apex = absolute_name(queries[i].zone);
    for (const auto& key : queries[i].owned_keys) {
      const std::string owner = absolute_name(key.owner);
      if (owner != apex) {
        patterns.insert(owner.substr(0, owner.find('.')) + ".*");
      }
    }
  }
  // Room for every record at an owned name in every zone of the largest
  // server searched (k_search_max_zones_per_query per asked zone).
  const size_t limit =
      m_tuning.search_limit > 0
          ? m_tuning.search_limit
          : std::max(k_search_min_results,
                     k_search_results_per_zone * k_search_max_zones_per_query * indexes.size());
  // The zone list (which zones exist: search-data finds records only) and
  // the searches go out together: one round trip, not two, before the plan.
  // So does the backend question apply_zones asks before its first PATCH.
  const std::vector<std::string> searches(patterns.begin(), patterns.end());
  std::vector<std::optional<json>> found(searches.size());
  HttpResponse listed;
  for_each_parallel(
      searches.size() + 2, k_max_in_flight,
      [&](size_t s, HttpClient& client) {
        if (s == 0) {
          listed = send(client, "GET", url({"zones"}));
        } else if (s == searches.size() + 1) {
          backend_serialises_writes();
        } else {
          found[s - 1] = search_records(client, searches[s - 1], limit);
        }
      },
      [](size_t, const std::string&) {});
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
  for (const auto& records : found) {
    if (!records) {
      return false;
    }
  }

  std::map<std::string, SnapshotBuilder> builders;  // absolute zone name ->
  for (size_t i : indexes) {
    const std::string apex = absolute_name(queries[i].zone);
    if (server_zones.count(apex) != 0) {
      builders.emplace(apex, SnapshotBuilder(queries[i]));
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
std::optional<json> PowerdnsProvider::search_records(HttpClient& client, const std::string& pattern,
                                                     size_t limit) {
  HttpResponse response =
      send(client, "GET",
           url({"search-data"}, {{"q", pattern}, {"max", std::to_string(limit)}, {"object_type", "record"}}));
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

}  // namespace stsctl::powerdns
