#pragma once
// Hidden commands that generate documentation and shell integration from the
// CLI11 command tree and the config reference, so the man pages, completions
// and --help cannot drift apart:
//   stsctl __manpage stsctl|stsctl.yaml   roff for stsctl(1) / stsctl.yaml(5)
//   stsctl __completion bash|zsh|fish     a completion script
//   stsctl __reference                    the README's config reference (Markdown)
//   stsctl __schema                       the JSON Schema of stsctl.yaml (stsctl.schema.json)
//   stsctl __domains [CONFIG]             configured domain names (for completion)

#include <optional>

namespace CLI {
class App;
}

namespace stsctl {

/// Runs a hidden command when argv[1] names one and returns its exit code;
/// std::nullopt otherwise. `app` is the fully built command tree.
std::optional<int> run_generator(const CLI::App& app, int argc, char** argv);

}  // namespace stsctl
