#include "cli/app.h"

#include <iostream>

namespace stsctl {

int run_cli(int, char**) {
  std::cerr << "stsctl: not ready\n";
  return 1;
}

}  // namespace stsctl
