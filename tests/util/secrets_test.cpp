#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "util/secrets.h"

using namespace stsctl;

TEST_CASE("registered secrets are scrubbed from any text", "[util][secrets]") {
  clear_secrets();
  CHECK(scrub("X-API-Key: s3cr3t-value") == "X-API-Key: s3cr3t-value");
  register_secret("s3cr3t-value\n");
  CHECK(scrub("X-API-Key: s3cr3t-value") == "X-API-Key: [redacted]");
  CHECK(scrub("s3cr3t-values3cr3t-value") == "[redacted][redacted]");
  register_secret("s3cr3t-value-longer");  // the longer one is replaced whole
  CHECK(scrub("k=s3cr3t-value-longer") == "k=[redacted]");
  register_secret("abc");  // too short to register
  CHECK(scrub("abc") == "abc");
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([] {
      for (int k = 0; k < 200; ++k) {
        register_secret("tok" + std::to_string(k));
        (void)scrub("tok1 s3cr3t-value");
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  CHECK(scrub("tok199") == "[redacted]");
  clear_secrets();
  CHECK(scrub("s3cr3t-value") == "s3cr3t-value");
}
