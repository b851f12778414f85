#pragma once

namespace stsctl {

/// Parses the command line and runs the command. Returns the process exit
/// code: 0 success, 1 error, 2 changes/check failed, 3 a safety guard blocked.
int run_cli(int argc, char** argv);

}  // namespace stsctl
