#pragma once
// One function per command; each returns the process exit code.

#include "cli/context.h"

#include <string>
#include <vector>

namespace stsctl {

int run_validate(Context& context);
int run_render_zone(Context& context, const std::string& output_dir);
int run_render_policy(Context& context, const std::string& output_dir);
struct WebOptions {
  bool http_only = false;
  std::string acme_root = "/var/www/acme";
};
int run_render_web(Context& context, const std::string& server, const std::string& templates_dir,
                   const std::string& output_file, const WebOptions& options = {});
/// `render acme --client C`: the mta-sts host names, in the client's format.
int run_render_acme(Context& context, const std::string& client);
int run_status(Context& context);

/// `plan`: exit 2 with detailed_exitcode when there is work, 3 when a guard blocks.
int run_plan(Context& context, const std::string& format, bool detailed_exitcode);

struct ApplyOptions {
  bool yes = false;
  bool force = false;
  std::string lock_timeout = "0";  // --lock-timeout: "0" (one try), "30s", "5m"
};
/// `apply`: plan, confirm, then the engine's phases under the state lock.
int run_apply(Context& context, const ApplyOptions& options);

struct PromoteOptions {
  std::string domain;  // empty: all
  bool dry_run = false;
  bool yes = false;
  bool force = false;
  std::string lock_timeout = "0";
};
int run_promote(Context& context, const PromoteOptions& options);

struct CheckCommandOptions {
  std::vector<std::string> domains;  // empty: all configured
  std::string resolver;
  std::string ca_file;
  std::vector<std::string> connect_to;  // "host:port:addr:port"
  int smtp_port = 25;
  double timeout_seconds = 20;
  int parallel = 32;
  bool no_smtp = false;
};
int run_check(Context& context, const CheckCommandOptions& options);

struct StateMigrateOptions {
  std::string to;  // SQLite path or postgresql:// URL
  bool force = false;
};
/// `state migrate --to LOCATION`: copies the state, then verifies it.
int run_state_migrate(Context& context, const StateMigrateOptions& options);

}  // namespace stsctl
