#pragma once
// Pure rollout logic: which policy a domain publishes at its stage, when it may
// be promoted, and which MX hosts a sender's cached policy could fail on.

#include "config/config.h"
#include "policy/policy.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stsctl {

/// A retired domain publishes mode none with the smallest allowed max_age so
/// senders drop it quickly (RFC 8461 section 8.3).
constexpr uint32_t k_retire_max_age = 86400;

/// True when the domain's mode/max_age come from rollout.stages: the config
/// has stages, the domain does not pin policy.mode and is not retiring.
bool follows_rollout(const Config& config, const DomainConfig& domain);

/// The policy the domain publishes at `stage` (clamped to the last stage).
Policy effective_policy(const Config& config, const DomainConfig& domain, int stage);

/// When the domain may leave `stage` entered at `since`; nullopt at the last
/// stage or when it does not follow the rollout.
std::optional<int64_t> next_promotion_at(const Config& config, const DomainConfig& domain, int stage,
                                         int64_t since);

/// MX hosts (as read from DNS) that match none of `patterns`.
std::vector<std::string> uncovered_mx_hosts(const std::vector<std::string>& patterns,
                                            const std::vector<std::string>& mx_hosts);

/// Patterns that match none of the live MX hosts.
std::vector<std::string> unused_mx_patterns(const std::vector<std::string>& patterns,
                                            const std::vector<std::string>& mx_hosts);

/// A policy that senders may still hold in their caches.
struct CachedPolicy {
  std::string id;
  Policy policy;
  int64_t published_at = 0;
  int64_t cached_until = 0;  // superseded time (or now, for the current one) + max_age
};

/// One history row, as the rollout logic needs it.
struct PublishedVersion {
  std::string id;
  Policy policy;
  int64_t published_at = 0;
};

/// From a domain's history (oldest first): every enforce policy that a sender
/// may still cache at `now` (RFC 8461 section 5: up to max_age after the last
/// fetch, and a policy can be fetched until it is superseded).
std::vector<CachedPolicy> cached_enforce_policies(const std::vector<PublishedVersion>& history, int64_t now);

struct MxRisk {
  std::string mx_host;
  std::string policy_id;
  int64_t until = 0;  // when the last sender cache of that policy expires
};

/// Live MX hosts not covered by a still-cached enforce policy: mail to them may
/// fail for senders holding it, until `until`.
std::vector<MxRisk> mx_cache_risks(const std::vector<CachedPolicy>& cached,
                                   const std::vector<std::string>& mx_hosts);

/// When a retired domain's records may be deleted: the latest time any sender
/// could still hold any of its earlier policies.
int64_t retirement_ends_at(const std::vector<PublishedVersion>& history, int64_t retired_at);

}  // namespace stsctl
