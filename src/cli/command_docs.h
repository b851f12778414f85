#pragma once
// The CLI11 command tree as plain data (commands, options, value placeholders,
// choices), for the generated man page and shell completions.

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace stsctl {

struct OptionDoc {
  std::vector<std::string> names;    // "-c", "--config"; empty for a positional
  std::string positional;            // "domains" for a positional
  std::string value;                 // "FILE", "text|json"; empty for a flag
  std::vector<std::string> choices;  // allowed values, when CLI11 checks them
  std::string description;
  bool takes_domain = false;  // completes to configured domain names
};

struct CommandDoc {
  std::string path;  // "render zone"; "" for the program itself
  std::string description;
  std::vector<OptionDoc> options;
  std::vector<std::string> subcommands;
};

/// Every command of `app`, the program itself first (path ""), then each
/// subcommand depth-first.
std::vector<CommandDoc> command_tree(const CLI::App& app);

/// `text` in ASCII upper case (value placeholders: FILE, DIR).
std::string upper(std::string text);

}  // namespace stsctl
