#include "cli/context.h"

#include "config/load.h"
#include "util/time.h"

#include <unistd.h>

#include <ctime>
#include <iostream>

namespace stsctl {

const Config& Context::config() {
  if (m_config) {
    return *m_config;
  }
  LoadResult result = load_config(m_options.config_path, m_options.state_path);
  if (!result.ok()) {
    if (m_options.json) {
      std::cout << "{\"valid\":false,\"errors\":" << diagnostics_to_json(result.diagnostics) << "}\n";
    } else {
      for (const auto& diagnostic : result.diagnostics) {
        std::cerr << format_diagnostic(diagnostic) << "\n";
      }
      std::cerr << result.diagnostics.size() << (result.diagnostics.size() == 1 ? " error" : " errors")
                << " in " << m_options.config_path << "; nothing was changed\n";
    }
    throw ConfigInvalid();
  }
  m_config = std::move(result.config);
  return *m_config;
}

int64_t Context::now() const {
  if (m_options.now_text.empty()) {
    return static_cast<int64_t>(std::time(nullptr));
  }
  auto parsed = parse_rfc3339(m_options.now_text);
  if (!parsed) {
    throw CliError("--now: '" + m_options.now_text + "' is not an RFC 3339 time (like 2026-11-22T15:00:00Z)");
  }
  return *parsed;
}

void Context::log(const std::string& line) const {
  if (verbose()) {
    std::cerr << line << "\n";
  }
}

bool interactive_terminal() { return isatty(STDIN_FILENO) && isatty(STDOUT_FILENO); }

bool confirm(const std::string& question) {
  std::cout << question << " [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) {
    return false;
  }
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES";
}

}  // namespace stsctl
