// libFuzzer target: the _mta-sts TXT parser (RFC 8461 section 3.1).

#include <cstdlib>

#include "check/policy_parse.h"
#include "fuzz_txt.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stsctl::ParsedStsRecord parsed = stsctl::parse_sts_records(split_txts(data, size));
  if (parsed.valid && parsed.id.empty()) {
    std::abort();
  }
  return 0;
}
