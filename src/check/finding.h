#pragma once
// One result line of `stsctl check`: what was checked, how it went, why, and
// what to do about it. Pure data shared by the parsers and the live checker.

#include <string>

namespace stsctl {

enum class CheckStatus { Pass, Warn, Fail };

const char* to_string(CheckStatus status);

struct Finding {
  std::string check_name;  // stable dotted name, e.g. "sts.record", "policy.fetch"
  CheckStatus status = CheckStatus::Pass;
  std::string message;   // what was found
  std::string fix_hint;  // what to change; empty on pass
};

}  // namespace stsctl
