#include "deploy/engine.h"

#include "check/policy_parse.h"
#include "policy/policy.h"
#include "publish/propagation.h"
#include "publish/webroot.h"
#include "records/invariants.h"
#include "util/time.h"

#include <stdexcept>

namespace stsctl {

namespace {

/// Senders compare clocks loosely; a --now within this of the real clock is
/// not called simulated.
constexpr int64_t k_clock_slack_seconds = 300;

PublishedPolicyRecord record_of(const DomainDecision& decision) {
  return {decision.domain, decision.id.id, decision.policy.hash, decision.policy.policy,
          decision.policy.text};
}

PublishedPolicyRecord record_of(const PendingId& pending) {
  ParsedPolicy parsed = parse_policy_body(pending.policy_text);
  return {pending.domain, pending.id, pending.hash, make_policy(pending.mode, pending.max_age, parsed.mx),
          pending.policy_text};
}

const std::string& zone_of(const Deployment& deployment, const std::string& domain) {
  return deployment.config.find_domain(domain)->zone;
}

}  // namespace

Provider& ProviderSet::get(const std::string& name) {
  auto made = m_made.find(name);
  if (made != m_made.end()) {
    return *made->second;
  }
  auto config = m_config.providers.find(name);
  if (config == m_config.providers.end()) {
    throw ProviderError(ProviderError::Kind::Other, "provider '" + name + "' is not configured");
  }
  return *m_made.emplace(name, m_factory(config->second)).first->second;
}

StateSnapshot snapshot_of(const StateStore& state) {
  StateSnapshot snapshot;
  snapshot.domains = state.all_domains();
  snapshot.pending = state.pending();
  for (const auto& [domain, entries] : state.all_history()) {
    snapshot.history.emplace_hint(snapshot.history.end(), domain, versions_of(entries));
  }
  snapshot.latest_time = state.latest_time();
  return snapshot;
}

Deployment DeployEngine::plan(const DeployRequest& request) {
  m_snapshot = snapshot_of(m_env.state);
  Deployment deployment = prepare_deployment(m_config, m_snapshot, request, m_env.now);

  auto read = [&](const std::map<std::string, std::vector<ZoneQuery>>& by_provider) {
    std::vector<ZoneReadResult> reads;
    for (const auto& [provider, queries] : by_provider) {
      try {
        auto results = m_env.providers.get(provider).read_zones(queries);
        reads.insert(reads.end(), std::make_move_iterator(results.begin()),
                     std::make_move_iterator(results.end()));
      } catch (const ProviderError& error) {
        for (const auto& query : queries) {
          reads.push_back({query.zone, {}, error});
        }
      }
    }
    return reads;
  };
  auto queries = zone_queries(deployment, m_snapshot, request);
  std::vector<std::string> unknown_live = attach_live(deployment, m_snapshot, read(queries));

  std::map<std::string, LivePolicy> live_policies;
  if (!unknown_live.empty()) {
    // A live policy the state does not know may be enforce: its zone's MX
    // decides the cache risk. Read again the few zones read without it.
    std::map<std::string, std::vector<ZoneQuery>> again;
    for (const auto& domain : unknown_live) {
      const std::string& zone = zone_of(deployment, domain);
      for (auto& query : queries[deployment.zones.at(zone).provider]) {
        if (query.zone == zone && !query.want_mx) {
          query.want_mx = true;
          again[deployment.zones.at(zone).provider].push_back(query);
        }
      }
    }
    for (auto& result : read(again)) {
      if (!result.error) {
        deployment.zones.at(result.zone).live->mx = std::move(result.snapshot.mx);
      }
    }
    live_policies = m_env.web.fetch_live(unknown_live);
  }

  std::map<std::string, std::string> current_files;
  if (m_env.web.publishes()) {
    try {
      for (const auto& [domain, hosts] : policy_hosts(deployment.config)) {
        for (const auto& host : hosts) {
          current_files[host] = m_env.web.current(host);
        }
      }
    } catch (const std::runtime_error& error) {
      deployment.errors.push_back(error.what());
    }
  }
  settle_deployment(deployment, m_snapshot, request, live_policies, current_files);
  return deployment;
}

ApplyResult DeployEngine::apply(Deployment& deployment, const DeployRequest& request) {
  ApplyResult result;
  if (!deployment.errors.empty()) {
    result.errors = true;
    return result;
  }
  if (m_env.now > m_env.real_now + k_clock_slack_seconds) {
    m_env.events.emit(EventSink::Kind::Warning,
                      "--now " + format_rfc3339(m_env.now) + " is " +
                          format_duration(m_env.now - m_env.real_now) +
                          " ahead of the real clock: this run writes SIMULATED times into the state");
  }
  record_pending(deployment);
  publish_files(deployment);
  if (m_config.publish.verify) {
    verify(deployment);
  }
  result.failed_zones = push(deployment);
  result.recorded_ids = record(deployment, request, result.failed_zones);
  result.errors = !result.failed_zones.empty();
  wait_for_name_servers(deployment, result.failed_zones);
  return result;
}

/// Phase 1: the ids about to be pushed are recorded as pending first, so a
/// run killed after a push and before its record does not make the next run
/// mint a second id for the same policy. A pending id found live with
/// another hash (pushed by such a run, then the config changed) counts as
/// published from now: senders may hold its policy.
void DeployEngine::record_pending(const Deployment& deployment) {
  std::vector<PublishedPolicyRecord> went_live;
  std::vector<PublishedPolicyRecord> pending;
  for (const auto& [name, decision] : deployment.decisions) {
    if (decision.pending_went_live) {
      went_live.push_back(record_of(*decision.pending));
    }
  }
  for (const auto* decision : deployment.bumps()) {
    pending.push_back(record_of(*decision));
  }
  if (!went_live.empty()) {
    m_env.state.record_published(went_live, m_env.now);
  }
  m_env.state.record_pending(pending, m_env.now);
}

/// Phase 2: policy files before any id (RFC 8461 section 8.1: the new policy
/// must be served before senders see the new id).
void DeployEngine::publish_files(const Deployment& deployment) {
  if (!m_env.web.publishes()) {
    return;
  }
  for (const auto& change : deployment.policy_files) {
    const DomainDecision& decision = deployment.decisions.at(change.domain);
    if (m_env.web.write(change.host, decision.policy.text)) {
      m_env.events.emit(EventSink::Kind::Info,
                        "published " + policy_path(m_config.publish.webroot, change.host));
    }
  }
}

/// Phase 3: every new id's policy, as senders will fetch it from the
/// addresses the config gives its host. A domain whose policy is not served
/// keeps its old id (or gets none yet).
void DeployEngine::verify(Deployment& deployment) {
  std::vector<VerifyTarget> targets;
  auto hosts = policy_hosts(deployment.config);
  for (const auto* decision : deployment.bumps()) {
    for (const auto& host : hosts[decision->domain]) {
      targets.push_back({decision->domain, host, decision->policy.text});
    }
  }
  if (targets.empty()) {
    return;
  }
  auto reasons = m_env.web.verify(targets);
  std::vector<Blocked> held;
  std::set<std::string> seen;
  for (size_t i = 0; i < targets.size(); ++i) {
    const std::string& domain = targets[i].domain;
    if (reasons[i].empty() || !seen.insert(domain).second) {
      continue;
    }
    std::string webroot = m_config.publish.webroot.empty() ? "<webroot>" : m_config.publish.webroot;
    held.push_back({domain, "policy-not-live", describe_bump(deployment.decisions.at(domain)),
                    reasons[i] + "; the id stays as it is until https://mta-sts." + targets[i].host +
                        "/.well-known/mta-sts.txt serves " + policy_path(webroot, targets[i].host)});
  }
  for (const auto& blocked : held) {
    m_env.events.emit(EventSink::Kind::Blocked,
                      "blocked (" + blocked.guard + "): " + blocked.domain + ": " + blocked.message);
  }
  hold_domains(deployment, held);
}

/// Phase 4 and 5: the invariants of every zone about to change, then one
/// atomic push per zone. Returns the zones that failed.
std::set<std::string> DeployEngine::push(Deployment& deployment) {
  std::set<std::string> failed;
  std::map<std::string, std::vector<ZonePlan>> by_provider;
  for (const auto& [zone, work] : deployment.zones) {
    if (work.plan.empty()) {
      continue;
    }
    auto problems = check_invariants(zone, work.desired);
    if (!problems.empty()) {
      failed.insert(zone);
      m_env.events.emit(EventSink::Kind::Error, "zone " + zone +
                                                    " was not pushed: its records break an invariant (" +
                                                    problems.front() + "); this is a bug in stsctl");
      continue;
    }
    by_provider[work.provider].push_back(work.plan);
  }
  std::vector<std::string> errors;
  for (const auto& [provider, plans] : by_provider) {
    std::vector<ZoneApplyResult> results;
    try {
      results = m_env.providers.get(provider).apply_zones(plans);
    } catch (const ProviderError& error) {
      for (const auto& plan : plans) {
        failed.insert(plan.zone);
      }
      errors.push_back(error.what());
      continue;
    }
    for (const auto& zone_result : results) {
      if (zone_result.error) {
        failed.insert(zone_result.zone);
        errors.push_back(zone_result.error->what());
      } else {
        m_env.events.emit(EventSink::Kind::Info, "updated zone " + zone_result.zone);
      }
    }
  }
  // One line for failures that differ only in the zone (a refused server).
  for (const auto& error : group_zone_errors(errors)) {
    m_env.events.emit(EventSink::Kind::Error, error);
  }
  return failed;
}

/// Phase 6: what went live, in one transaction: the ids (which drops their
/// pending rows), where each domain's records live, stages entered, the
/// retirement clock, and the latest time of the state.
size_t DeployEngine::record(const Deployment& deployment, const DeployRequest& /*request*/,
                            const std::set<std::string>& failed_zones) {
  std::vector<PublishedPolicyRecord> records;
  for (const auto* decision : deployment.bumps()) {
    if (failed_zones.count(zone_of(deployment, decision->domain)) == 0) {
      records.push_back(record_of(*decision));
    }
  }
  for (const auto& [name, decision] : deployment.decisions) {
    if (decision.keeps_live_id && !decision.held && failed_zones.count(zone_of(deployment, name)) == 0) {
      records.push_back(record_of(decision));  // adopted as it is: the live id with its canonical policy
    }
  }
  StateStore& state = m_env.state;
  const int64_t now = m_env.now;
  StateStore::Batch batch(state);
  state.record_published(records, now);
  for (const auto& [name, decision] : deployment.decisions) {
    const DomainConfig* domain = deployment.config.find_domain(name);
    if (failed_zones.count(domain->zone) != 0) {
      continue;
    }
    const bool has_row = decision.previous || ((decision.id.bumped || decision.keeps_live_id) &&
                                               !decision.held && !decision.retired_out);
    if (!has_row) {
      continue;
    }
    if (!decision.previous || decision.previous->zone != domain->zone ||
        decision.previous->provider != domain->provider) {
      state.set_location(name, domain->zone, domain->provider);
    }
    if (decision.stage_moves && !decision.held) {
      state.set_stage(name, decision.stage, now);
    }
    if (decision.retired_out) {
      state.set_retired_out(name, now);
    } else if (decision.retiring && decision.retiring_until && !decision.held &&
               (!decision.previous || decision.previous->retiring_until != decision.retiring_until)) {
      state.set_retiring_until(name, decision.retiring_until);
    } else if (!decision.retiring && decision.previous && decision.previous->retiring_until) {
      state.set_retiring_until(name, std::nullopt);  // retirement called off
    }
  }
  state.advance_latest_time(now);
  batch.commit();
  return records.size();
}

/// Phase 7: every authoritative name server of a changed zone serves the new id.
void DeployEngine::wait_for_name_servers(const Deployment& deployment,
                                         const std::set<std::string>& failed_zones) {
  if (m_config.publish.propagation_timeout_seconds <= 0) {
    return;
  }
  std::vector<PropagationTarget> targets;
  for (const auto* decision : deployment.bumps()) {
    const std::string& zone = zone_of(deployment, decision->domain);
    const ZoneWork& work = deployment.zones.at(zone);
    if (failed_zones.count(zone) == 0 && work.live && !work.live->nameservers.empty()) {
      targets.push_back(
          {"_mta-sts." + decision->domain + ".", "v=STSv1; id=" + decision->id.id, work.live->nameservers});
    }
  }
  if (targets.empty()) {
    return;
  }
  PropagationOptions options;
  options.timeout_seconds = m_config.publish.propagation_timeout_seconds;
  options.addresses = m_config.publish.nameserver_addresses;
  auto lags = wait_for_propagation(targets, options, [&](size_t done, size_t total) {
    m_env.events.emit(EventSink::Kind::Progress,
                      "waiting for name servers: " + std::to_string(done) + "/" + std::to_string(total));
  });
  for (const auto& lag : lags) {
    m_env.events.emit(EventSink::Kind::Warning, "name server " + lag.nameserver +
                                                    " does not serve the new id at " + lag.owner + " yet" +
                                                    (lag.seen.empty() ? "" : " (serves " + lag.seen + ")"));
  }
  if (lags.empty()) {
    m_env.events.emit(EventSink::Kind::Info, "all name servers serve the new ids");
  }
}

}  // namespace stsctl
