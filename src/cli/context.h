#pragma once
// What every command shares: global options, loading the config (printing
// diagnostics), the evaluation time, and output helpers.

#include "config/config.h"
#include "provider.h"

#include <chrono>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace stsctl {

enum ExitCode : int { k_exit_ok = 0, k_exit_error = 1, k_exit_changes = 2, k_exit_guard = 3 };

/// A failure that ends the command with exit 1; the message is printed as is.
class CliError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct GlobalOptions {
  std::string config_path = "stsctl.yaml";
  std::string state_path;  // --state; empty: from the config
  bool json = false;
  std::string now_text;  // --now
  int verbosity = 0;
  std::string deadline_text;      // --deadline, like "5m"
  double deadline_seconds = 300;  // from --deadline once check_options() ran
  bool no_color = false;          // --no-color
  bool quiet = false;             // -q/--quiet
};

class Context {
 public:
  explicit Context(GlobalOptions options) : m_options(std::move(options)) {}

  const GlobalOptions& options() const { return m_options; }
  bool json() const { return m_options.json; }
  bool verbose() const { return m_options.verbosity > 0; }

  /// Checks the global options every command shares (--now, --deadline);
  /// throws CliError naming the option. Run before any command.
  void check_options();

  /// Bounds for every provider call of this run: the --deadline counted from
  /// the start of the command, and the circuit breaker.
  CallLimits call_limits() const;

  /// Loads and validates the config; on errors prints every diagnostic (or
  /// the JSON form) to stderr/stdout and throws ConfigInvalid.
  const Config& config();

  /// --now, or the system clock.
  int64_t now() const;

  /// stderr line when -v.
  void log(const std::string& line) const;

 private:
  GlobalOptions m_options;
  std::chrono::steady_clock::time_point m_started = std::chrono::steady_clock::now();
  std::optional<Config> m_config;
  std::optional<int64_t> m_now;
};

/// Thrown after config diagnostics were printed: exit 1, nothing more to say.
class ConfigInvalid : public std::runtime_error {
 public:
  ConfigInvalid() : std::runtime_error("configuration invalid") {}
};

/// True when stdin and stdout are terminals.
bool interactive_terminal();

/// Asks "question [y/N]" on the terminal; true only for y/yes.
bool confirm(const std::string& question);

}  // namespace stsctl
