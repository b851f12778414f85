#include "check/dns_lookup.h"
#include "check/smtp_starttls.h"
#include "cli/commands.h"
#include "cli/deploy.h"
#include "cli/report_commands.h"
#include "net/https_fetch.h"
#include "policy/policy.h"
#include "rollout/rollout.h"
#include "state/state.h"
#include "util/time.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

namespace stsctl {

namespace {

struct PromotionCandidate {
  std::string domain;
  int from_stage = 0;
  int to_stage = 0;
};

std::string stage_label(const Config& config, const DomainConfig& domain, int stage) {
  if (!follows_rollout(config, domain)) {
    return domain.retire ? "retiring" : "pinned";
  }
  return std::to_string(stage + 1) + "/" + std::to_string(config.stages.size());
}

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
  if (!result.transport_ok) {
    return "policy not live: " + result.url + " failed (" + result.error + ")";
  }
  if (result.status != 200) {
    return "policy not live: " + result.url + " answered HTTP " + std::to_string(result.status);
  }
  if (sha256_hex(result.body) != known.policy_hash) {
    return "policy not live: " + result.url + " does not serve the recorded policy (id " + known.policy_id +
           "); run apply first";
  }
  return "";
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
/// with a certificate valid for its name. MX and host addresses come from
/// `dns` (the configured resolver or the system one).
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

int run_promote(Context& context, const PromoteOptions& options) {
  const Config& config = context.config();
  int64_t now = context.now();
  if (!options.domain.empty() && config.find_domain(options.domain) == nullptr) {
    throw CliError("promote: " + options.domain + " is not a configured domain");
  }
  std::vector<PromotionCandidate> candidates;
  std::map<std::string, std::string> gate_failures;
  std::unique_ptr<DnsLookup> dns;  // made when a domain first reaches the STARTTLS gate
  {
    // A dry run must not create the database either.
    auto store = options.dry_run ? StateStore::open_for_reading(config.state_path)
                                 : std::make_unique<StateStore>(config.state_path);
    StateStore& state = *store;
    for (const auto& domain : config.domains) {
      if (!options.domain.empty() && domain.name != options.domain) {
        continue;
      }
      if (!follows_rollout(config, domain)) {
        if (!options.domain.empty()) {
          std::cout << domain.name << ": not promoted (" << stage_label(config, domain, 0)
                    << "; an explicit policy.mode pins it)\n";
        }
        continue;
      }
      auto known = state.domain(domain.name);
      if (!known) {
        std::cout << domain.name << ": not published yet; run apply first\n";
        continue;
      }
      auto due = next_promotion_at(config, domain, known->stage, known->stage_since);
      if (!due) {
        std::cout << domain.name << ": at the last stage (" << stage_label(config, domain, known->stage)
                  << ")\n";
        continue;
      }
      if (now < *due) {
        std::cout << domain.name << ": stage " << stage_label(config, domain, known->stage) << " until "
                  << format_rfc3339(*due) << " (" << format_duration(*due - now) << " left)\n";
        continue;
      }
      int to_stage = known->stage + 1;
      if (config.stages[static_cast<size_t>(to_stage)].mode == PolicyMode::Enforce) {
        std::string failure = policy_live_gate(config, *known);
        if (failure.empty() && config.gates.starttls) {
          if (!dns) {
            DnsOptions dns_options;
            dns_options.resolver = config.gates.resolver;
            dns_options.timeout_seconds = std::min(config.gates.timeout_seconds, 10.0);
            dns_options.workers = 4;
            try {
              dns = std::make_unique<DnsLookup>(dns_options);
            } catch (const std::exception& error) {
              throw CliError(std::string("promote: cannot use the resolver for rollout.gates (") +
                             error.what() + ")");
            }
          }
          failure = starttls_gate(config, domain.name, *dns);
        }
        if (failure.empty()) {
          failure = tlsrpt_gate(config, state, *known, now);  // rollout.gates.tlsrpt
        }
        if (!failure.empty()) {
          gate_failures[domain.name] = failure;
          continue;
        }
      }
      candidates.push_back({domain.name, known->stage, to_stage});
    }
    if (!options.dry_run) {
      for (const auto& [domain, failure] : gate_failures) {
        state.set_gate_status(domain, failure);
      }
    }
  }
  for (const auto& [domain, failure] : gate_failures) {
    std::cout << domain << ": stays (gate: " << failure << ")\n";
  }
  if (candidates.empty()) {
    std::cout << "promote: nothing to promote\n";
    return gate_failures.empty() ? k_exit_ok : k_exit_guard;
  }

  DeployInput input;
  for (const auto& candidate : candidates) {
    const RolloutStage& stage = config.stages[static_cast<size_t>(candidate.to_stage)];
    std::cout << candidate.domain << ": stage " << candidate.from_stage + 1 << " -> "
              << candidate.to_stage + 1 << " (mode " << to_string(stage.mode) << ", max_age " << stage.max_age
              << ")" << (options.dry_run ? " [dry run]" : "") << "\n";
    input.stage_overrides[candidate.domain] = candidate.to_stage;
  }
  if (options.dry_run) {
    auto state = StateStore::open_for_reading(config.state_path);
    Deployment deployment = build_deployment(context, *state, input, options.force);
    std::cout << (context.json() ? format_plan_json(deployment, now) : format_plan_text(deployment, now));
    return deployment.errors.empty()
               ? (deployment.blocked.empty() && gate_failures.empty() ? k_exit_ok : k_exit_guard)
               : k_exit_error;
  }

  ApplyOptions apply_options;
  apply_options.yes = options.yes;
  apply_options.force = options.force;
  apply_options.input = input;
  std::vector<Blocked> blocked;
  apply_options.blocked_out = &blocked;
  int code = run_apply(context, apply_options);
  StateStore state(config.state_path);
  for (const auto& item : blocked) {
    state.set_gate_status(item.domain, item.guard + ": " + item.message);
  }
  for (const auto& candidate : candidates) {
    auto known = state.domain(candidate.domain);
    if (known && known->stage == candidate.to_stage) {
      state.set_gate_status(candidate.domain, "passed " + format_rfc3339(now));
    }
  }
  if (code == k_exit_ok && !gate_failures.empty()) {
    return k_exit_guard;
  }
  return code;
}

int run_status(Context& context) {
  const Config& config = context.config();
  auto store = StateStore::open_for_reading(config.state_path);
  const StateStore& state = *store;
  auto reports = recent_report_summaries(config, context.now());  // TLS-RPT, last 7 days
  nlohmann::json rows = nlohmann::json::array();
  std::ostringstream table;
  table << std::left << std::setw(28) << "DOMAIN" << std::setw(9) << "MODE" << std::setw(10) << "MAX_AGE"
        << std::setw(16) << "ID" << std::setw(8) << "STAGE" << std::setw(22) << "SINCE" << std::setw(22)
        << "NEXT PROMOTION" << std::setw(16) << "TLS-RPT 7D"
        << "GATE / NOTE\n";
  for (const auto& domain : config.domains) {
    if (domain.is_alias()) {
      rows.push_back({{"domain", domain.name}, {"alias_of", domain.alias_of}});
      table << std::setw(28) << domain.name << "alias of " << domain.alias_of << "\n";
      continue;
    }
    auto known = state.domain(domain.name);
    if (!known) {
      rows.push_back({{"domain", domain.name}, {"published", false}});
      table << std::setw(28) << domain.name << "not published yet (run apply)\n";
      continue;
    }
    auto next = next_promotion_at(config, domain, known->stage, known->stage_since);
    std::string note = known->gate_status;
    if (known->retiring_until) {
      note = "retiring until " + format_rfc3339(*known->retiring_until) + (note.empty() ? "" : "; " + note);
    }
    nlohmann::json row{
        {"domain", domain.name},
        {"published", true},
        {"mode", to_string(known->mode)},
        {"max_age", known->max_age},
        {"id", known->policy_id},
        {"stage", follows_rollout(config, domain) ? nlohmann::json(known->stage) : nlohmann::json()},
        {"stage_label", stage_label(config, domain, known->stage)},
        {"since", format_rfc3339(known->stage_since)},
        {"next_promotion", next ? nlohmann::json(format_rfc3339(*next)) : nlohmann::json()},
        {"gate", known->gate_status},
        {"retiring_until",
         known->retiring_until ? nlohmann::json(format_rfc3339(*known->retiring_until)) : nlohmann::json()},
        {"last_check",
         known->last_check ? nlohmann::json(format_rfc3339(known->last_check)) : nlohmann::json()}};
    auto recent = reports.find(domain.name);
    std::string tlsrpt_text = "-";
    if (recent != reports.end()) {
      row["tlsrpt_7d"] = {{"reports", recent->second.reports},
                          {"sessions", recent->second.sessions()},
                          {"failed_sessions", recent->second.failed_sessions},
                          {"failure_rate", recent->second.failure_rate()}};
      tlsrpt_text = std::to_string(recent->second.sessions()) + " " + format_percent(recent->second.failure_rate());
    } else {
      row["tlsrpt_7d"] = nullptr;
    }
    rows.push_back(row);
    table << std::setw(28) << domain.name << std::setw(9) << to_string(known->mode) << std::setw(10)
          << known->max_age << std::setw(16) << known->policy_id << std::setw(8)
          << stage_label(config, domain, known->stage) << std::setw(22) << format_rfc3339(known->stage_since)
          << std::setw(22) << (next ? format_rfc3339(*next) : "-") << std::setw(16) << tlsrpt_text << note << "\n";
  }
  if (context.json()) {
    std::cout << rows.dump(2) << "\n";
  } else {
    std::cout << table.str();
  }
  return k_exit_ok;
}

}  // namespace stsctl
