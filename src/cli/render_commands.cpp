#include "cli/commands.h"
#include "cli/file_warnings.h"
#include "config/load.h"
#include "deploy/deployment.h"
#include "provider_config.h"
#include "publish/atomic_file.h"
#include "publish/webroot.h"
#include "records/desired.h"
#include "records/invariants.h"
#include "rollout/rollout.h"
#include "state/state.h"
#include "util/escape.h"
#include "util/parallel.h"
#include "web/acme.h"
#include "web/web_config.h"
#include "zone/zone_writer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <optional>
#include <set>

namespace stsctl {

namespace {

/// A new output directory appears whole (FileTree::NewRoot::Stage).
void publish_tree(FileTree& tree, const std::string& command) {
  try {
    tree.publish();
  } catch (const std::runtime_error& error) {
    throw CliError(command + ": " + error.what());
  }
}

/// Effective policies of every policy domain, at the stage the state records.
std::vector<DomainPolicy> current_policies(const Config& config, const StateStore& state) {
  auto stages = state.stages();
  std::vector<const DomainConfig*> domains;
  for (const auto& domain : config.domains) {
    if (!domain.is_alias()) {
      domains.push_back(&domain);
    }
  }
  // Canonical text and SHA-256 of each, on every core.
  return parallel_map<DomainPolicy>(domains.size(), [&](size_t i) {
    const DomainConfig& domain = *domains[i];
    auto found = stages.find(domain.name);
    int stage = found == stages.end() ? 0 : found->second;
    return make_domain_policy(domain.name, effective_policy(config, domain, stage));
  });
}

/// "1 alias", "2 aliases", "0 domains".
std::string count_of(size_t count, const std::string& noun) {
  std::string plural = noun.back() == 's' ? noun + "es" : noun + "s";
  return std::to_string(count) + " " + (count == 1 ? noun : plural);
}

}  // namespace

int run_validate(Context& context) {
  const Config& config = context.config();
  std::vector<Diagnostic> file_problems = check_provider_files(config);
  if (!file_problems.empty()) {
    if (context.json()) {
      std::cout << "{\"valid\":false,\"errors\":" << diagnostics_to_json(file_problems)
                << ",\"more_errors\":0}\n";
    } else {
      for (const auto& diagnostic : file_problems) {
        std::cerr << format_diagnostic(diagnostic) << "\n";
      }
      std::cerr << file_problems.size() << (file_problems.size() == 1 ? " error" : " errors") << " in "
                << escape_control(context.options().config_path) << "; nothing was changed\n";
    }
    return k_exit_error;
  }
  size_t aliases = 0;
  for (const auto& domain : config.domains) {
    aliases += domain.is_alias() ? 1 : 0;
  }
  for (const auto& warning : referenced_file_warnings(config)) {
    std::cerr << format_diagnostic(warning) << "\n";
  }
  if (context.json()) {
    nlohmann::json out{{"valid", true},
                       {"errors", nlohmann::json::array()},
                       {"domains", config.domains.size()},
                       {"aliases", aliases},
                       {"providers", config.providers.size()}};
    std::cout << out.dump() << "\n";
  } else {
    std::cout << context.options().config_path << ": ok (" << count_of(config.domains.size(), "domain")
              << ", " << count_of(aliases, "alias") << ", " << count_of(config.providers.size(), "provider")
              << ")\n";
  }
  return k_exit_ok;
}

int run_render_zone(Context& context, const std::string& output_dir) {
  const Config& config = context.config();
  // render zone records ids: like apply, it holds the state lock from reading
  // the stages to the commit, so a concurrent apply cannot decide another id.
  StateLock lock(config.state_path);
  StateStore state(config.state_path);
  std::vector<DomainPolicy> policies = current_policies(config, state);
  std::map<std::string, IdFormat> formats;
  for (const auto& domain : config.domains) {
    formats[domain.name] = domain.id_format;
  }
  std::optional<FileTree> tree;
  if (!output_dir.empty()) {
    try {
      tree.emplace(output_dir, FileTree::NewRoot::Stage);
    } catch (const std::runtime_error& error) {
      throw CliError(std::string("render zone: ") + error.what());
    }
  }

  // Zones are independent: built, checked and rendered on every core while
  // the state records the new ids. Results come back in zone order, so the
  // output is deterministic. With -o the files are written before the ids
  // are committed, so nothing is recorded unless every file was written (a
  // failed write rolls the ids back). Into a new (staged) directory no
  // reader sees anything before publish_tree. Into an existing one, should
  // the commit itself fail after the files were written, they carry ids the
  // state does not have; the next render replaces them.
  std::vector<ZoneDomains> zones = zones_of(config);
  std::vector<std::string> fragments;
  std::vector<char> written;
  const bool write_while_recording = tree.has_value();
  auto write_zone = [&](size_t i, const std::string& fragment) -> char {
    try {
      return tree->write(zones[i].zone + ".zone", fragment, Durability::Deferred, Directories::MustExist);
    } catch (const std::runtime_error& error) {
      throw CliError(std::string("render zone: ") + error.what());
    }
  };
  auto build_zones = [&](const std::map<std::string, IdDecision>& decisions) {
    std::map<std::string, std::string> ids;
    for (const auto& [domain, decision] : decisions) {
      ids.emplace_hint(ids.end(), domain, decision.id);
    }
    auto render = [&](size_t i) {
      const ZoneDomains& zone = zones[i];
      std::vector<RRset> rrsets = desired_zone_records(config, zone, ids);
      auto problems = check_invariants(zone.zone, rrsets);
      if (!problems.empty()) {
        throw CliError("internal error: records of zone " + zone.zone +
                       " break an invariant: " + problems.front());
      }
      return render_zone_fragment(zone.zone, rrsets);
    };
    if (write_while_recording) {
      written = parallel_map<char>(zones.size(), [&](size_t i) { return write_zone(i, render(i)); });
    } else {
      fragments = parallel_map<std::string>(zones.size(), render);
    }
  };
  // Rendering is publishing for zone-file users: the ids are recorded so the
  // next render keeps them unless the policy changes. A domain that a
  // provider publishes gets its id decided (pending) only: apply verifies its
  // policy and pushes that id, and its stage clock starts then.
  std::set<std::string> decided_only;
  for (const auto& domain : config.domains) {
    if (!domain.is_alias() && !domain.provider.empty()) {
      decided_only.insert(domain.name);
    }
  }
  auto decisions = state.resolve_and_record(policies, formats, context.now(), build_zones, decided_only);
  for (const auto& [domain, decision] : decisions) {
    if (decision.bumped) {
      context.log("render: " + domain + " gets id " + decision.id);
    }
  }

  nlohmann::json json_out = nlohmann::json::array();
  if (output_dir.empty()) {
    for (size_t i = 0; i < zones.size(); ++i) {
      if (context.json()) {
        json_out.push_back({{"zone", zones[i].zone}, {"fragment", std::move(fragments[i])}});
      } else {
        std::cout << fragments[i] << "\n";
      }
    }
    if (context.json()) {
      std::cout << json_out.dump(2) << "\n";
    }
    return k_exit_ok;
  }

  size_t files_written = 0;
  for (size_t i = 0; i < zones.size(); ++i) {
    const std::string path = output_dir + "/" + zones[i].zone + ".zone";
    files_written += written[i] ? 1 : 0;
    context.log(std::string(written[i] ? "wrote " : "unchanged ") + path);
    if (context.json()) {
      json_out.push_back({{"zone", zones[i].zone}, {"file", path}});
    }
  }
  publish_tree(*tree, "render zone");
  if (context.json()) {
    std::cout << json_out.dump(2) << "\n";
  } else {
    std::cerr << "render zone: " << zones.size() << " zone file(s) in " << output_dir << " (" << files_written
              << " written, " << zones.size() - files_written << " unchanged)\n";
  }
  return k_exit_ok;
}

int run_render_policy(Context& context, const std::string& output_dir) {
  const Config& config = context.config();
  auto state = StateStore::open_for_reading(config.state_path);
  std::vector<DomainPolicy> policies = current_policies(config, *state);
  auto hosts_by_domain = policy_hosts(config);
  // Every policy domain and each of its aliases: (policy, host).
  std::vector<std::pair<const DomainPolicy*, std::string>> files;
  for (const auto& policy : policies) {
    for (auto& host : hosts_by_domain[policy.domain]) {
      files.emplace_back(&policy, std::move(host));
    }
  }
  nlohmann::json json_out = nlohmann::json::array();
  if (output_dir.empty()) {
    for (const auto& [policy, host] : files) {
      if (context.json()) {
        json_out.push_back({{"domain", host}, {"policy", policy->text}, {"hash", policy->hash}});
      } else {
        std::cout << "# https://mta-sts." << host << "/.well-known/mta-sts.txt\n" << policy->text << "\n";
      }
    }
    if (context.json()) {
      std::cout << json_out.dump(2) << "\n";
    }
    return k_exit_ok;
  }

  std::optional<FileTree> tree;
  try {
    tree.emplace(output_dir, FileTree::NewRoot::Stage);
  } catch (const std::runtime_error& error) {
    throw CliError(std::string("render policy: ") + error.what());
  }
  // Each host has its own directory: write them on every core.
  std::vector<char> written = parallel_map<char>(files.size(), [&](size_t i) -> char {
    try {
      return tree->write(policy_relative_path(files[i].second), files[i].first->text, Durability::Deferred,
                         Directories::Create);
    } catch (const std::runtime_error& error) {
      throw CliError(std::string("render policy: ") + error.what());
    }
  });
  size_t files_written = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& [policy, host] = files[i];
    files_written += written[i] ? 1 : 0;
    context.log(std::string(written[i] ? "wrote " : "unchanged ") + policy_path(output_dir, host));
    if (context.json()) {
      json_out.push_back({{"domain", host}, {"file", policy_path(output_dir, host)}, {"hash", policy->hash}});
    }
  }
  publish_tree(*tree, "render policy");
  tree->sync();
  if (context.json()) {
    std::cout << json_out.dump(2) << "\n";
  } else {
    std::cerr << "render policy: " << files_written << " written, " << files.size() - files_written
              << " unchanged under " << output_dir << "\n";
  }
  return k_exit_ok;
}

int run_render_web(Context& context, const std::string& server, const std::string& templates_dir,
                   const std::string& output_file, const WebOptions& options) {
  const Config& config = context.config();
  WebConfigInput input;
  input.webroot = config.publish.webroot.empty() ? "/var/www/mta-sts" : config.publish.webroot;
  input.acme_root = options.acme_root;
  input.http_only = options.http_only;
  for (const auto& domain : config.domains) {
    WebHost host;
    host.host = "mta-sts." + domain.name;
    host.domain = domain.name;
    host.is_alias = domain.is_alias();
    host.primary = domain.is_alias() ? domain.alias_of : "";
    input.hosts.push_back(host);
  }
  std::string text;
  try {
    text = render_web_config(server, input, templates_dir);
  } catch (const std::invalid_argument& error) {
    throw CliError(std::string("render web: ") + error.what());
  }
  if (output_file.empty()) {
    std::cout << text;
  } else {
    try {
      write_file_atomically(output_file, text);
    } catch (const std::runtime_error& error) {
      throw CliError(std::string("render web: ") + error.what());
    }
    std::cerr << "wrote " << output_file << "\n";
  }
  return k_exit_ok;
}

int run_render_acme(Context& context, const std::string& client) {
  std::vector<std::string> hosts;
  for (const auto& domain : context.config().domains) {
    hosts.push_back("mta-sts." + domain.name);
  }
  try {
    std::cout << render_acme(client, hosts);
  } catch (const std::invalid_argument& error) {
    throw CliError(std::string("render acme: ") + error.what());
  }
  return k_exit_ok;
}

}  // namespace stsctl
