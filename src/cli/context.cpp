#include "cli/context.h"

#include "config/load.h"
#include "config/values.h"
#include "util/escape.h"
#include "util/secrets.h"
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
      std::cout << "{\"valid\":false,\"errors\":" << diagnostics_to_json(result.diagnostics)
                << ",\"more_errors\":" << result.more_diagnostics << "}\n";
    } else {
      for (const auto& diagnostic : result.diagnostics) {
        std::cerr << format_diagnostic(diagnostic) << "\n";
      }
      size_t total = result.diagnostics.size() + result.more_diagnostics;
      if (result.more_diagnostics > 0) {
        std::cerr << escape_control(m_options.config_path) << ": … and " << result.more_diagnostics
                  << " more\n";
      }
      std::cerr << total << (total == 1 ? " error" : " errors") << " in "
                << escape_control(m_options.config_path) << "; nothing was changed\n";
    }
    throw ConfigInvalid();
  }
  m_config = std::move(result.config);
  return *m_config;
}

CallLimits Context::call_limits() const {
  CallLimits limits;
  limits.deadline = m_started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    std::chrono::duration<double>(m_options.deadline_seconds));
  limits.deadline_text = m_options.deadline_text.empty() ? "5m" : m_options.deadline_text;
  return limits;
}

void Context::check_options() {
  if (auto problem = state_location_problem(m_options.state_path)) {
    throw CliError("--state: " + *problem);
  }
  if (!m_options.now_text.empty()) {
    m_now = parse_rfc3339(m_options.now_text);
    if (!m_now) {
      throw CliError("--now: '" + escape_control(m_options.now_text) +
                     "' is not an RFC 3339 time (like 2026-11-22T15:00:00Z)");
    }
  }
  if (!m_options.deadline_text.empty()) {
    auto seconds = parse_duration(m_options.deadline_text);
    if (!seconds || *seconds <= 0) {
      throw CliError("--deadline: '" + escape_control(m_options.deadline_text) +
                     "' is not a duration (a positive whole number and a unit s, m or h, like 90s or 5m)");
    }
    m_options.deadline_seconds = static_cast<double>(*seconds);
  }
}

int64_t Context::now() const {
  if (m_options.now_text.empty()) {
    return static_cast<int64_t>(std::time(nullptr));
  }
  if (m_now) {
    return *m_now;
  }
  auto parsed = parse_rfc3339(m_options.now_text);
  if (!parsed) {
    throw CliError("--now: '" + escape_control(m_options.now_text) +
                   "' is not an RFC 3339 time (like 2026-11-22T15:00:00Z)");
  }
  return *parsed;
}

void Context::log(const std::string& line) const {
  if (verbose()) {
    std::cerr << escape_control(scrub(line)) << "\n";
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
