// libFuzzer target: the policy file parser (RFC 8461 section 3.2).

#include <cstddef>
#include <cstdint>
#include <string>

#include "check/policy_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  stsctl::ParsedPolicy parsed = stsctl::parse_policy_body(body);
  if (parsed.valid) {
    (void)parsed.mode.value();  // a valid policy has a mode and a max_age
    (void)parsed.max_age.value();
  }
  (void)stsctl::suggest_policy_key(body.substr(0, 64));
  return 0;
}
