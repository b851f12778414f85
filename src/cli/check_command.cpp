#include "cli/commands.h"

namespace stsctl {

int run_check(Context&, const CheckCommandOptions&) { throw CliError("check: not wired yet"); }

}  // namespace stsctl
