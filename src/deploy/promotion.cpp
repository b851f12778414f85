#include "deploy/promotion.h"

#include "check/dns_lookup.h"
#include "check/smtp_starttls.h"
#include "deploy/policy_web.h"
#include "net/https_fetch.h"
#include "policy/policy.h"
#include "rollout/rollout.h"
#include "util/time.h"

#include <algorithm>

namespace stsctl {

std::string stage_label(const Config& config, const DomainConfig& domain, int stage) {
  if (!follows_rollout(config, domain)) {
    return domain.retire ? "retiring" : "pinned";
  }
  return std::to_string(stage + 1) + "/" + std::to_string(config.stages.size());
}

PromotionScan due_promotions(const Config& config, const StateSnapshot& state, int64_t now,
                             const std::string& only_domain) {
  PromotionScan scan;
  for (const auto& domain : config.domains) {
    if (!only_domain.empty() && domain.name != only_domain) {
      continue;
    }
    if (!follows_rollout(config, domain)) {
      if (!only_domain.empty()) {
        scan.lines.push_back(domain.name + ": not promoted (" + stage_label(config, domain, 0) +
                             "; an explicit policy.mode pins it)");
      }
      continue;
    }
    auto known = state.domains.find(domain.name);
    if (known == state.domains.end()) {
      scan.lines.push_back(domain.name + ": not published yet; this run publishes it (stage 1)");
      continue;
    }
    auto due = next_promotion_at(config, domain, known->second.stage, known->second.stage_since);
    if (!due) {
      scan.lines.push_back(domain.name + ": at the last stage (" +
                           stage_label(config, domain, known->second.stage) + ")");
      continue;
    }
    if (now < *due) {
      scan.lines.push_back(domain.name + ": stage " + stage_label(config, domain, known->second.stage) +
                           " until " + format_rfc3339(*due) + " (" + format_duration(*due - now) + " left)");
      continue;
    }
    scan.due.push_back({domain.name, known->second.stage, known->second.stage + 1});
  }
  return scan;
}

namespace {

/// Gate: the policy senders fetch today is the one the state says is live.
std::string policy_live_gate(const Config& config, const DomainState& known) {
  if (!config.publish.verify) {
    return "";
  }
  FetchOptions options;
  options.ca_file = config.publish.ca_file;
  options.connect_to = config.publish.connect_to;
  options.timeout_seconds = config.publish.timeout_seconds;
  FetchResult result = fetch_policy(known.domain, options);
  // The body is checked against the recorded hash; the rest as apply verifies.
  std::string mismatch = policy_mismatch(result, result.body);
  if (mismatch.empty() && sha256_hex(result.body) != known.policy_hash) {
    mismatch = result.url + " does not serve the recorded policy";
  }
  if (mismatch.empty()) {
    return "";
  }
  return "policy not live: " + mismatch + " (id " + known.policy_id + "); run apply first";
}

/// Why an MX host would fail an MTA-STS sender in enforce mode (RFC 8461
/// section 4.2: STARTTLS, a trusted chain, a name that matches); empty when fine.
std::string smtp_failure(const SmtpResult& result) {
  if (!result.connected) {
    return result.host + ": " + (result.error.empty() ? "no connection" : result.error);
  }
  if (!result.error.empty()) {
    return result.host + ": " + result.error;
  }
  if (!result.starttls_offered) {
    return result.host + " does not offer STARTTLS";
  }
  if (!result.tls_ok) {
    return result.host + ": TLS handshake failed (" + result.tls_error + ")";
  }
  if (!result.chain_valid) {
    return result.host + ": certificate not trusted (" + result.chain_error + ")";
  }
  if (!result.name_valid) {
    return result.host + ": certificate is not valid for the name " + result.host;
  }
  return "";
}

/// Gate (rollout.gates.starttls): every MX host of the domain offers STARTTLS
/// with a certificate valid for its name.
std::string starttls_gate(const Config& config, const std::string& domain, DnsLookup& dns) {
  const RolloutGates& gates = config.gates;
  DnsAnswer mx = dns.lookup(domain, "MX");
  if (mx.status != DnsStatus::Ok) {
    return "starttls: MX lookup of " + domain + " via " + dns.resolver_description() + " failed (" +
           to_string(mx.status) + (mx.error.empty() ? "" : ": " + mx.error) + ")";
  }
  std::vector<std::string> hosts;
  for (const auto& record : mx.records) {
    size_t space = record.find(' ');
    std::string host = space == std::string::npos ? record : record.substr(space + 1);
    // A null MX (RFC 7505) accepts no mail: nothing to probe.
    if (!host.empty() && host != "." && std::find(hosts.begin(), hosts.end(), host) == hosts.end()) {
      hosts.push_back(host);
    }
  }
  if (hosts.empty()) {
    return "starttls: " + domain + " has no MX host to check";
  }
  std::vector<std::vector<std::string>> addresses;
  for (auto& host : resolve_addresses(dns, hosts)) {
    addresses.push_back(std::move(host.addresses));
  }
  SmtpOptions options;
  options.port = gates.smtp_port;
  options.ca_file = gates.ca_file;
  options.connect_to = gates.smtp_connect_to;
  options.timeout_seconds = gates.timeout_seconds;
  std::string failures;
  for (const auto& result : probe_smtp_many(hosts, options, 8, addresses)) {
    std::string failure = smtp_failure(result);
    if (!failure.empty()) {
      failures += (failures.empty() ? "" : "; ") + failure;
    }
  }
  return failures.empty() ? "" : "starttls: " + failures;
}

}  // namespace

LiveGates::LiveGates() = default;
LiveGates::~LiveGates() = default;

std::string LiveGates::check(const Config& config, const DomainState& known) {
  const DomainConfig* domain = config.find_domain(known.domain);
  if (domain == nullptr) {
    return "";
  }
  std::string failure = policy_live_gate(config, known);
  if (!failure.empty() || !config.gates.starttls) {
    return failure;
  }
  if (!m_dns) {
    DnsOptions options;
    options.resolver = config.gates.resolver;
    options.timeout_seconds = std::min(config.gates.timeout_seconds, 10.0);
    try {
      m_dns = std::make_unique<DnsLookup>(options);
    } catch (const std::exception& error) {
      return std::string("starttls: cannot use the resolver for rollout.gates (") + error.what() + ")";
    }
  }
  return starttls_gate(config, known.domain, *m_dns);
}

}  // namespace stsctl
