// state migrate: copies the state between a SQLite file and PostgreSQL.

#include "cli/commands.h"
#include "config/values.h"
#include "state/state.h"
#include "state/state_copy.h"

#include <filesystem>
#include <iostream>

namespace stsctl {

int run_state_migrate(Context& context, const StateMigrateOptions& options) {
  if (auto problem = state_location_problem(options.to)) {
    throw CliError("--to: " + *problem);
  }
  const std::string& from = context.config().state_path;
  const std::string to = is_database_url(options.to)
                             ? options.to
                             : std::filesystem::absolute(options.to).lexically_normal().string();
  // No apply or promote writes the source while it is copied.
  StateLock lock(from, 0, "stsctl state migrate");
  const StateDigest digest = copy_state(from, to, options.force);
  auto rows = [&](const char* table) { return std::to_string(digest.rows.at(table)); };
  std::cout << "state migrate: copied " << from << " to " << to << ": " << rows("domains") << " domain(s), "
            << rows("history") << " history row(s), " << rows("pending") << " pending id(s), "
            << rows("tlsrpt_reports")
            << " TLS-RPT report(s); row counts and content hash sha256:" << digest.hash << " verified\n";
  return k_exit_ok;
}

}  // namespace stsctl
