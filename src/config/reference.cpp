#include "config/reference.h"

#include <algorithm>

#include "config/backend_schema.h"
#include "config/yaml_readers.h"

namespace stsctl {

namespace {

// Texts shared by `defaults.X` and `domains.D.X`.
const char* const k_ttl_allowed = "integer seconds, 60 to 604800";
const char* const k_mode_allowed = "testing, enforce, none";
const char* const k_max_age_allowed = "integer seconds, 86400 to 31557600 (one day to one year)";
const char* const k_rua_allowed =
    "mailto:local@domain or https:// URIs; a ',' '!' or ';' inside a URI must be %-encoded";
const char* const k_caa_allowed = "list of {tag, value, flags}";
const char* const k_id_formats = "timestamp (UTC YYYYMMDDhhmmss), serial (YYYYMMDDnn), hash";

std::vector<ConfigKey> build() {
  // The types built in, from the backends' own schemas (the core names none).
  std::vector<std::string> provider_types;
  for (const auto& schema : backend_config_schemas()) {
    provider_types.push_back(schema.type);
  }
  std::vector<ConfigKey> keys = {
      {"version", "integer", "", "1", "Version of the config format; required."},
      {"defaults", "map", "", "the keys below", "Settings every domain inherits unless it sets its own."},
      {"defaults.ttl", "integer", "3600", k_ttl_allowed, "TTL of every record stsctl writes."},
      {"defaults.provider", "string", "", "a key of providers",
       "The DNS provider of domains that name none."},
      {"defaults.policy", "map", "", "mode, max_age", "The MTA-STS policy."},
      {"defaults.policy.mode", "string", "testing", k_mode_allowed,
       "Policy mode. Set on a domain it pins the domain: promote skips it."},
      {"defaults.policy.max_age", "integer", "86400", k_max_age_allowed,
       "How long senders may cache the policy."},
      {"defaults.tlsrpt", "map", "", "rua",
       "SMTP TLS Reporting (RFC 8460); without it no _smtp._tls record."},
      {"defaults.tlsrpt.rua", "string list", "", k_rua_allowed, "Where senders send their reports."},
      {"defaults.policy_host", "map", "", "ipv4 and/or ipv6, or cname (not both)",
       "The web host serving mta-sts.D; required for policy domains."},
      {"defaults.policy_host.ipv4", "string list", "", "IPv4 addresses", "A records of mta-sts.D."},
      {"defaults.policy_host.ipv6", "string list", "", "IPv6 addresses", "AAAA records of mta-sts.D."},
      {"defaults.policy_host.cname", "string", "", "a host name",
       "One CNAME at mta-sts.D instead of addresses."},
      {"defaults.caa", "list", "", k_caa_allowed, "CAA records at mta-sts.D (never beside a CNAME)."},
      {"defaults.caa[].tag", "string", "", "issue, issuewild, iodef", "CAA property tag."},
      {"defaults.caa[].value", "string", "", "a CA domain, or a mailto:/https: URI for iodef", "CAA value."},
      {"defaults.caa[].flags", "integer", "0", "0, 128", "CAA flags (128: issuer critical)."},
      {"defaults.id_format", "string", "timestamp", k_id_formats, "How new policy ids are formed."},
      {"domains", "map", "", "domain names", "Every mail domain, by name; required, not empty."},
      {"domains.D.zone", "string", "D", "D or a parent of D", "The zone that holds the names of D."},
      {"domains.D.alias_of", "string", "", "a configured domain that is not an alias itself",
       "Makes D an alias: CNAMEs to the names of that domain. An alias takes only zone, provider, ttl."},
      {"domains.D.provider", "string", "defaults.provider", "a key of providers", "The DNS provider of D."},
      {"domains.D.ttl", "integer", "defaults.ttl", k_ttl_allowed, "TTL of the records of D."},
      {"domains.D.mx", "string list", "", "host names; * only as the whole leftmost label (*.mx.example.net)",
       "The policy's mx patterns; required unless the mode is none or the domain is retired."},
      {"domains.D.policy", "map", "defaults.policy", "mode, max_age", "As defaults.policy."},
      {"domains.D.tlsrpt", "map", "defaults.tlsrpt", "rua", "As defaults.tlsrpt."},
      {"domains.D.policy_host", "map", "defaults.policy_host", "ipv4 and/or ipv6, or cname (not both)",
       "As defaults.policy_host."},
      {"domains.D.caa", "list", "defaults.caa", k_caa_allowed, "As defaults.caa."},
      {"domains.D.id_format", "string", "defaults.id_format", k_id_formats, "As defaults.id_format."},
      {"domains.D.retire", "boolean", "false", "true, false",
       "Publish mode none with a new id, then delete the records once senders' caches have expired."},
      {"rollout", "map", "", "stages, gates", "Staged rollout of domains without an explicit policy.mode."},
      {"rollout.stages", "list", "", "a non-empty list of {mode, max_age, hold}",
       "The stages domains pass through, in order."},
      {"rollout.stages[].mode", "string", "", k_mode_allowed, "Policy mode in this stage; required."},
      {"rollout.stages[].max_age", "integer", "", k_max_age_allowed,
       "Policy max_age in this stage; required."},
      {"rollout.stages[].hold", "string", "", "a number with m, h, d or w: 30m, 12h, 7d, 2w",
       "How long a domain stays in this stage; required on every stage but the last."},
      {"rollout.gates", "map", "", "the keys below",
       "Checks a domain must pass before it enters an enforce stage."},
      {"rollout.gates.starttls", "boolean", "true", "true, false",
       "Every MX host offers STARTTLS with a certificate valid for its name."},
      {"rollout.gates.smtp_port", "integer", "25", "1 to 65535", "SMTP port of the MX hosts."},
      {"rollout.gates.resolver", "string", "the system resolver", "IP[:port]", "DNS server for MX lookups."},
      {"rollout.gates.ca_file", "string", "the system store", "a PEM file",
       "CA certificates for the SMTP check."},
      {"rollout.gates.connect_to", "map", "", "\"host[:port]\" or \":port\": \"addr[:port]\"",
       "Connect elsewhere than DNS says, like curl --connect-to."},
      {"rollout.gates.timeout", "number", "20", "seconds, above 0 and up to 3600", "Time per network step."},
      {"rollout.gates.tlsrpt", "map", "none (no TLS-RPT gate)", "max_failure_rate, min_sessions",
       "TLS-RPT reports of the current stage must show enough sessions and few enough failures, and one "
       "policy-string must be the policy published now (where reports carry one)."},
      {"rollout.gates.tlsrpt.max_failure_rate", "number", "", "0 to 1", "Highest failed share of sessions."},
      {"rollout.gates.tlsrpt.min_sessions", "integer", "", "0 or more",
       "Fewest sessions the reports must cover."},
      {"providers", "map", "", "provider names", "DNS providers, by the name domains refer to."},
      {"providers.P.type", "string", "", config_reader::list_text(provider_types),
       "The backend; decides the other keys.", "", provider_types},
      {"publish", "map", "", "the keys below", "Where policy files go and how they are verified."},
      {"publish.webroot", "string", "", "a directory",
       "Policies go to <webroot>/mta-sts.D/.well-known/mta-sts.txt."},
      {"publish.verify", "boolean", "false", "true, false",
       "Fetch each new policy over HTTPS before its id is pushed (needs webroot)."},
      {"publish.ca_file", "string", "the system store", "a PEM file", "Trust a private CA for verify."},
      {"publish.connect_to", "map", "", "\"host:port\": \"addr:port\"",
       "Connect elsewhere than DNS says for verify, like curl --connect-to."},
      {"publish.timeout", "number", "30", "seconds, above 0 and up to 3600", "Time per verify fetch."},
      {"publish.propagation", "map", "", "timeout, nameservers",
       "After a push, wait for every name server of the zone to serve the new id."},
      {"publish.propagation.timeout", "number", "60", "seconds, 0 (do not wait) up to 3600",
       "How long to wait."},
      {"publish.propagation.nameservers", "map", "", "name server: \"addr:port\"",
       "Addresses of name servers not reachable by their names."},
      {"state", "string", "stsctl.db beside the config", "a SQLite file path, or a postgresql:// URL",
       "The state database."},
  };
  // Each backend's rows go right after providers.P.type; a row shared by
  // several backends (providers.P.timeout) stands once, where it first comes.
  auto type_row = std::find_if(keys.begin(), keys.end(),
                               [](const ConfigKey& key) { return key.path == "providers.P.type"; });
  std::vector<ConfigKey> backend_rows;
  for (const auto& schema : backend_config_schemas()) {
    for (const auto& row : schema.keys) {
      auto same = [&](const ConfigKey& key) { return key.path == row.path; };
      auto shared = std::find_if(backend_rows.begin(), backend_rows.end(), same);
      if (shared == backend_rows.end()) {
        backend_rows.push_back(row);
      } else if (shared->only_for != row.only_for) {
        shared->only_for = "";
      }
    }
  }
  keys.insert(type_row + 1, backend_rows.begin(), backend_rows.end());
  return keys;
}

}  // namespace

const std::vector<ConfigKey>& config_reference() {
  static const std::vector<ConfigKey> keys = build();
  return keys;
}

std::vector<std::string> config_keys_under(const std::string& map_path, const std::string& only_for) {
  std::vector<std::string> out;
  std::string prefix = map_path.empty() ? "" : map_path + ".";
  for (const auto& key : config_reference()) {
    if (key.path.compare(0, prefix.size(), prefix) != 0) {
      continue;
    }
    std::string rest = key.path.substr(prefix.size());
    if (rest.empty() || rest.find('.') != std::string::npos || rest.find('[') != std::string::npos) {
      continue;
    }
    if (!key.only_for.empty() && key.only_for != only_for) {
      continue;
    }
    out.push_back(rest);
  }
  return out;
}

}  // namespace stsctl
