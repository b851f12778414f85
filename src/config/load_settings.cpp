#include "config/loader.h"

#include <arpa/inet.h>

#include <unordered_set>

#include "config/values.h"
#include "dns/name.h"
#include "util/text.h"

namespace stsctl::config_reader {

namespace {

// max_age bounds: RFC 8461 section 3.2 caps max_age at 31557600 (one year); a
// day is the shortest value that gives senders any protection.
constexpr long long k_min_max_age = 86400;
constexpr long long k_max_max_age = 31557600;
// TTL bounds: one minute keeps resolvers from hammering the servers; one week
// keeps a rollback reasonably fast.
constexpr long long k_min_ttl = 60;
constexpr long long k_max_ttl = 604800;

const Keys k_policy_keys = {"mode", "max_age"};
const Keys k_tlsrpt_keys = {"rua"};
const Keys k_policy_host_keys = {"ipv4", "ipv6", "cname"};
const Keys k_caa_keys = {"tag", "value", "flags"};
const Keys k_id_formats = {"timestamp", "serial", "hash"};
const Keys k_caa_tags = {"issue", "issuewild", "iodef"};

}  // namespace

std::optional<uint32_t> Loader::read_max_age(const Entry& entry) {
  auto value = read_integer(entry.value, value_mark(entry), entry.path,
                            "an integer number of seconds (86400..31557600)");
  if (!value) {
    return std::nullopt;
  }
  const std::string& text = entry.value.Scalar();
  if (*value < k_min_max_age) {
    error(value_mark(entry), entry.path, text + " is below " + std::to_string(k_min_max_age));
    return std::nullopt;
  }
  if (*value > k_max_max_age) {
    error(value_mark(entry), entry.path, text + " is above " + std::to_string(k_max_max_age) + " (one year)");
    return std::nullopt;
  }
  return static_cast<uint32_t>(*value);
}

PolicyMode mode_from(const std::string& text) {
  return text == "enforce" ? PolicyMode::Enforce : text == "none" ? PolicyMode::None : PolicyMode::Testing;
}

void Loader::read_version(const MapView& root) {
  const Entry* entry = root.find("version");
  if (entry == nullptr) {
    error(k_top, "version", "version is required (write version: 1 at the top)");
    return;
  }
  if (entry->value.IsScalar() && entry->value.Scalar() == "1" && !is_plain_number(entry->value)) {
    error(value_mark(*entry), entry->path,
          "expected the number 1, got " + quoted_or_tagged(entry->value) + " (write version: 1)");
    return;
  }
  if (!entry->value.IsScalar() || entry->value.Scalar() != "1") {
    std::string shown = entry->value.IsScalar() ? "'" + entry->value.Scalar() + "'" : type_name(entry->value);
    error(value_mark(*entry), entry->path,
          "version " + shown + " is not supported: this stsctl reads version: 1");
  }
}

void Loader::read_policy(const Entry& entry, Settings* settings) {
  auto view = read_map(entry.value, entry.key.Mark(), entry.path, k_policy_keys,
                       " (like {mode: testing, max_age: 86400})");
  if (!view) {
    return;
  }
  for (const Entry& item : view->entries) {
    if (item.name == "mode") {
      if (auto mode = read_choice(item, k_modes)) {
        settings->mode = mode_from(*mode);
      }
    } else if (item.name == "max_age") {
      settings->max_age = read_max_age(item);
    }
  }
}

void Loader::read_tlsrpt(const Entry& entry, Settings* settings) {
  settings->tlsrpt_present = true;
  if (entry.value.IsNull()) {
    settings->rua = std::vector<std::string>();  // "tlsrpt: null" turns an inherited TLS-RPT off
    return;
  }
  auto view = read_map(entry.value, entry.key.Mark(), entry.path, k_tlsrpt_keys,
                       " (like {rua: [\"mailto:tlsrpt@example.net\"]}, or null for none)");
  if (!view) {
    return;
  }
  const Entry* rua = view->find("rua");
  if (rua == nullptr) {
    error(entry.key.Mark(), entry.path, "rua is required (a list of mailto: or https: URIs)");
    return;
  }
  auto items = read_list(*rua, " of mailto: or https: URIs");
  if (!items) {
    return;
  }
  if (items->empty()) {
    error(value_mark(*rua), rua->path,
          "rua must list at least one mailto: or https: URI (to turn TLS-RPT off, write tlsrpt: null)");
    return;
  }
  std::vector<std::string> uris;
  bool ok = true;
  for (const auto& [node, path] : *items) {
    Entry item{"", node, node, path};
    auto uri = read_string(item, "a mailto: or https: URI");
    if (!uri) {
      ok = false;
      continue;
    }
    if (auto problem = rua_error(*uri)) {
      error(node.Mark(), path, *problem);
      ok = false;
      continue;
    }
    uris.push_back(*uri);
  }
  if (ok) {
    settings->rua = uris;
  }
}

void Loader::read_policy_host(const Entry& entry, Settings* settings) {
  settings->policy_host_present = true;
  auto view = read_map(entry.value, entry.key.Mark(), entry.path, k_policy_host_keys,
                       " (like {ipv4: [192.0.2.40]} or {cname: web.example.net})");
  if (!view) {
    return;
  }
  PolicyHost host;
  bool ok = true;
  std::unordered_set<std::string> seen_addresses;
  for (const Entry& item : view->entries) {
    if (item.name == "cname") {
      auto text = read_string(item, "a host name");
      if (!text) {
        ok = false;
        continue;
      }
      std::string name = normalize_name(*text);
      if (auto problem = host_name_error(name)) {
        error(value_mark(item), item.path, name_message(name, "a valid host name", *problem));
        ok = false;
        continue;
      }
      host.cname = name;
      continue;
    }
    bool v4 = item.name == "ipv4";
    auto items = read_list(
        item, v4 ? " of IPv4 addresses (like [192.0.2.40])" : " of IPv6 addresses (like [\"2001:db8::40\"])");
    if (!items) {
      ok = false;
      continue;
    }
    for (const auto& [node, path] : *items) {
      Entry address{"", node, node, path};
      auto text = read_string(address, v4 ? "an IPv4 address" : "an IPv6 address");
      if (!text) {
        ok = false;
        continue;
      }
      auto canonical = canonical_ip(*text, v4 ? AF_INET : AF_INET6);
      if (!canonical) {
        error(node.Mark(), path, "'" + *text + "' is not an " + (v4 ? "IPv4" : "IPv6") + " address");
        ok = false;
        continue;
      }
      auto& list = v4 ? host.ipv4 : host.ipv6;
      if (!seen_addresses.insert(*canonical).second) {
        error(node.Mark(), path, "'" + *text + "' is listed twice");
        ok = false;
        continue;
      }
      list.push_back(*canonical);
    }
  }
  if (!ok) {
    return;
  }
  bool has_addresses = !host.ipv4.empty() || !host.ipv6.empty();
  if (!host.cname.empty() && has_addresses) {
    error(entry.key.Mark(), entry.path,
          "set either cname or ipv4/ipv6, not both (a CNAME cannot have other data)");
    return;
  }
  if (host.cname.empty() && !has_addresses) {
    error(entry.key.Mark(), entry.path, "needs ipv4/ipv6 addresses or a cname for mta-sts.<domain>");
    return;
  }
  settings->policy_host = host;
}

void Loader::read_caa(const Entry& entry, Settings* settings) {
  if (entry.value.IsNull()) {
    settings->caa = std::vector<CaaEntry>();
    return;
  }
  auto items = read_list(entry, " of {tag, value} maps (like [{tag: issue, value: letsencrypt.org}])");
  if (!items) {
    return;
  }
  std::vector<CaaEntry> records;
  bool ok = true;
  for (const auto& [node, path] : *items) {
    auto view = read_map(node, node.Mark(), path, k_caa_keys, " (like {tag: issue, value: letsencrypt.org})");
    if (!view) {
      ok = false;
      continue;
    }
    CaaEntry record;
    const Entry* tag = view->find("tag");
    const Entry* value = view->find("value");
    const Entry* flags = view->find("flags");
    if (tag == nullptr || value == nullptr) {
      error(node.Mark(), path, std::string(tag == nullptr ? "tag" : "value") + " is required");
      ok = false;
    }
    std::optional<std::string> tag_text;
    if (tag != nullptr) {
      if (auto text = read_string(*tag, "one of issue, issuewild, iodef")) {
        std::string lower = ascii_lower(*text);
        if (contains(k_caa_tags, lower)) {
          tag_text = lower;
        } else {
          error(value_mark(*tag), tag->path, choice_message(*text, k_caa_tags));
        }
      }
      ok = ok && tag_text.has_value();
    }
    if (value != nullptr) {
      auto text = read_string(*value, "a CAA value");
      if (!text) {
        ok = false;
      } else if (tag_text) {
        if (auto problem = caa_value_error(*tag_text, *text)) {
          error(value_mark(*value), value->path, *problem);
          ok = false;
        }
        record.value = *text;
      }
    }
    if (flags != nullptr) {
      auto number = read_integer(flags->value, value_mark(*flags), flags->path, "0 or 128");
      if (number && *number != 0 && *number != 128) {
        error(value_mark(*flags), flags->path,
              flags->value.Scalar() + " is not 0 or 128 (128 marks it critical)");
        number.reset();
      }
      if (!number) {
        ok = false;
      } else {
        record.flags = static_cast<uint8_t>(*number);
      }
    }
    if (tag_text) {
      record.tag = *tag_text;
    }
    records.push_back(record);
  }
  if (ok) {
    settings->caa = records;
  }
}

Settings Loader::read_settings(const MapView& view) {
  Settings settings;
  for (const Entry& entry : view.entries) {
    if (entry.name == "ttl") {
      settings.ttl = read_ranged(entry, k_min_ttl, k_max_ttl, " (a TTL must be 60..604800 seconds)",
                                 "an integer number of seconds (60..604800)");
    } else if (entry.name == "provider") {
      if (auto name = read_nonempty(entry, "a provider name")) {
        settings.provider = *name;
        settings.provider_entry = &entry;
      }
    } else if (entry.name == "policy") {
      read_policy(entry, &settings);
    } else if (entry.name == "tlsrpt") {
      read_tlsrpt(entry, &settings);
    } else if (entry.name == "policy_host") {
      read_policy_host(entry, &settings);
    } else if (entry.name == "caa") {
      read_caa(entry, &settings);
    } else if (entry.name == "id_format") {
      if (auto format = read_choice(entry, k_id_formats)) {
        settings.id_format = *format == "serial" ? IdFormat::Serial
                             : *format == "hash" ? IdFormat::Hash
                                                 : IdFormat::Timestamp;
      }
    }
  }
  return settings;
}

}  // namespace stsctl::config_reader
