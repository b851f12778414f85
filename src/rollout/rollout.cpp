#include "rollout/rollout.h"

#include "dns/name.h"

#include <algorithm>

namespace stsctl {

bool follows_rollout(const Config& config, const DomainConfig& domain) {
  return !config.stages.empty() && !domain.mode_pinned && !domain.retire && !domain.is_alias();
}

Policy effective_policy(const Config& config, const DomainConfig& domain, int stage) {
  if (domain.retire) {
    return make_policy(PolicyMode::None, k_retire_max_age, domain.mx);
  }
  if (!follows_rollout(config, domain)) {
    return make_policy(domain.mode, domain.max_age, domain.mx);
  }
  int last = static_cast<int>(config.stages.size()) - 1;
  const RolloutStage& current = config.stages[static_cast<size_t>(std::clamp(stage, 0, last))];
  return make_policy(current.mode, current.max_age, domain.mx);
}

std::optional<int64_t> next_promotion_at(const Config& config, const DomainConfig& domain, int stage,
                                         int64_t since) {
  if (!follows_rollout(config, domain) || stage + 1 >= static_cast<int>(config.stages.size()) || stage < 0) {
    return std::nullopt;
  }
  const RolloutStage& current = config.stages[static_cast<size_t>(stage)];
  return since + current.hold_seconds.value_or(0);
}

std::vector<std::string> uncovered_mx_hosts(const std::vector<std::string>& patterns,
                                            const std::vector<std::string>& mx_hosts) {
  std::vector<std::string> uncovered;
  for (const auto& host : mx_hosts) {
    bool covered = std::any_of(patterns.begin(), patterns.end(),
                               [&](const std::string& pattern) { return mx_pattern_matches(pattern, host); });
    if (!covered) {
      uncovered.push_back(normalize_name(host));
    }
  }
  return uncovered;
}

std::vector<std::string> unused_mx_patterns(const std::vector<std::string>& patterns,
                                            const std::vector<std::string>& mx_hosts) {
  std::vector<std::string> unused;
  for (const auto& pattern : patterns) {
    bool used = std::any_of(mx_hosts.begin(), mx_hosts.end(),
                            [&](const std::string& host) { return mx_pattern_matches(pattern, host); });
    if (!used) {
      unused.push_back(pattern);
    }
  }
  return unused;
}

std::vector<CachedPolicy> cached_enforce_policies(const std::vector<PublishedVersion>& history, int64_t now) {
  std::vector<CachedPolicy> cached;
  for (size_t i = 0; i < history.size(); ++i) {
    const PublishedVersion& version = history[i];
    int64_t served_until = i + 1 < history.size() ? history[i + 1].published_at : now;
    int64_t cached_until = served_until + version.policy.max_age;
    if (version.policy.mode == PolicyMode::Enforce && cached_until > now) {
      cached.push_back({version.id, version.policy, version.published_at, cached_until});
    }
  }
  return cached;
}

std::vector<MxRisk> mx_cache_risks(const std::vector<CachedPolicy>& cached,
                                   const std::vector<std::string>& mx_hosts) {
  std::vector<MxRisk> risks;
  for (const auto& policy : cached) {
    for (const auto& host : uncovered_mx_hosts(policy.policy.mx, mx_hosts)) {
      risks.push_back({host, policy.id, policy.cached_until});
    }
  }
  return risks;
}

int64_t retirement_ends_at(const std::vector<PublishedVersion>& history, int64_t retired_at) {
  int64_t ends = retired_at;
  for (size_t i = 0; i < history.size(); ++i) {
    int64_t served_until = i + 1 < history.size() ? history[i + 1].published_at : retired_at;
    ends = std::max(ends, served_until + static_cast<int64_t>(history[i].policy.max_age));
  }
  return ends;
}

}  // namespace stsctl
