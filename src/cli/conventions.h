#pragma once
// Command-line conventions around CLI11: `stsctl help [COMMAND]`, and parse
// errors that exit 1 (never CLI11's own codes) with a "did you mean" for a
// mistyped command or option.

#include <optional>

namespace CLI {
class App;
class ParseError;
}  // namespace CLI

namespace stsctl {

/// `stsctl help [COMMAND...]`: prints that command's --help and returns 0
/// (1 for an unknown command). std::nullopt when argv[1] is not "help".
std::optional<int> run_help_command(CLI::App& app, int argc, char** argv);

/// Reports a CLI11 parse error on stderr and returns the exit code: 0 for
/// --help/--version, 1 for everything else, naming the closest command or
/// option when the error is a typo.
int handle_parse_error(CLI::App& app, const CLI::ParseError& error, int argc, char** argv);

}  // namespace stsctl
