#include "deploy/deployment.h"

#include "check/policy_parse.h"
#include "dns/name.h"
#include "policy/policy.h"
#include "util/time.h"

#include <algorithm>
#include <unordered_set>

namespace stsctl {

namespace {

std::vector<std::string> owners_of(const std::string& domain) {
  std::vector<std::string> owners;
  for (const auto& key : owned_rrsets(domain)) {
    owners.push_back(key.owner);
  }
  return owners;
}

/// The id format an existing id was made in (by its shape).
IdFormat format_of(const std::string& id) {
  if (id.size() == 10) {
    return IdFormat::Serial;
  }
  return id.size() == 32 ? IdFormat::Hash : IdFormat::Timestamp;
}

std::optional<PublishedPolicy> published_of(const DomainDecision& decision) {
  if (!decision.previous) {
    return std::nullopt;
  }
  return PublishedPolicy{decision.previous->policy_id, decision.previous->policy_hash};
}

std::optional<PublishedPolicy> pending_of(const DomainDecision& decision) {
  if (!decision.pending) {
    return std::nullopt;
  }
  return PublishedPolicy{decision.pending->id, decision.pending->hash};
}

/// Whether the state knows `id` as this domain's published or pending id.
bool state_knows(const DomainDecision& decision, const std::string& id) {
  return (decision.previous && decision.previous->policy_id == id) ||
         (decision.pending && decision.pending->id == id);
}

std::vector<std::string> live_mx_hosts(const ZoneSnapshot& snapshot, const std::string& domain) {
  std::vector<std::string> hosts;
  for (const auto& rrset : snapshot.mx) {
    if (rrset.owner != absolute(domain)) {
      continue;
    }
    for (const auto& value : rrset.values) {
      auto space = value.find(' ');
      std::string host = normalize_name(space == std::string::npos ? value : value.substr(space + 1));
      if (!host.empty()) {
        hosts.push_back(host);
      }
    }
  }
  return hosts;
}

/// The id the live `_mta-sts` TXT of `domain` carries ("" when none or not
/// exactly one valid record, RFC 8461 section 3.1).
std::string live_sts_id(const ZoneSnapshot& snapshot, const std::string& domain) {
  const std::string owner = "_mta-sts." + absolute(domain);
  for (const auto& rrset : snapshot.owned) {
    if (rrset.owner == owner && rrset.type == RRType::TXT) {
      ParsedStsRecord parsed = parse_sts_records(rrset.values);
      return parsed.valid ? parsed.id : std::string();
    }
  }
  return "";
}

/// Versions senders may hold: the state's history, plus the live policy the
/// state does not know (counted as live until now).
std::vector<PublishedVersion> cached_versions(const StateSnapshot& state, const DomainDecision& decision,
                                              const std::map<std::string, LivePolicy>& live_policies,
                                              int64_t now) {
  std::vector<PublishedVersion> versions;
  auto history = state.history.find(decision.domain);
  if (history != state.history.end()) {
    versions = history->second;
  }
  auto live = live_policies.find(decision.domain);
  if (live != live_policies.end() && live->second.policy) {
    versions.push_back({decision.live_id, *live->second.policy, now});
  }
  return versions;
}

void decide_ids(Deployment& deployment, const std::map<std::string, IdFormat>& formats) {
  for (auto& [name, decision] : deployment.decisions) {
    IdHistory known{published_of(decision), pending_of(decision),
                    state_knows(decision, decision.live_id) ? std::string() : decision.live_id};
    decision.id = decide_next_id(formats.at(name), deployment.now, known, decision.policy.hash);
  }
}

}  // namespace

std::vector<PublishedVersion> versions_of(const std::vector<HistoryEntry>& history) {
  std::vector<PublishedVersion> versions;
  versions.reserve(history.size());
  for (const auto& entry : history) {
    ParsedPolicy parsed = parse_policy_body(entry.policy_text);
    versions.push_back({entry.id, make_policy(entry.mode, entry.max_age, parsed.mx), entry.published_at});
  }
  return versions;
}

size_t Deployment::change_count() const {
  size_t count = 0;
  for (const auto& [zone, work] : zones) {
    count += work.plan.changes.size();
  }
  return count;
}

std::vector<const DomainDecision*> Deployment::bumps() const {
  std::vector<const DomainDecision*> out;
  for (const auto& [name, decision] : decisions) {
    if (decision.id.bumped && !decision.retired_out && !decision.held) {
      out.push_back(&decision);
    }
  }
  return out;
}

bool Deployment::has_pending_work() const {
  if (change_count() != 0 || !bumps().empty() || !policy_files.empty()) {
    return true;
  }
  for (const auto& [name, decision] : decisions) {
    if ((decision.stage_moves && !decision.held) || decision.pending_went_live ||
        (decision.keeps_live_id && !decision.held) ||
        (decision.retired_out && decision.previous && !decision.previous->retired_out_at)) {
      return true;
    }
  }
  return false;
}

std::map<std::string, std::vector<std::string>> policy_hosts(const Config& config) {
  std::map<std::string, std::vector<std::string>> hosts;
  for (const auto& domain : config.domains) {
    if (!domain.is_alias()) {
      hosts[domain.name].insert(hosts[domain.name].begin(), domain.name);
    } else {
      hosts[domain.alias_of].push_back(domain.name);
    }
  }
  return hosts;
}

std::string describe_bump(const DomainDecision& decision) {
  std::string from = decision.previous   ? decision.previous->policy_id
                     : decision.adopting ? decision.live_id
                                         : "(none)";
  std::string line = "id " + from + " -> " + decision.id.id + " (mode " +
                     to_string(decision.policy.policy.mode) + ", max_age " +
                     std::to_string(decision.policy.policy.max_age);
  if (decision.previous && decision.previous->mode != decision.policy.policy.mode) {
    line += std::string(", was ") + to_string(decision.previous->mode);
  }
  return line + ")";
}

Deployment prepare_deployment(const Config& file_config, const StateSnapshot& state,
                              const DeployRequest& request, int64_t now) {
  Deployment deployment;
  deployment.now = now;
  if (state.latest_time > now) {
    deployment.warnings.push_back(
        {"",
         "the clock (" + format_rfc3339(now) + ") is earlier than the latest time in the state (" +
             format_rfc3339(state.latest_time) +
             "); what a later time decided stays (deleted records stay deleted, no stage is entered twice)"});
  }

  // A domain the state knows but the config no longer lists is retired as if
  // it said `retire: true` (RFC 8461 section 8.3), where its records are known.
  Config config = file_config;
  for (const auto& [name, row] : state.domains) {
    if (file_config.find_domain(name) != nullptr) {
      continue;
    }
    if (row.retired_out_at) {
      continue;  // retired and deleted already
    }
    if (row.zone.empty() || file_config.providers.count(row.provider) == 0) {
      deployment.warnings.push_back(
          {name, name +
                     " is in the state database but not in the config, and where its records live is not "
                     "known (provider '" +
                     row.provider +
                     "'); they are left alone. Put it back with "
                     "`retire: true` to remove MTA-STS safely (RFC 8461 section 8.3)"});
      continue;
    }
    DomainConfig domain;
    domain.name = name;
    domain.zone = row.zone;
    domain.provider = row.provider;
    domain.mode = PolicyMode::None;
    domain.mode_pinned = true;
    domain.retire = true;
    domain.id_format = format_of(row.policy_id);
    auto history = state.history.find(name);
    if (history != state.history.end() && !history->second.empty()) {
      domain.mx = history->second.back().policy.mx;
    }
    config.domains.push_back(domain);
    deployment.removed.insert(name);
    deployment.warnings.push_back({name, name + " was removed from the config: retiring it (mode none)"});
  }
  std::sort(config.domains.begin(), config.domains.end(),
            [](const DomainConfig& a, const DomainConfig& b) { return a.name < b.name; });
  deployment.config = std::move(config);
  const Config& effective = deployment.config;

  std::map<std::string, IdFormat> formats;
  for (const auto& domain : effective.domains) {
    if (domain.is_alias()) {
      continue;
    }
    DomainDecision decision;
    decision.domain = domain.name;
    if (auto found = state.domains.find(domain.name); found != state.domains.end()) {
      decision.previous = found->second;
    }
    if (auto found = state.pending.find(domain.name); found != state.pending.end()) {
      decision.pending = found->second;
    }
    const int known_stage = decision.previous ? decision.previous->stage : 0;
    auto override_it = request.stage_overrides.find(domain.name);
    // A stage is never entered twice, nor left backwards (an earlier clock).
    decision.stage_moves = override_it != request.stage_overrides.end() && override_it->second > known_stage;
    decision.stage = decision.stage_moves ? override_it->second : known_stage;
    decision.policy = make_domain_policy(domain.name, effective_policy(effective, domain, decision.stage));
    decision.retiring = domain.retire;
    if (domain.retire && decision.previous) {
      decision.retired_out =
          decision.previous->retired_out_at.has_value() ||
          (decision.previous->retiring_until && now >= *decision.previous->retiring_until &&
           decision.previous->mode == PolicyMode::None);
    }
    formats[domain.name] = domain.id_format;
    deployment.decisions[domain.name] = decision;
  }
  decide_ids(deployment, formats);

  for (const auto& domain : effective.domains) {
    ZoneWork& work = deployment.zones[domain.zone];
    work.zone = domain.zone;
    if (work.provider.empty()) {
      work.provider = domain.provider;
    } else if (!domain.provider.empty() && domain.provider != work.provider) {
      deployment.errors.push_back("zone " + domain.zone + " is served by provider '" + work.provider +
                                  "' but domain " + domain.name + " names provider '" + domain.provider +
                                  "': one zone has one provider");
    }
    work.domains.push_back(domain.name);
    auto decision = deployment.decisions.find(domain.name);
    bool retired_out = decision != deployment.decisions.end() && decision->second.retired_out;
    if (deployment.removed.count(domain.name) != 0 && !retired_out) {
      // Its other records (policy host, TLS-RPT) are not known any more: only
      // the id changes until the retirement is over, then all owned RRsets go.
      work.owned_keys.push_back({"_mta-sts." + domain.name + ".", RRType::TXT});
      continue;
    }
    for (const auto& key : owned_rrsets(domain.name)) {
      work.owned_keys.push_back(key);
    }
  }
  return deployment;
}

std::map<std::string, std::vector<ZoneQuery>> zone_queries(Deployment& deployment, const StateSnapshot& state,
                                                           const DeployRequest& request) {
  // The apex MX where the MX guards look (enforce now, or an enforce policy
  // senders may still cache), the NS where apply waits for propagation.
  std::set<std::string> mx_zones;
  std::set<std::string> nameserver_zones;
  for (const auto& [name, decision] : deployment.decisions) {
    const std::string& zone = deployment.config.find_domain(name)->zone;
    auto history = state.history.find(name);
    bool cached_enforce =
        history != state.history.end() && !cached_enforce_policies(history->second, deployment.now).empty();
    // (A live policy the state does not know is found by this read; the
    // engine then reads its zone's MX too.)
    if (decision.policy.policy.mode == PolicyMode::Enforce || cached_enforce) {
      mx_zones.insert(zone);
    }
    // Ids decided before the read; an adoption found by it waits on no NS.
    if (request.waits_for_propagation && decision.id.bumped && !decision.retired_out) {
      nameserver_zones.insert(zone);
    }
  }
  std::map<std::string, std::vector<ZoneQuery>> by_provider;
  for (auto& [zone, work] : deployment.zones) {
    if (work.provider.empty()) {
      work.read_error = "zone " + zone +
                        " has no provider: set defaults.provider or a provider on its domains (" +
                        work.domains.front() + ")";
      deployment.errors.push_back(*work.read_error);
      continue;
    }
    if (deployment.config.providers.count(work.provider) == 0) {
      work.read_error = "zone " + zone + " names provider '" + work.provider + "', which is not configured";
      deployment.errors.push_back(*work.read_error);
      continue;
    }
    by_provider[work.provider].push_back(
        {zone, work.owned_keys, mx_zones.count(zone) != 0, nameserver_zones.count(zone) != 0});
  }
  return by_provider;
}

std::vector<std::string> attach_live(Deployment& deployment, const StateSnapshot& /*state*/,
                                     std::vector<ZoneReadResult> reads) {
  for (auto& result : reads) {
    ZoneWork& work = deployment.zones[result.zone];
    if (result.error) {
      work.read_error = result.error->what();
      deployment.errors.push_back(result.error->what());
    } else {
      work.live = std::move(result.snapshot);
    }
  }
  std::map<std::string, IdFormat> formats;
  std::vector<std::string> fetch;
  for (auto& [name, decision] : deployment.decisions) {
    const DomainConfig* domain = deployment.config.find_domain(name);
    formats[name] = domain->id_format;
    const ZoneWork& work = deployment.zones.at(domain->zone);
    if (!work.live) {
      continue;
    }
    decision.live_id = live_sts_id(*work.live, name);
    if (decision.live_id.empty() || state_knows(decision, decision.live_id)) {
      if (decision.pending && decision.live_id == decision.pending->id &&
          decision.pending->hash != decision.policy.hash) {
        decision.pending_went_live = true;  // pushed by a run that did not record it
      }
      continue;
    }
    decision.adopting = !decision.previous && !decision.pending;
    fetch.push_back(name);
  }
  decide_ids(deployment, formats);
  for (const auto& [name, decision] : deployment.decisions) {
    if (!decision.adopting && !decision.live_id.empty() && !state_knows(decision, decision.live_id)) {
      deployment.warnings.push_back(
          {name,
           "the live id " + decision.live_id + " is not the one stsctl recorded (" +
               (decision.previous ? decision.previous->policy_id : decision.pending->id) +
               "): changed outside stsctl, or another state; its live policy counts as cached by senders"});
    }
  }
  return fetch;
}

namespace {

/// Desired records for every zone, given the decisions (held ids, retired
/// domains) and the config.
void compute_desired(Deployment& deployment) {
  const Config& config = deployment.config;
  std::map<std::string, std::string> ids;
  std::unordered_set<std::string> drop_owners;          // all names of domains whose retirement ended
  std::unordered_set<std::string> drop_sts_txt_owners;  // new domains whose policy is not live yet
  for (const auto& [name, decision] : deployment.decisions) {
    ids[name] = decision.id.id;
    if (decision.held) {
      if (decision.previous) {
        ids[name] = decision.previous->policy_id;
      } else if (decision.adopting) {
        ids[name] = decision.live_id;
      } else {
        drop_sts_txt_owners.insert("_mta-sts." + name + ".");
      }
    }
    if (decision.retired_out) {
      for (const auto& owner : owners_of(name)) {
        drop_owners.insert(owner);
      }
      for (const auto& domain : config.domains) {
        if (domain.alias_of == name) {
          for (const auto& owner : owners_of(domain.name)) {
            drop_owners.insert(owner);
          }
        }
      }
    }
  }
  auto by_zone = desired_records(config, ids);
  for (auto& [zone, work] : deployment.zones) {
    work.desired.clear();
    for (auto& rrset : by_zone[zone]) {
      if (drop_owners.count(rrset.owner) != 0) {
        continue;
      }
      if (rrset.type == RRType::TXT && drop_sts_txt_owners.count(rrset.owner) != 0) {
        continue;
      }
      work.desired.push_back(rrset);
    }
  }
}

void compute_plans(Deployment& deployment) {
  for (auto& [zone, work] : deployment.zones) {
    if (!work.live) {
      work.plan = ZonePlan{zone, work.provider, {}};
      continue;
    }
    work.plan = make_zone_plan(zone, work.provider, work.desired, *work.live, work.owned_keys);
    assert_only_owned(work.plan, work.owned_keys);
  }
}

void compute_policy_files(Deployment& deployment, const std::map<std::string, std::string>& current_files) {
  deployment.policy_files.clear();
  if (current_files.empty()) {
    return;
  }
  auto hosts = policy_hosts(deployment.config);
  for (const auto& [name, decision] : deployment.decisions) {
    if (decision.retired_out || decision.held) {
      continue;
    }
    for (const auto& host : hosts[name]) {
      auto current = current_files.find(host);
      if (current == current_files.end() || current->second != decision.policy.text) {
        deployment.policy_files.push_back(
            {name, host, current != current_files.end() && !current->second.empty()});
      }
    }
  }
}

/// The MX guard and the cached-policy warnings: enforce that breaks mail
/// after an MX change (RFC 8461 section 8.1). Returns what it holds.
std::vector<Blocked> check_mx_guards(Deployment& deployment, const StateSnapshot& state, bool force,
                                     const std::map<std::string, LivePolicy>& live_policies) {
  std::vector<Blocked> blocked;
  const Config& config = deployment.config;
  for (auto& [name, decision] : deployment.decisions) {
    const DomainConfig* domain = config.find_domain(name);
    const ZoneWork& work = deployment.zones[domain->zone];
    if (!work.live || decision.retired_out) {
      continue;
    }
    std::vector<std::string> hosts = live_mx_hosts(*work.live, name);
    if (hosts.empty()) {
      if (decision.policy.policy.mode == PolicyMode::Enforce) {
        deployment.warnings.push_back({name, "no MX records found at " + name + " in zone " + domain->zone +
                                                 ": cannot check that the policy covers the mail servers"});
      }
      continue;
    }
    if (decision.policy.policy.mode == PolicyMode::Enforce && decision.id.bumped && !decision.held) {
      auto uncovered = uncovered_mx_hosts(decision.policy.policy.mx, hosts);
      if (!uncovered.empty()) {
        std::string list;
        for (const auto& host : uncovered) {
          list += (list.empty() ? "" : ", ") + host;
        }
        std::string message = "MX host(s) " + list +
                              " match no mx pattern of the new enforce policy; senders would refuse to "
                              "deliver to them. Add them to domains." +
                              name + ".mx";
        if (force) {
          deployment.warnings.push_back({name, message + " (--force given: pushing anyway)"});
        } else {
          blocked.push_back({name, "mx-coverage", describe_bump(decision), message + ", or pass --force"});
        }
      }
    }
    auto versions = cached_versions(state, decision, live_policies, deployment.now);
    for (const auto& risk : mx_cache_risks(cached_enforce_policies(versions, deployment.now), hosts)) {
      deployment.warnings.push_back(
          {name, "MX host " + risk.mx_host + " is not covered by enforce policy id " + risk.policy_id +
                     ", which senders may cache until " + format_rfc3339(risk.until) +
                     "; mail to it may fail for them until then"});
    }
  }
  return blocked;
}

/// An adopted domain keeps its live id when the live file already is the
/// canonical policy: senders hold exactly these bytes under that id, so a new
/// id would only make them fetch the same policy again (RFC 8461 section 3.3).
/// Any other byte difference is a new policy file and takes a new id.
void settle_adoptions(Deployment& deployment, const std::map<std::string, LivePolicy>& live_policies) {
  for (auto& [name, decision] : deployment.decisions) {
    if (!decision.adopting) {
      continue;
    }
    auto live = live_policies.find(name);
    const bool fetched = live != live_policies.end() && live->second.policy;
    if (fetched && !decision.retiring && live->second.body == decision.policy.text) {
      decision.id = {decision.live_id, false};
      decision.keeps_live_id = true;
      deployment.notices.push_back(name + ": adopting live id " + decision.live_id +
                                   " as it is: the live policy file is the canonical policy");
      continue;
    }
    std::string why = fetched ? "the live policy file differs from the canonical policy"
                      : live == live_policies.end()
                          ? "the live policy file was not fetched"
                          : "the live policy could not be read: " + live->second.error;
    if (decision.retiring) {
      why = "retiring publishes mode none";
    }
    deployment.notices.push_back(name + ": adopting live id " + decision.live_id + " → " + decision.id.id +
                                 " (" + why + ")");
  }
}

/// Retirement (RFC 8461 section 8.3): publish mode none with a new id, and
/// delete the records only once every policy a sender may hold, including a
/// live one the state never saw, has expired.
void settle_retirements(Deployment& deployment, const StateSnapshot& state,
                        const std::map<std::string, LivePolicy>& live_policies) {
  const int64_t now = deployment.now;
  for (auto& [name, decision] : deployment.decisions) {
    if (!decision.retiring) {
      continue;
    }
    const bool unknown_live = !decision.live_id.empty() && !state_knows(decision, decision.live_id);
    if (decision.retired_out && unknown_live && !(decision.previous && decision.previous->retired_out_at)) {
      // The live id is not the mode none id stsctl published: the records
      // cannot go yet, and the wait starts again from now.
      decision.retired_out = false;
      decision.restart_retirement = true;
      deployment.blocked.push_back(
          {name, "retirement", "delete the records of " + name,
           "the live id " + decision.live_id + " is not the mode none id " + decision.previous->policy_id +
               " stsctl published; publishing mode none again and waiting for its policy to expire"});
    }
    if (decision.retired_out) {
      continue;
    }
    auto versions = cached_versions(state, decision, live_policies, now);
    auto live = live_policies.find(name);
    if (unknown_live && (live == live_policies.end() || !live->second.policy)) {
      // A live id without a readable policy: assume the longest max_age a
      // sender may cache (RFC 8461 section 3.2).
      versions.push_back({decision.live_id, make_policy(PolicyMode::Enforce, 31557600, {}), now});
      deployment.warnings.push_back(
          {name, "the live policy of " + name + " could not be read (" +
                     (live == live_policies.end() ? std::string("not fetched") : live->second.error) +
                     "); waiting the longest max_age (31557600 s) before its records are deleted"});
    }
    if (decision.id.bumped) {
      versions.push_back({decision.id.id, decision.policy.policy, now});  // the mode none policy itself
    }
    if (decision.id.bumped || decision.restart_retirement || !decision.previous ||
        !decision.previous->retiring_until) {
      decision.retiring_until = retirement_ends_at(versions, now);
    } else {
      decision.retiring_until = decision.previous->retiring_until;
    }
    deployment.warnings.push_back({name,
                                   "retiring: publishes mode none; its records are deleted on the first "
                                   "apply or promote after " +
                                       format_rfc3339(*decision.retiring_until)});
  }
}

}  // namespace

void settle_deployment(Deployment& deployment, const StateSnapshot& state, const DeployRequest& request,
                       const std::map<std::string, LivePolicy>& live_policies,
                       const std::map<std::string, std::string>& current_files) {
  settle_adoptions(deployment, live_policies);
  settle_retirements(deployment, state, live_policies);
  compute_desired(deployment);
  compute_plans(deployment);
  auto guarded = check_mx_guards(deployment, state, request.force, live_policies);
  hold_domains(deployment, guarded);
  compute_policy_files(deployment, current_files);
}

void hold_domains(Deployment& deployment, const std::vector<Blocked>& reasons) {
  if (reasons.empty()) {
    return;
  }
  for (const auto& reason : reasons) {
    deployment.blocked.push_back(reason);
    auto decision = deployment.decisions.find(reason.domain);
    if (decision != deployment.decisions.end()) {
      decision->second.held = true;
    }
  }
  compute_desired(deployment);
  compute_plans(deployment);
  deployment.policy_files.erase(std::remove_if(deployment.policy_files.begin(), deployment.policy_files.end(),
                                               [&](const PolicyFileChange& change) {
                                                 return deployment.decisions.at(change.domain).held;
                                               }),
                                deployment.policy_files.end());
}

}  // namespace stsctl
