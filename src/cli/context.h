#pragma once
// What every command shares: global options, loading the config (printing
// diagnostics), the evaluation time, and output helpers.

#include "config/config.h"

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
  bool no_color = false;  // --no-color
  bool quiet = false;     // -q/--quiet
};

class Context {
 public:
  explicit Context(GlobalOptions options) : m_options(std::move(options)) {}

  const GlobalOptions& options() const { return m_options; }
  bool json() const { return m_options.json; }
  bool verbose() const { return m_options.verbosity > 0; }

  /// Loads and validates the config; on errors prints every diagnostic (or
  /// the JSON form) to stderr/stdout and throws ConfigInvalid.
  const Config& config();

  /// --now, or the system clock.
  int64_t now() const;

  /// stderr line when -v.
  void log(const std::string& line) const;

 private:
  GlobalOptions m_options;
  std::optional<Config> m_config;
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
