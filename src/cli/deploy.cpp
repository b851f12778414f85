#include "cli/deploy.h"

#include "dns/name.h"
#include "net/https_fetch.h"
#include "policy/policy.h"
#include "provider.h"
#include "publish/propagation.h"
#include "publish/webroot.h"
#include "util/time.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <sstream>

namespace stsctl {

namespace {

std::vector<std::string> owners_of(const std::string& domain) {
  std::vector<std::string> owners;
  for (const auto& key : owned_rrsets(domain)) {
    owners.push_back(key.owner);
  }
  return owners;
}

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::vector<PublishedVersion> versions_of(const StateStore& state, const std::string& domain) {
  std::vector<PublishedVersion> versions;
  for (const auto& entry : state.history(domain)) {
    versions.push_back({entry.id, make_policy(entry.mode, entry.max_age, {}), entry.published_at});
    // The history keeps the policy text; recover the mx lines from it.
    std::istringstream lines(entry.policy_text);
    std::string line;
    std::vector<std::string> mx;
    while (std::getline(lines, line)) {
      if (!line.empty() && line.back() == '\r') {
        line.pop_back();
      }
      if (line.rfind("mx: ", 0) == 0) {
        mx.push_back(line.substr(4));
      }
    }
    versions.back().policy = make_policy(entry.mode, entry.max_age, mx);
  }
  return versions;
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

/// Desired records for every zone, given decisions and ids held back.
void compute_desired(const Config& config, Deployment& deployment) {
  std::map<std::string, std::string> ids;
  std::vector<std::string> drop_owners;          // all names of domains whose retirement ended
  std::vector<std::string> drop_sts_txt_owners;  // new domains whose policy is not live yet
  for (auto& [name, decision] : deployment.decisions) {
    ids[name] = decision.id.id;
    decision.held = deployment.hold.count(name) != 0;
    if (decision.held) {
      if (decision.previous) {
        decision.id = {decision.previous->policy_id, false};
        ids[name] = decision.id.id;
      } else {
        decision.id.bumped = false;
        drop_sts_txt_owners.push_back("_mta-sts." + name + ".");
      }
    }
    if (decision.retired_out) {
      for (const auto& owner : owners_of(name)) {
        drop_owners.push_back(owner);
      }
      for (const auto& domain : config.domains) {
        if (domain.alias_of == name) {
          for (const auto& owner : owners_of(domain.name)) {
            drop_owners.push_back(owner);
          }
        }
      }
    }
  }
  auto by_zone = desired_records(config, ids);
  for (auto& [zone, work] : deployment.zones) {
    work.desired.clear();
    for (auto& rrset : by_zone[zone]) {
      if (contains(drop_owners, rrset.owner)) {
        continue;
      }
      if (rrset.type == RRType::TXT && contains(drop_sts_txt_owners, rrset.owner)) {
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

/// Whether check_mx_guards looks at the domain's live MX: its policy is
/// enforce, or senders may still cache an enforce policy of it.
bool mx_guards_apply(const DomainDecision& decision, const StateStore& state, int64_t now) {
  return decision.policy.policy.mode == PolicyMode::Enforce ||
         !cached_enforce_policies(versions_of(state, decision.domain), now).empty();
}

/// What the live reads must include beyond the owned RRsets: the MX of zones
/// the MX guards look at, and the NS of zones whose new ids run_apply waits
/// to see on every name server. A provider may skip the rest.
struct ApexNeeds {
  std::set<std::string> mx_zones;
  std::set<std::string> nameserver_zones;
};

ApexNeeds apex_needs(const Config& config, const StateStore& state, const Deployment& deployment,
                     bool waits_for_propagation, int64_t now) {
  ApexNeeds needs;
  for (const auto& [name, decision] : deployment.decisions) {
    const std::string& zone = config.find_domain(name)->zone;
    if (mx_guards_apply(decision, state, now)) {
      needs.mx_zones.insert(zone);
    }
    // Ids only bump before the read; guards may hold some back afterwards.
    if (waits_for_propagation && decision.id.bumped && !decision.retired_out) {
      needs.nameserver_zones.insert(zone);
    }
  }
  return needs;
}

void read_live(const Config& config, Deployment& deployment, const ApexNeeds& needs) {
  std::map<std::string, std::vector<ZoneQuery>> by_provider;
  for (auto& [zone, work] : deployment.zones) {
    if (work.provider.empty()) {
      work.read_error = "zone " + zone +
                        " has no provider: set defaults.provider or a provider on its domains (" +
                        work.domains.front() + ")";
      deployment.errors.push_back(*work.read_error);
      continue;
    }
    by_provider[work.provider].push_back(
        {zone, work.owned_keys, needs.mx_zones.count(zone) != 0, needs.nameserver_zones.count(zone) != 0});
  }
  for (auto& [provider_name, queries] : by_provider) {
    std::vector<ZoneReadResult> results;
    try {
      auto provider = make_provider(config.providers.at(provider_name));
      results = provider->read_zones(queries);
    } catch (const ProviderError& error) {
      for (const auto& query : queries) {
        deployment.zones[query.zone].read_error = error.what();
      }
      deployment.errors.push_back(error.what());
      continue;
    }
    for (auto& result : results) {
      ZoneWork& work = deployment.zones[result.zone];
      if (result.error) {
        work.read_error = result.error->what();
        deployment.errors.push_back(result.error->what());
      } else {
        work.live = std::move(result.snapshot);
      }
    }
  }
}

/// The MX guard and the cached-policy warnings (PRODUCT: enforce that breaks
/// mail after an MX change). Returns the domains to hold.
std::set<std::string> check_mx_guards(const Config& config, const StateStore& state, Deployment& deployment,
                                      bool force, int64_t now) {
  std::set<std::string> hold;
  for (auto& [name, decision] : deployment.decisions) {
    const DomainConfig* domain = config.find_domain(name);
    const ZoneWork& work = deployment.zones[domain->zone];
    if (!work.live) {
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
    if (decision.policy.policy.mode == PolicyMode::Enforce && decision.id.bumped) {
      auto uncovered = uncovered_mx_hosts(decision.policy.policy.mx, hosts);
      if (!uncovered.empty()) {
        std::string list;
        for (const auto& host : uncovered) {
          list += (list.empty() ? "" : ", ") + host;
        }
        std::string message = "MX host(s) " + list +
                              " match no mx pattern of the new enforce policy; senders would " +
                              "refuse to deliver to them. Add them to domains." + name + ".mx";
        if (force) {
          deployment.warnings.push_back({name, message + " (--force given: pushing anyway)"});
        } else {
          deployment.blocked.push_back({name, "mx-coverage", message + ", or pass --force"});
          hold.insert(name);
        }
      }
    }
    for (const auto& risk : mx_cache_risks(cached_enforce_policies(versions_of(state, name), now), hosts)) {
      deployment.warnings.push_back(
          {name, "MX host " + risk.mx_host + " is not covered by enforce policy id " + risk.policy_id +
                     ", which senders may cache until " + format_rfc3339(risk.until) +
                     "; mail to it may fail for them until then"});
    }
  }
  return hold;
}

std::string join_values(const std::optional<RRset>& rrset) {
  if (!rrset) {
    return "";
  }
  std::string out;
  for (const auto& value : rrset->values) {
    out += (out.empty() ? "" : ", ") + value;
  }
  return out;
}

}  // namespace

namespace {

/// The id format an existing id was made in (by its shape).
IdFormat format_of(const std::string& id) {
  if (id.size() == 10) {
    return IdFormat::Serial;
  }
  return id.size() == 32 ? IdFormat::Hash : IdFormat::Timestamp;
}

}  // namespace

Config with_removed_domains(const Config& config, const StateStore& state,
                            const std::map<std::string, DomainState>& known, Deployment& deployment) {
  Config effective = config;
  for (const auto& [name, row] : known) {
    if (config.find_domain(name) != nullptr) {
      continue;
    }
    if (row.zone.empty() || config.providers.count(row.provider) == 0) {
      deployment.warnings.push_back(
          {name, name +
                     " is in the state database but not in the config, and where its records live is not "
                     "known (provider '" +
                     row.provider +
                     "'); they are left alone. Put it back with "
                     "`retire: true` to remove MTA-STS safely (RFC 8461 section 8.3)"});
      continue;
    }
    // Removed from the config: retire it as if it said `retire: true`.
    DomainConfig domain;
    domain.name = name;
    domain.zone = row.zone;
    domain.provider = row.provider;
    domain.mode = PolicyMode::None;
    domain.mode_pinned = true;
    domain.retire = true;
    domain.id_format = format_of(row.policy_id);
    auto history = versions_of(state, name);
    if (!history.empty()) {
      domain.mx = history.back().policy.mx;
    }
    effective.domains.push_back(domain);
    deployment.removed.insert(name);
    deployment.warnings.push_back({name, name + " was removed from the config: retiring it (mode none)"});
  }
  std::sort(effective.domains.begin(), effective.domains.end(),
            [](const DomainConfig& a, const DomainConfig& b) { return a.name < b.name; });
  return effective;
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
    if (decision.id.bumped && !decision.retired_out) {
      out.push_back(&decision);
    }
  }
  return out;
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

namespace {

/// build_deployment; `waits_for_propagation`: run_apply will wait for the
/// new ids on the zones' name servers, so their NS must be read.
Deployment build_deployment_for(Context& context, StateStore& state, const DeployInput& input, bool force,
                                bool waits_for_propagation) {
  int64_t now = context.now();
  Deployment deployment;
  const auto known = state.all_domains();
  deployment.config = with_removed_domains(context.config(), state, known, deployment);
  const Config& config = deployment.config;

  std::vector<DomainPolicy> policies;
  std::map<std::string, IdFormat> formats;
  for (const auto& domain : config.domains) {
    if (domain.is_alias()) {
      continue;
    }
    DomainDecision decision;
    decision.domain = domain.name;
    auto found = known.find(domain.name);
    if (found != known.end()) {
      decision.previous = found->second;
    }
    auto override_it = input.stage_overrides.find(domain.name);
    decision.stage = override_it != input.stage_overrides.end() ? override_it->second
                     : decision.previous                        ? decision.previous->stage
                                                                : 0;
    decision.policy = make_domain_policy(domain.name, effective_policy(config, domain, decision.stage));
    decision.retired_out = domain.retire && decision.previous && decision.previous->retiring_until &&
                           now >= *decision.previous->retiring_until;
    policies.push_back(decision.policy);
    formats[domain.name] = domain.id_format;
    deployment.decisions[domain.name] = decision;
  }
  for (auto& [name, decision] : state.preview_ids(policies, formats, now)) {
    deployment.decisions[name].id = decision;
  }

  for (const auto& domain : config.domains) {
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
    const DomainDecision* decision =
        deployment.decisions.count(domain.name) != 0 ? &deployment.decisions.at(domain.name) : nullptr;
    if (deployment.removed.count(domain.name) != 0 && !(decision != nullptr && decision->retired_out)) {
      // Its other records (policy host, TLS-RPT) are not known any more: only
      // the id changes until the retirement is over, then all owned RRsets go.
      work.owned_keys.push_back({"_mta-sts." + domain.name + ".", RRType::TXT});
      continue;
    }
    for (const auto& key : owned_rrsets(domain.name)) {
      work.owned_keys.push_back(key);
    }
  }

  for (const auto& [name, decision] : deployment.decisions) {
    const DomainConfig* domain = config.find_domain(name);
    if (!domain->retire || decision.retired_out) {
      continue;
    }
    // RFC 8461 section 8.3: the records go only once every policy a sender
    // may hold has expired.
    int64_t until = decision.previous && decision.previous->retiring_until && !decision.id.bumped
                        ? *decision.previous->retiring_until
                        : retirement_ends_at(versions_of(state, name), now);
    deployment.warnings.push_back({name,
                                   "retiring: publishes mode none; its records are deleted on the first "
                                   "apply after " +
                                       format_rfc3339(until)});
  }

  deployment.hold = input.hold_ids;
  compute_desired(config, deployment);
  read_live(config, deployment, apex_needs(config, state, deployment, waits_for_propagation, now));
  compute_plans(deployment);
  std::set<std::string> guarded = check_mx_guards(config, state, deployment, force, now);
  if (!guarded.empty()) {
    deployment.hold.insert(guarded.begin(), guarded.end());
    compute_desired(config, deployment);
    compute_plans(deployment);
  }
  return deployment;
}

}  // namespace

Deployment build_deployment(Context& context, StateStore& state, const DeployInput& input, bool force) {
  return build_deployment_for(context, state, input, force, false);
}

// ---- output ---------------------------------------------------------------

namespace {

struct Counts {
  size_t create = 0, update = 0, remove = 0;
};

Counts count_changes(const Deployment& deployment) {
  Counts counts;
  for (const auto& [zone, work] : deployment.zones) {
    for (const auto& change : work.plan.changes) {
      switch (change.kind) {
        case ChangeKind::Create:
          ++counts.create;
          break;
        case ChangeKind::Update:
          ++counts.update;
          break;
        case ChangeKind::Delete:
          ++counts.remove;
          break;
      }
    }
  }
  return counts;
}

std::string bump_line(const DomainDecision& decision) {
  std::string from = decision.previous ? decision.previous->policy_id : "(none)";
  std::string line = decision.domain + ": id " + from + " -> " + decision.id.id + " (mode " +
                     to_string(decision.policy.policy.mode) + ", max_age " +
                     std::to_string(decision.policy.policy.max_age);
  if (decision.previous && decision.previous->mode != decision.policy.policy.mode) {
    line += std::string(", was ") + to_string(decision.previous->mode);
  }
  return line + ")";
}

std::string summary_line(const Deployment& deployment) {
  Counts counts = count_changes(deployment);
  size_t zones = 0;
  for (const auto& [zone, work] : deployment.zones) {
    zones += work.plan.empty() ? 0 : 1;
  }
  return "Plan: " + std::to_string(counts.create) + " to create, " + std::to_string(counts.update) +
         " to update, " + std::to_string(counts.remove) + " to delete in " + std::to_string(zones) +
         (zones == 1 ? " zone; " : " zones; ") + std::to_string(deployment.bumps().size()) +
         " policy id bump" + (deployment.bumps().size() == 1 ? "" : "s") + ".";
}

}  // namespace

std::string format_plan_text(const Deployment& deployment, int64_t) {
  std::ostringstream out;
  for (const auto& [zone, work] : deployment.zones) {
    if (work.plan.empty()) {
      continue;
    }
    out << "zone " << zone << " (provider " << work.provider << ")\n";
    for (const auto& change : work.plan.changes) {
      out << describe_change(change);
      if (out.str().back() != '\n') {
        out << "\n";
      }
    }
    out << "\n";
  }
  auto bumps = deployment.bumps();
  if (!bumps.empty()) {
    out << "policy ids:\n";
    for (const auto* decision : bumps) {
      out << "  " << bump_line(*decision) << "\n";
    }
    out << "\n";
  }
  for (const auto& warning : deployment.warnings) {
    out << "warning: " << warning.domain << ": " << warning.message << "\n";
  }
  for (const auto& blocked : deployment.blocked) {
    out << "blocked (" << blocked.guard << "): " << blocked.domain << ": " << blocked.message << "\n";
  }
  for (const auto& error : group_zone_errors(deployment.errors)) {
    out << "error: " << error << "\n";
  }
  if (deployment.change_count() == 0 && deployment.errors.empty()) {
    out << "No changes. DNS matches the configuration.\n";
  } else {
    out << summary_line(deployment) << "\n";
  }
  return out.str();
}

std::string format_plan_json(const Deployment& deployment, int64_t now) {
  nlohmann::json zones = nlohmann::json::array();
  for (const auto& [zone, work] : deployment.zones) {
    nlohmann::json changes = nlohmann::json::array();
    for (const auto& change : work.plan.changes) {
      nlohmann::json item{{"action", to_string(change.kind)},
                          {"name", change.key.owner},
                          {"type", to_string(change.key.type)}};
      if (change.before) {
        item["before"] = {{"ttl", change.before->ttl}, {"values", change.before->values}};
      }
      if (change.after) {
        item["after"] = {{"ttl", change.after->ttl}, {"values", change.after->values}};
      }
      changes.push_back(item);
    }
    nlohmann::json entry{{"zone", zone}, {"provider", work.provider}, {"changes", changes}};
    if (work.read_error) {
      entry["error"] = *work.read_error;
    }
    zones.push_back(entry);
  }
  nlohmann::json bumps = nlohmann::json::array();
  for (const auto* decision : deployment.bumps()) {
    bumps.push_back(
        {{"domain", decision->domain},
         {"from", decision->previous ? nlohmann::json(decision->previous->policy_id) : nlohmann::json()},
         {"to", decision->id.id},
         {"mode", to_string(decision->policy.policy.mode)},
         {"max_age", decision->policy.policy.max_age},
         {"hash", decision->policy.hash}});
  }
  nlohmann::json warnings = nlohmann::json::array();
  for (const auto& warning : deployment.warnings) {
    warnings.push_back({{"domain", warning.domain}, {"message", warning.message}});
  }
  nlohmann::json blocked = nlohmann::json::array();
  for (const auto& item : deployment.blocked) {
    blocked.push_back({{"domain", item.domain}, {"guard", item.guard}, {"message", item.message}});
  }
  Counts counts = count_changes(deployment);
  nlohmann::json out{
      {"now", format_rfc3339(now)},
      {"zones", zones},
      {"id_bumps", bumps},
      {"warnings", warnings},
      {"blocked", blocked},
      {"errors", deployment.errors},
      {"summary", {{"create", counts.create}, {"update", counts.update}, {"delete", counts.remove}}},
      {"changes", deployment.change_count() != 0}};
  return out.dump(2) + "\n";
}

std::string format_plan_markdown(const Deployment& deployment, int64_t) {
  std::ostringstream out;
  out << "### stsctl plan\n\n";
  if (deployment.change_count() == 0 && deployment.errors.empty()) {
    out << "No changes. DNS matches the configuration.\n";
    return out.str();
  }
  out << "| zone | action | name | type | before | after |\n|---|---|---|---|---|---|\n";
  for (const auto& [zone, work] : deployment.zones) {
    for (const auto& change : work.plan.changes) {
      out << "| " << zone << " | " << to_string(change.kind) << " | `" << change.key.owner << "` | "
          << to_string(change.key.type) << " | " << join_values(change.before) << " | "
          << join_values(change.after) << " |\n";
    }
  }
  auto bumps = deployment.bumps();
  if (!bumps.empty()) {
    out << "\n**Policy ids**\n\n";
    for (const auto* decision : bumps) {
      out << "- " << bump_line(*decision) << "\n";
    }
  }
  if (!deployment.warnings.empty() || !deployment.blocked.empty() || !deployment.errors.empty()) {
    out << "\n**Attention**\n\n";
    for (const auto& warning : deployment.warnings) {
      out << "- warning: " << warning.domain << ": " << warning.message << "\n";
    }
    for (const auto& blocked : deployment.blocked) {
      out << "- blocked (" << blocked.guard << "): " << blocked.domain << ": " << blocked.message << "\n";
    }
    for (const auto& error : group_zone_errors(deployment.errors)) {
      out << "- error: " << error << "\n";
    }
  }
  out << "\n" << summary_line(deployment) << "\n";
  return out.str();
}

int run_plan(Context& context, const std::string& format, bool detailed_exitcode) {
  const Config& config = context.config();
  auto state = StateStore::open_for_reading(config.state_path);  // plan never writes state
  Deployment deployment = build_deployment(context, *state, {}, false);
  int64_t now = context.now();
  if (context.json() || format == "json") {
    std::cout << format_plan_json(deployment, now);
  } else if (format == "markdown") {
    std::cout << format_plan_markdown(deployment, now);
  } else {
    std::cout << format_plan_text(deployment, now);
  }
  if (!deployment.errors.empty()) {
    return k_exit_error;
  }
  if (detailed_exitcode && deployment.change_count() != 0) {
    return k_exit_changes;
  }
  return k_exit_ok;
}

// ---- apply ----------------------------------------------------------------

namespace {

/// Writes the policy file of every decision that is not held (primary and
/// alias hosts share the bytes). Publishing before any DNS change is the
/// point: RFC 8461 section 8.3.
void publish_policies(const Config& config, const Deployment& deployment, std::ostream& log) {
  if (config.publish.webroot.empty()) {
    return;
  }
  auto hosts_by_domain = policy_hosts(config);
  for (const auto& [name, decision] : deployment.decisions) {
    if (decision.retired_out || decision.held) {
      continue;
    }
    for (const auto& host : hosts_by_domain[name]) {
      if (write_policy_file(config.publish.webroot, host, decision.policy.text)) {
        log << "published " << policy_path(config.publish.webroot, host) << "\n";
      }
    }
  }
}

/// Fetches every bumped policy over HTTPS; returns the domains whose live file
/// does not have the new hash, with the reason.
std::map<std::string, std::string> verify_live(const Config& config, const Deployment& deployment) {
  std::map<std::string, std::string> failed;
  std::vector<std::string> hosts;
  std::vector<std::string> owners;
  auto hosts_by_domain = policy_hosts(config);
  for (const auto* decision : deployment.bumps()) {
    for (const auto& host : hosts_by_domain[decision->domain]) {
      hosts.push_back(host);
      owners.push_back(decision->domain);
    }
  }
  if (hosts.empty()) {
    return failed;
  }
  FetchOptions options;
  options.ca_file = config.publish.ca_file;
  options.connect_to = config.publish.connect_to;
  options.timeout_seconds = config.publish.timeout_seconds;
  auto results = fetch_policies(hosts, options);
  for (size_t i = 0; i < results.size(); ++i) {
    const FetchResult& result = results[i];
    const DomainDecision& decision = deployment.decisions.at(owners[i]);
    std::string reason;
    if (!result.transport_ok) {
      reason = "fetching " + result.url + " failed (" + result.error + ")";
    } else if (result.status != 200) {
      reason = result.url + " answered HTTP " + std::to_string(result.status);
    } else if (sha256_hex(result.body) != decision.policy.hash) {
      reason = result.url + " does not serve the new policy yet (hash " +
               sha256_hex(result.body).substr(0, 12) + ", want " + decision.policy.hash.substr(0, 12) + ")";
    }
    if (!reason.empty() && failed.count(owners[i]) == 0) {
      failed[owners[i]] =
          reason + "; the id stays at the old value until the web server serves " +
          policy_path(config.publish.webroot.empty() ? "<webroot>" : config.publish.webroot, hosts[i]);
    }
  }
  return failed;
}

}  // namespace

int run_apply(Context& context, const ApplyOptions& options) {
  int64_t now = context.now();
  if (!options.yes && !interactive_terminal()) {
    throw CliError("apply: refusing to change DNS without --yes when stdin is not a terminal");
  }
  StateLock lock(context.config().state_path);
  StateStore state(context.config().state_path);
  Deployment deployment = build_deployment_for(context, state, options.input, options.force,
                                               context.config().publish.propagation_timeout_seconds > 0);
  const Config& config = deployment.config;  // includes domains removed from the file, retiring
  if (!deployment.errors.empty()) {
    std::cout << format_plan_text(deployment, now);
    std::cerr << "apply: nothing was changed because of the errors above\n";
    return k_exit_error;
  }
  if (deployment.change_count() == 0 && deployment.bumps().empty()) {
    if (context.json()) {
      std::cout << format_plan_json(deployment, now);
    } else {
      std::cout << format_plan_text(deployment, now);
    }
    publish_policies(config, deployment, std::cerr);
    if (options.blocked_out != nullptr) {
      *options.blocked_out = deployment.blocked;
    }
    return deployment.blocked.empty() ? k_exit_ok : k_exit_guard;
  }
  if (!context.json()) {
    std::cout << format_plan_text(deployment, now);
  }
  if (!options.yes && !confirm("Apply these changes?")) {
    std::cerr << "apply: cancelled; nothing was changed\n";
    return k_exit_error;
  }

  // 1. Publish policy files, then 2. verify them live, before any id is pushed.
  publish_policies(config, deployment, std::cerr);
  if (config.publish.verify) {
    auto failed = verify_live(config, deployment);
    if (!failed.empty()) {
      for (const auto& [domain, reason] : failed) {
        deployment.hold.insert(domain);
        deployment.blocked.push_back({domain, "policy-not-live", reason});
      }
      compute_desired(config, deployment);
      compute_plans(deployment);
    }
  }

  // 3. Push per zone, atomically per zone.
  std::map<std::string, std::vector<ZonePlan>> by_provider;
  for (const auto& [zone, work] : deployment.zones) {
    if (!work.plan.empty()) {
      by_provider[work.provider].push_back(work.plan);
    }
  }
  std::set<std::string> failed_zones;
  std::vector<std::string> errors;
  for (const auto& [provider_name, plans] : by_provider) {
    std::vector<ZoneApplyResult> results;
    try {
      results = make_provider(config.providers.at(provider_name))->apply_zones(plans);
    } catch (const ProviderError& error) {
      for (const auto& plan : plans) {
        failed_zones.insert(plan.zone);
      }
      errors.push_back(error.what());
      continue;
    }
    for (const auto& result : results) {
      if (result.error) {
        failed_zones.insert(result.zone);
        errors.push_back(result.error->what());
      } else {
        std::cerr << "updated zone " << result.zone << "\n";
      }
    }
  }

  // 4. Record state for domains whose zone push succeeded.
  std::vector<PublishedPolicyRecord> records;
  for (const auto& [name, decision] : deployment.decisions) {
    const DomainConfig* domain = config.find_domain(name);
    if (failed_zones.count(domain->zone) != 0 || !decision.id.bumped || decision.retired_out) {
      continue;
    }
    records.push_back(
        {name, decision.id.id, decision.policy.hash, decision.policy.policy, decision.policy.text});
  }
  state.record_published(records, now);
  // One transaction for the per-domain updates: each setter alone would
  // flush the disk once (1,000 flushes for 1,000 new domains).
  StateStore::Batch updates(state);
  for (const auto& [name, decision] : deployment.decisions) {
    const DomainConfig* domain = config.find_domain(name);
    if (failed_zones.count(domain->zone) != 0) {
      continue;
    }
    bool moved = !decision.previous || decision.previous->zone != domain->zone ||
                 decision.previous->provider != domain->provider;
    if (moved && (decision.id.bumped || decision.previous)) {
      state.set_location(name, domain->zone, domain->provider);
    }
    auto override_it = options.input.stage_overrides.find(name);
    if (override_it != options.input.stage_overrides.end() && !decision.held) {
      state.set_stage(name, override_it->second, now);
    }
    if (domain->retire && decision.id.bumped && !decision.retired_out) {
      state.set_retiring_until(name, retirement_ends_at(versions_of(state, name), now));
    } else if (!domain->retire && decision.previous && decision.previous->retiring_until) {
      state.set_retiring_until(name, std::nullopt);  // retirement called off
    }
    // A retired-out domain keeps its row (retiring_until in the past), so later
    // runs know its records are gone on purpose and do not publish it again.
  }
  updates.commit();

  // 5. Confirm that every authoritative name server serves the new ids.
  if (config.publish.propagation_timeout_seconds > 0) {
    std::vector<PropagationTarget> targets;
    for (const auto& record : records) {
      const ZoneWork& work = deployment.zones.at(config.find_domain(record.domain)->zone);
      if (work.live && !work.live->nameservers.empty()) {
        targets.push_back(
            {"_mta-sts." + record.domain + ".", "v=STSv1; id=" + record.id, work.live->nameservers});
      }
    }
    if (!targets.empty()) {
      PropagationOptions propagation;
      propagation.timeout_seconds = config.publish.propagation_timeout_seconds;
      propagation.addresses = config.publish.nameserver_addresses;
      bool terminal = interactive_terminal();
      auto lags = wait_for_propagation(targets, propagation, [&](size_t done, size_t total) {
        if (terminal) {
          std::cerr << "\rwaiting for name servers: " << done << "/" << total << std::flush;
        }
      });
      if (terminal) {
        std::cerr << "\n";
      }
      for (const auto& lag : lags) {
        std::cerr << "warning: name server " << lag.nameserver << " does not serve the new id at "
                  << lag.owner << " yet" << (lag.seen.empty() ? "" : " (serves " + lag.seen + ")") << "\n";
      }
      if (lags.empty()) {
        std::cerr << "all name servers serve the new ids\n";
      }
    }
  }

  if (options.blocked_out != nullptr) {
    *options.blocked_out = deployment.blocked;
  }
  for (const auto& error : group_zone_errors(errors)) {
    std::cerr << "error: " << error << "\n";
  }
  for (const auto& blocked : deployment.blocked) {
    std::cerr << "blocked (" << blocked.guard << "): " << blocked.domain << ": " << blocked.message << "\n";
  }
  if (context.json()) {
    std::cout << format_plan_json(deployment, now);
  }
  if (!errors.empty()) {
    std::cerr << "apply: " << failed_zones.size()
              << " zone(s) failed; their state was not recorded. Fix the cause "
              << "and run apply again: it converges.\n";
    return k_exit_error;
  }
  std::cerr << "apply: done (" << deployment.change_count() << " change(s), " << records.size()
            << " policy id(s) recorded)\n";
  return deployment.blocked.empty() ? k_exit_ok : k_exit_guard;
}

}  // namespace stsctl
