#include "cli/file_warnings.h"

#include <catch2/catch.hpp>

#include "support/support.h"

using stsctl::test::run_stsctl;

TEST_CASE("validate warns about referenced files that are missing or unusable, with file:line") {
  stsctl::test::TempDir dir("filewarn");
  std::string config = dir.file("stsctl.yaml");
  stsctl::test::write_file(dir.file("pdns.key"), "secret\n");
  stsctl::test::write_file(dir.file("www/.keep"), "");
  stsctl::test::write_file(
      config,
      "version: 1\n"
      "defaults: {policy_host: {ipv4: [192.0.2.1]}, provider: pdns}\n"
      "domains:\n"
      "  example.net: {mx: [mail.example.net]}\n"
      "providers:\n"
      "  pdns: {type: powerdns, url: \"http://127.0.0.1:8081\", api_key_file: pdns.key,\n"
      "         ca_file: missing-ca.pem}\n"
      "  bind:\n"
      "    type: rfc2136\n"
      "    server: 127.0.0.1:53\n"
      "    tsig: {name: k, secret_file: www}\n"
      "publish:\n"
      "  webroot: pdns.key\n"
      "  ca_file: /nonexistent/ca.pem\n"
      "rollout:\n"
      "  gates: {ca_file: www/.keep}\n"
      "  stages: [{mode: testing, max_age: 86400}]\n");
  auto result = run_stsctl({"-c", config, "validate"});
  CHECK(result.exit_code == 0);
  CHECK(result.out == config + ": ok (1 domain, 0 aliases, 2 providers)\n");
  CHECK(result.err ==
        config + ":7:19: providers.pdns.ca_file: warning: 'missing-ca.pem' does not exist (" +
            dir.file("missing-ca.pem") + ")\n" + config +
            ":11:34: providers.bind.tsig.secret_file: warning: 'www' is a directory, not a file (" +
            dir.file("www") + ")\n" + config +
            ":13:12: publish.webroot: warning: 'pdns.key' is not a "
            "directory (" +
            dir.file("pdns.key") + ")\n" + config +
            ":14:12: publish.ca_file: warning: '/nonexistent/ca.pem' does not exist\n");
}
