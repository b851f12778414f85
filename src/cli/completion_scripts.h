#pragma once
// Shell completion scripts generated from the command tree, so completion
// cannot drift from the commands (stsctl __completion bash|zsh|fish).

#include <ostream>
#include <vector>

#include "cli/command_docs.h"

namespace stsctl {

void bash_script(const std::vector<CommandDoc>& tree, std::ostream& out);
void zsh_script(const std::vector<CommandDoc>& tree, std::ostream& out);
void fish_script(const std::vector<CommandDoc>& tree, std::ostream& out);

}  // namespace stsctl
