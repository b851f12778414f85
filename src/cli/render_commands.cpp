#include "cli/commands.h"
#include "cli/deploy.h"
#include "config/load.h"
#include "publish/webroot.h"
#include "records/desired.h"
#include "records/invariants.h"
#include "rollout/rollout.h"
#include "state/state.h"
#include "web/web_config.h"
#include "zone/zone_writer.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

namespace stsctl {

namespace fs = std::filesystem;

namespace {

/// Effective policies of every policy domain, at the stage the state records.
std::vector<DomainPolicy> current_policies(const Config& config, const StateStore& state) {
  std::vector<DomainPolicy> policies;
  auto known = state.all_domains();
  for (const auto& domain : config.domains) {
    if (domain.is_alias()) {
      continue;
    }
    auto found = known.find(domain.name);
    int stage = found == known.end() ? 0 : found->second.stage;
    policies.push_back(make_domain_policy(domain.name, effective_policy(config, domain, stage)));
  }
  return policies;
}

/// Writes `content` to `path` via a temporary file and rename, unless the
/// file already holds exactly that: replacing a file by rename makes ext4
/// flush it, which dominated re-rendering 100,000 zone files.
void write_atomically(const std::string& path, const std::string& content) {
  {
    std::ifstream existing(path, std::ios::binary);
    if (existing) {
      std::string current((std::istreambuf_iterator<char>(existing)), std::istreambuf_iterator<char>());
      if (current == content) {
        return;
      }
    }
  }
  std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out || !(out << content) || !out.flush()) {
      throw CliError("failed to write '" + temp + "'");
    }
  }
  fs::rename(temp, path);
}

}  // namespace

int run_validate(Context& context) {
  const Config& config = context.config();
  size_t aliases = 0;
  for (const auto& domain : config.domains) {
    aliases += domain.is_alias() ? 1 : 0;
  }
  if (context.json()) {
    nlohmann::json out{{"valid", true},
                       {"errors", nlohmann::json::array()},
                       {"domains", config.domains.size()},
                       {"aliases", aliases},
                       {"providers", config.providers.size()}};
    std::cout << out.dump() << "\n";
  } else {
    std::cout << context.options().config_path << ": ok (" << config.domains.size() << " domains, " << aliases
              << " aliases, " << config.providers.size() << " providers)\n";
  }
  return k_exit_ok;
}

int run_render_zone(Context& context, const std::string& output_dir) {
  const Config& config = context.config();
  StateStore state(config.state_path);
  std::vector<DomainPolicy> policies = current_policies(config, state);
  std::map<std::string, IdFormat> formats;
  for (const auto& domain : config.domains) {
    formats[domain.name] = domain.id_format;
  }
  // Rendering is publishing for zone-file users: the ids are recorded so the
  // next render keeps them unless the policy changes.
  auto decisions = state.resolve_and_record(policies, formats, context.now());
  std::map<std::string, std::string> ids;
  for (const auto& [domain, decision] : decisions) {
    ids[domain] = decision.id;
    if (decision.bumped) {
      context.log("render: " + domain + " gets id " + decision.id);
    }
  }
  auto zones = desired_records(config, ids);
  if (!output_dir.empty()) {
    fs::create_directories(output_dir);
  }
  nlohmann::json json_out = nlohmann::json::array();
  for (const auto& [zone, rrsets] : zones) {
    auto problems = check_invariants(zone, rrsets);
    if (!problems.empty()) {
      throw CliError("internal error: records of zone " + zone + " break an invariant: " + problems.front());
    }
    std::string fragment = render_zone_fragment(zone, rrsets);
    if (!output_dir.empty()) {
      std::string path = output_dir + "/" + zone + ".zone";
      write_atomically(path, fragment);
      context.log("wrote " + path);
      json_out.push_back({{"zone", zone}, {"file", path}});
    } else if (context.json()) {
      json_out.push_back({{"zone", zone}, {"fragment", fragment}});
    } else {
      std::cout << fragment << "\n";
    }
  }
  if (!output_dir.empty() && !context.json()) {
    std::cerr << "render zone: " << zones.size() << " zone file(s) in " << output_dir << "\n";
  }
  if (context.json()) {
    std::cout << json_out.dump(2) << "\n";
  }
  return k_exit_ok;
}

int run_render_policy(Context& context, const std::string& output_dir) {
  const Config& config = context.config();
  auto state = StateStore::open_for_reading(config.state_path);
  std::vector<DomainPolicy> policies = current_policies(config, *state);
  nlohmann::json json_out = nlohmann::json::array();
  size_t files_written = 0;
  size_t files_unchanged = 0;
  auto hosts_by_domain = policy_hosts(config);
  for (const auto& policy : policies) {
    for (const auto& host : hosts_by_domain[policy.domain]) {
      if (!output_dir.empty()) {
        bool written = write_policy_file(output_dir, host, policy.text, Durability::Deferred);
        (written ? files_written : files_unchanged)++;
        context.log(std::string(written ? "wrote " : "unchanged ") + policy_path(output_dir, host));
        json_out.push_back(
            {{"domain", host}, {"file", policy_path(output_dir, host)}, {"hash", policy.hash}});
      } else if (context.json()) {
        json_out.push_back({{"domain", host}, {"policy", policy.text}, {"hash", policy.hash}});
      } else {
        std::cout << "# https://mta-sts." << host << "/.well-known/mta-sts.txt\n" << policy.text << "\n";
      }
    }
  }
  if (!output_dir.empty()) {
    sync_filesystem(output_dir);
    if (!context.json()) {
      std::cerr << "render policy: " << files_written << " written, " << files_unchanged
                << " unchanged under " << output_dir << "\n";
    }
  }
  if (context.json()) {
    std::cout << json_out.dump(2) << "\n";
  }
  return k_exit_ok;
}

int run_render_web(Context& context, const std::string& server, const std::string& templates_dir,
                   const std::string& output_file) {
  const Config& config = context.config();
  WebConfigInput input;
  input.webroot = config.publish.webroot.empty() ? "/var/www/mta-sts" : config.publish.webroot;
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
    text = render_web_config(server, input, templates_dir.empty() ? STSCTL_TEMPLATES_DIR : templates_dir);
  } catch (const std::invalid_argument& error) {
    throw CliError(std::string("render web: ") + error.what());
  }
  if (output_file.empty()) {
    std::cout << text;
  } else {
    write_atomically(output_file, text);
    std::cerr << "wrote " << output_file << "\n";
  }
  return k_exit_ok;
}

}  // namespace stsctl
