#include "check/checker.h"
#include "cli/commands.h"
#include "cli/terminal.h"
#include "dns/name.h"
#include "records/desired.h"
#include "rollout/rollout.h"
#include "state/state.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>

namespace stsctl {

namespace {

/// "HOST:PORT:ADDR:PORT" -> {"HOST:PORT", "ADDR:PORT"}, like curl --connect-to.
std::map<std::string, std::string> parse_connect_to(const std::vector<std::string>& entries) {
  std::map<std::string, std::string> map;
  for (const auto& entry : entries) {
    size_t first = entry.find(':');
    size_t second = first == std::string::npos ? std::string::npos : entry.find(':', first + 1);
    if (second == std::string::npos || entry.find(':', second + 1) == std::string::npos) {
      throw CliError("check: --connect-to '" + entry + "' is not HOST:PORT:ADDR:PORT");
    }
    map[entry.substr(0, second)] = entry.substr(second + 1);
  }
  return map;
}

}  // namespace

int run_check(Context& context, const CheckCommandOptions& command_options) {
  // "Example.NET." and "example.net" are the same domain; each is checked once.
  CheckCommandOptions options = command_options;
  options.domains.clear();
  for (const auto& name : command_options.domains) {
    std::string normalized = normalize_name(name);
    if (std::find(options.domains.begin(), options.domains.end(), normalized) == options.domains.end()) {
      options.domains.push_back(normalized);
    }
  }
  // With domains named and no config file, check them as any sender would,
  // without comparing against a configuration.
  bool use_config = options.domains.empty() || std::filesystem::exists(context.options().config_path);
  std::vector<CheckTarget> targets;
  std::unique_ptr<StateStore> state;
  if (use_config) {
    const Config& config = context.config();
    state = std::make_unique<StateStore>(config.state_path);
    // Every domain: one query for all rows, not one statement (and one lock
    // round trip) per domain.
    std::map<std::string, DomainState> known_domains;
    if (options.domains.empty()) {
      known_domains = state->all_domains();
    }
    auto known_state = [&](const std::string& name) -> std::optional<DomainState> {
      if (!options.domains.empty()) {
        return state->domain(name);
      }
      auto found = known_domains.find(name);
      return found != known_domains.end() ? std::optional<DomainState>(found->second) : std::nullopt;
    };
    for (const auto& domain : config.domains) {
      bool wanted = options.domains.empty() || std::find(options.domains.begin(), options.domains.end(),
                                                         domain.name) != options.domains.end();
      if (!wanted) {
        continue;
      }
      CheckTarget target;
      target.domain = domain.name;
      target.alias_of = domain.alias_of;
      const DomainConfig* primary = domain.is_alias() ? config.find_domain(domain.alias_of) : &domain;
      target.tlsrpt_required = primary != nullptr && !primary->tlsrpt_rua.empty();
      if (primary != nullptr) {
        auto known = known_state(primary->name);
        if (known) {
          target.expected_id = known->policy_id;
          target.expected_hash = known->policy_hash;
          target.expected_policy =
              make_domain_policy(primary->name, effective_policy(config, *primary, known->stage)).text;
        }
      }
      targets.push_back(target);
    }
    for (const auto& name : options.domains) {
      if (config.find_domain(name) == nullptr) {
        targets.push_back(CheckTarget{name, "", std::nullopt, "", "", false});
      }
    }
  } else {
    for (const auto& name : options.domains) {
      targets.push_back(CheckTarget{name, "", std::nullopt, "", "", false});
    }
  }

  CheckOptions check_options;
  check_options.dns.resolver = options.resolver;
  check_options.dns.timeout_seconds = options.timeout_seconds;
  check_options.fetch.ca_file = options.ca_file;
  check_options.fetch.connect_to = parse_connect_to(options.connect_to);
  check_options.fetch.timeout_seconds = options.timeout_seconds;
  check_options.https_parallel = options.parallel;
  check_options.smtp = !options.no_smtp;
  check_options.smtp_options.port = options.smtp_port;
  check_options.smtp_options.ca_file = options.ca_file;
  check_options.smtp_options.connect_to = check_options.fetch.connect_to;
  check_options.smtp_options.timeout_seconds = options.timeout_seconds;

  ProgressLine progress(context.options());
  check_options.progress = [&](const std::string& phase, size_t done, size_t total) {
    progress.update("check " + phase, done, total);
  };
  CheckReport report;
  try {
    report = run_checks(check_options, targets);
    progress.finish();
  } catch (const std::invalid_argument& error) {
    throw CliError(std::string("check: ") + error.what());
  }
  if (state) {
    // Every command that writes the state holds its lock while it writes. The
    // checks themselves are done: a lock held too long costs only the record.
    try {
      StateLock lock(context.config().state_path);
      StateStore::Batch batch(*state);  // one transaction for every domain's time
      for (const auto& domain : report.domains) {
        if (context.config().find_domain(domain.domain) != nullptr) {
          state->set_last_check(domain.domain, context.now());
        }
      }
      batch.commit();
    } catch (const StateError& error) {
      std::cerr << "warning: the time of this check was not recorded (" << error.what() << ")\n";
    }
  }
  if (context.json()) {
    write_check_report_json(report, std::cout);
  } else {
    std::cout << format_check_table(report, use_color(context.options(), STDOUT_FILENO));
  }
  return check_exit_code(report);
}

}  // namespace stsctl
