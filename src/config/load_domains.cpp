#include "config/loader.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "config/edit_distance.h"
#include "config/values.h"
#include "dns/name.h"

namespace stsctl::config_reader {

namespace {

// "_smtp._tls." is the longest prefix stsctl puts before a domain.
constexpr size_t k_longest_prefix = 11;

const Keys k_domain_keys = {"zone",   "alias_of",    "provider", "ttl",       "mx",    "policy",
                            "tlsrpt", "policy_host", "caa",      "id_format", "retire"};
const Keys k_alias_keys = {"alias_of", "zone", "provider", "ttl"};

struct PendingDomain {
  DomainConfig* config = nullptr;  // its slot in Config::domains, filled in place
  const Entry* item = nullptr;     // its pair in domains:
  bool valid = true;               // false: its settings are not a map (reported)
  std::string path;
  yaml::Mark key_mark;
  MapView view;
  Settings own;
  const Entry* zone_entry = nullptr;
  const Entry* alias_entry = nullptr;
  bool mx_present = false;
  std::optional<bool> retire;
};

}  // namespace

void Loader::check_provider(const Entry& entry, const std::string& name, const Config& config) {
  // A declared but broken provider has its own errors already.
  if (config.providers.count(name) != 0 || m_declared_providers.count(name) != 0) {
    return;
  }
  if (config.providers.empty()) {
    error(value_mark(entry), entry.path,
          "provider '" + name + "' is not configured: the config has no providers section");
    return;
  }
  Keys names;
  for (const auto& [provider_name, provider] : config.providers) {
    names.push_back(provider_name);
  }
  std::string suggestion = spellcheck(name, names);
  error(value_mark(entry), entry.path,
        "provider '" + name + "' is not configured" +
            (suggestion.empty() ? " (configured: " + list_text(names) + ")"
                                : " (did you mean '" + suggestion + "'?)"));
}

void Loader::read_domains(const Entry* entry, const Settings& defaults, Config* config) {
  if (entry == nullptr) {
    error(k_top, "domains", "domains is required (a map of mail domains, like example.net: {mx: [...]})");
    return;
  }
  auto domains = read_map(entry->value, entry->key.Mark(), entry->path, {},
                          " of mail domains (like example.net: {mx: [mail.example.net]})");
  if (!domains) {
    return;
  }
  if (domains->entries.empty()) {
    error(entry->key.Mark(), entry->path, "domains must list at least one mail domain");
    return;
  }

  // Pass 1: names and each domain's own settings. Each domain is built in
  // its final slot of config->domains (no copy of 100,000 of them at the end).
  std::vector<PendingDomain> pending;
  pending.reserve(domains->entries.size());
  config->domains.clear();
  config->domains.reserve(domains->entries.size());
  FirstLines seen(domains->entries.size());
  for (const Entry& item : domains->entries) {
    std::string name = normalize_name(item.name);
    std::string path = "domains." + name;
    if (auto problem = host_name_error(name)) {
      error(item.key.Mark(), "domains." + item.name,
            name_message(item.name, "a valid domain name", *problem));
      continue;
    }
    if (name.size() + k_longest_prefix > 253) {
      error(item.key.Mark(), path,
            "'" + name + "' is too long: _smtp._tls." + name + " would exceed 253 characters");
      continue;
    }
    // The name's final home is its slot, which never moves: `seen` keeps a view of it.
    DomainConfig& slot = config->domains.emplace_back();
    slot.name = std::move(name);
    if (int first_line = seen.insert(slot.name, item.key.Mark().line + 1)) {
      error(item.key.Mark(), path,
            "duplicate domain '" + slot.name + "' (first given on line " + std::to_string(first_line) + ")");
      config->domains.pop_back();
      continue;
    }

    PendingDomain domain;
    domain.config = &slot;
    domain.item = &item;
    domain.path = std::move(path);
    domain.key_mark = item.key.Mark();
    pending.push_back(std::move(domain));
  }

  // Each domain's own settings; domains are independent, so on every core.
  for_each_in_batches(pending.size(), [&](size_t index) {
    PendingDomain& domain = pending[index];
    const Entry& pair = *domain.item;
    if (!pair.value.IsNull()) {
      auto view = read_map(pair.value, pair.key.Mark(), domain.path, k_domain_keys,
                           " of domain settings (like {mx: [mail.example.net]})");
      if (!view) {
        domain.valid = false;
        return;
      }
      domain.view = std::move(*view);
    }
    domain.alias_entry = domain.view.find("alias_of");
    domain.zone_entry = domain.view.find("zone");
    if (domain.alias_entry != nullptr) {
      std::string target = domain.alias_entry->value.IsScalar()
                               ? normalize_name(domain.alias_entry->value.Scalar())
                               : std::string("its primary");
      MapView allowed;
      for (const Entry& item : domain.view.entries) {
        if (!contains(k_alias_keys, item.name)) {
          error(item.key.Mark(), item.path,
                "'" + item.name + "' cannot be set on an alias domain: it comes from the primary '" + target +
                    "' (an alias allows only " + list_text(k_alias_keys) + ")");
        } else {
          allowed.entries.push_back(item);
        }
      }
      domain.view = std::move(allowed);
      domain.alias_entry = domain.view.find("alias_of");
      domain.zone_entry = domain.view.find("zone");
    }
    domain.own = read_settings(domain.view);
    for (const Entry& item : domain.view.entries) {
      if (item.name == "mx") {
        domain.mx_present = true;
        auto items =
            read_list(item, " of MX host names or patterns (like [mail.example.net, \"*.mx.example.net\"])");
        if (!items) {
          continue;
        }
        std::unordered_set<std::string> seen_patterns;
        seen_patterns.reserve(items->size());
        for (const auto& [node, path] : *items) {
          Entry mx{"", node, node, path};
          auto text = read_string(mx, "an MX host name or pattern");
          if (!text) {
            continue;
          }
          std::string pattern = normalize_name(*text);
          if (auto problem = mx_pattern_error(pattern)) {
            error(node.Mark(), path, name_message(pattern, "a valid MX host name or pattern", *problem));
            continue;
          }
          if (!seen_patterns.insert(pattern).second) {
            error(node.Mark(), path, "'" + pattern + "' is listed twice");
            continue;
          }
          domain.config->mx.push_back(pattern);
        }
      } else if (item.name == "retire") {
        domain.retire = read_bool(item);
      }
    }
  });

  std::unordered_map<std::string, const PendingDomain*> by_name;
  by_name.reserve(pending.size());
  for (const PendingDomain& domain : pending) {
    if (domain.valid) {
      by_name[domain.config->name] = &domain;
    }
  }

  // Pass 2: references, inheritance and the checks that need the whole
  // picture (read-only but for each domain's own result), on every core.
  for_each_in_batches(pending.size(), [&](size_t index) {
    PendingDomain& domain = pending[index];
    if (!domain.valid) {
      return;
    }
    DomainConfig& out = *domain.config;
    const Settings& own = domain.own;
    out.zone = out.name;
    if (domain.zone_entry != nullptr) {
      if (auto text = read_nonempty(*domain.zone_entry, "a zone name")) {
        std::string zone = normalize_name(*text);
        if (auto problem = server_name_error(zone)) {  // a zone may be a single label
          error(value_mark(*domain.zone_entry), domain.zone_entry->path,
                name_message(zone, "a valid zone name", *problem));
        } else if (!is_in_zone(out.name, zone)) {
          error(value_mark(*domain.zone_entry), domain.zone_entry->path,
                "zone '" + zone + "' does not contain " + out.name +
                    " (the zone must be the domain itself or a parent of it)");
        } else {
          out.zone = zone;
        }
      }
    }

    out.ttl = own.ttl.value_or(defaults.ttl.value_or(3600));
    if (own.provider_entry != nullptr) {
      out.provider = own.provider;
      check_provider(*own.provider_entry, own.provider, *config);
    } else if (defaults.provider_entry != nullptr) {
      out.provider = defaults.provider;  // checked once, at defaults.provider
    } else if (!config->providers.empty()) {
      Keys names;
      for (const auto& [name, provider] : config->providers) {
        names.push_back(name);
      }
      error(domain.key_mark, domain.path,
            "no provider: set provider here or in defaults (configured: " + list_text(names) + ")");
    }

    if (domain.alias_entry != nullptr) {
      const Entry& alias = *domain.alias_entry;
      auto text = read_nonempty(alias, "the name of the primary domain");
      if (!text) {
        return;
      }
      std::string target = normalize_name(*text);
      auto found = by_name.find(target);
      if (target == out.name) {
        error(value_mark(alias), alias.path, "a domain cannot be an alias of itself");
      } else if (found == by_name.end()) {
        Keys names;
        for (const auto& [name, other] : by_name) {
          if (other->alias_entry == nullptr) {
            names.push_back(name);
          }
        }
        std::sort(names.begin(), names.end());  // the suggestion must not depend on hashing
        std::string suggestion = spellcheck(target, names);
        error(value_mark(alias), alias.path,
              "'" + target + "' is not a domain in this config" +
                  (suggestion.empty() ? "" : " (did you mean '" + suggestion + "'?)"));
      } else if (found->second->alias_entry != nullptr) {
        error(value_mark(alias), alias.path,
              "'" + target + "' is itself an alias: alias_of must name a domain with its own policy");
      } else {
        out.alias_of = target;
      }
      if (out.alias_of.empty()) {
        out.alias_of = target;  // keep it an alias in the (invalid) result
      }
      return;
    }

    out.retire = domain.retire.value_or(false);
    out.mode = own.mode.value_or(defaults.mode.value_or(PolicyMode::Testing));
    out.mode_pinned = own.mode.has_value();
    out.max_age = own.max_age.value_or(defaults.max_age.value_or(86400));
    if (out.retire) {
      // RFC 8461 section 8.3: a retired domain publishes mode none until every
      // cached policy has expired.
      if (own.mode && *own.mode != PolicyMode::None) {
        const Entry* policy = domain.view.find("policy");
        error(policy != nullptr ? policy->key.Mark() : domain.key_mark, join(domain.path, "policy.mode"),
              std::string("a retired domain publishes mode none: remove mode '") + to_string(*own.mode) +
                  "' or retire: true");
      }
      out.mode = PolicyMode::None;
      out.mode_pinned = true;
    }
    if (own.rua) {
      out.tlsrpt_rua = *own.rua;
    } else if (defaults.rua) {
      out.tlsrpt_rua = *defaults.rua;
    }
    if (own.policy_host) {
      out.policy_host = *own.policy_host;
    } else if (!own.policy_host_present && defaults.policy_host) {
      out.policy_host = *defaults.policy_host;
    } else if (!own.policy_host_present && !defaults.policy_host_present) {
      error(domain.key_mark, domain.path,
            "policy_host is required (set it here or in defaults, like {ipv4: [192.0.2.40]} or {cname: "
            "web.example.net})");
    }
    if (own.caa) {
      out.caa = *own.caa;
    } else if (defaults.caa) {
      out.caa = *defaults.caa;
    }
    out.id_format = own.id_format.value_or(defaults.id_format.value_or(IdFormat::Timestamp));
    if (out.mx.empty() && !domain.mx_present && out.mode != PolicyMode::None) {
      error(domain.key_mark, domain.path,
            std::string("mx is required when mode is ") + to_string(out.mode) +
                " (list the MX host names, like mx: [mail.example.net])");
    } else if (out.mx.empty() && domain.mx_present && out.mode != PolicyMode::None) {
      const Entry* mx = domain.view.find("mx");
      if (mx != nullptr && mx->value.IsSequence() && mx->value.size() == 0) {
        error(value_mark(*mx), mx->path,
              std::string("mx must list at least one MX host name when mode is ") + to_string(out.mode));
      }
    }
  });

  // Domains in name order. A config written in order (and without invalid
  // domains) is already there; otherwise move each domain once.
  bool all_valid =
      std::all_of(pending.begin(), pending.end(), [](const PendingDomain& d) { return d.valid; });
  auto by_domain_name = [](const DomainConfig& a, const DomainConfig& b) { return a.name < b.name; };
  if (all_valid && std::is_sorted(config->domains.begin(), config->domains.end(), by_domain_name)) {
    return;
  }
  std::vector<DomainConfig*> order;
  order.reserve(pending.size());
  for (PendingDomain& domain : pending) {
    if (domain.valid) {
      order.push_back(domain.config);
    }
  }
  std::sort(order.begin(), order.end(),
            [&](const DomainConfig* a, const DomainConfig* b) { return by_domain_name(*a, *b); });
  std::vector<DomainConfig> sorted;
  sorted.reserve(order.size());
  for (DomainConfig* domain : order) {
    sorted.push_back(std::move(*domain));
  }
  config->domains = std::move(sorted);
}

}  // namespace stsctl::config_reader
