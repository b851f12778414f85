// libFuzzer target: the _smtp._tls TXT parser (RFC 8460 section 3).

#include <cstdlib>

#include "check/policy_parse.h"
#include "fuzz_txt.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stsctl::ParsedTlsRpt parsed = stsctl::parse_tlsrpt_records(split_txts(data, size));
  if (parsed.valid && parsed.rua.empty()) {
    std::abort();
  }
  return 0;
}
