// The rfc2136 block: the one TSIG algorithm rule, the base64 check (by
// decoding) and validate's check of a secret file, through the loader.

#include "rfc2136/rfc2136_config.h"

#include <catch2/catch.hpp>

#include "config/load.h"
#include "support/support.h"

using namespace stsctl;

namespace {

std::string config_with_tsig(const std::string& tsig, const std::string& extra = "") {
  return "version: 1\n"
         "defaults: {provider: bind, policy_host: {ipv4: [192.0.2.40]}}\n"
         "domains:\n"
         "  example.net: {mx: [mail.example.net]}\n"
         "providers:\n"
         "  bind:\n"
         "    type: rfc2136\n"
         "    server: \"127.0.0.1:53\"\n"
         "    tsig: " +
         tsig + "\n" + extra;
}

std::string messages(const LoadResult& result) {
  std::string out;
  for (const auto& diagnostic : result.diagnostics) {
    out += format_diagnostic(diagnostic) + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("is_base64 decodes: padding, characters and stray bits are checked") {
  CHECK(is_base64("YQ=="));
  CHECK(is_base64("YWI="));
  CHECK(is_base64("YWJj"));
  CHECK(is_base64("3q2+7w+/AA=="));
  // tsig-keygen output (hmac-sha256, 32 bytes)
  CHECK(is_base64("eUv0h8bHYeJrGg5Bfz5Eze7Ey/X0ExcDMfUwZKxGIPs="));

  SECTION("bad padding") {
    CHECK_FALSE(is_base64("YQ="));       // not a multiple of 4
    CHECK_FALSE(is_base64("Y==="));      // three pad characters
    CHECK_FALSE(is_base64("===="));      // nothing but padding
    CHECK_FALSE(is_base64("Y=Q="));      // padding inside
    CHECK_FALSE(is_base64("YQ==YWJj"));  // data after padding
    CHECK_FALSE(is_base64("YR=="));      // stray bits after the last byte
  }
  SECTION("bad characters") {
    CHECK_FALSE(is_base64(""));
    CHECK_FALSE(is_base64("YW-j"));  // base64url, not base64
    CHECK_FALSE(is_base64("YW_j"));
    CHECK_FALSE(is_base64("YW j"));
    CHECK_FALSE(is_base64(" YWJj"));
    CHECK_FALSE(is_base64("YWJj\n"));
    CHECK_FALSE(is_base64(std::string("YW\0j", 4)));
  }
}

TEST_CASE("tsig_algorithm is the one rule for TSIG algorithms") {
  std::string reason;
  CHECK(tsig_algorithm("hmac-sha256", false, &reason) == "hmac-sha256");
  CHECK(tsig_algorithm("HMAC-SHA512.", false, &reason) == "hmac-sha512");
  CHECK(tsig_algorithm("hmac-sha1", false, &reason) == "hmac-sha1");
  CHECK(tsig_algorithm("hmac-md5.sig-alg.reg.int.", true, &reason) == "hmac-md5");

  CHECK_FALSE(tsig_algorithm("hmac-md5", false, &reason));
  CHECK(reason ==
        "hmac-md5 is weak and refused unless the provider sets allow_hmac_md5: true; use hmac-sha256 or "
        "hmac-sha512");
  CHECK_FALSE(tsig_algorithm("hmac-sha384", false, &reason));
  CHECK(reason ==
        "hmac-sha384 is not supported: ldns 1.8.3 cannot sign with it; use hmac-sha256 or hmac-sha512");
  CHECK_FALSE(tsig_algorithm("hmac-sha265", false, &reason));
  CHECK(reason ==
        "'hmac-sha265' is not one of hmac-sha256, hmac-sha512, hmac-sha1, hmac-md5 (did you mean "
        "'hmac-sha256'?)");
}

TEST_CASE("the loader reads the rfc2136 block through its backend") {
  auto result =
      load_config_text(config_with_tsig("{name: Key.Example., algorithm: HMAC-SHA512, secret_env: TSIG}",
                                        "    transport: udp\n"),
                       "stsctl.yaml", "/etc/stsctl");
  INFO(messages(result));
  REQUIRE(result.ok());
  const ProviderConfig& provider = result.config.providers.at("bind");
  CHECK(provider.type == "rfc2136");
  const Rfc2136Config& settings = settings_of<Rfc2136Config>(provider);
  CHECK(settings.name == "bind");
  CHECK(settings.tsig.name == "key.example");
  CHECK(settings.tsig.algorithm == "hmac-sha512");
  CHECK(settings.tsig.secret_env == "TSIG");
  CHECK(settings.transport == "udp");
  CHECK(settings.server_host == "127.0.0.1");
  CHECK(settings.timeout_seconds == 10);
  CHECK_THROWS_WITH(make_provider(ProviderConfig{"bind", "powerdns", provider.settings}),
                    "provider 'bind': failed to read the settings of type 'powerdns' (they are another "
                    "backend's): build the config with provider_config() and the settings of that type");
}

TEST_CASE("validate's secret file check decodes the file and never shows it") {
  test::TempDir dir;
  test::write_file(dir.file("good.secret"), "eUv0h8bHYeJrGg5Bfz5Eze7Ey/X0ExcDMfUwZKxGIPs=\n");
  test::write_file(dir.file("padding.secret"), "c2VjcmV0c2VjcmV0=\n");
  test::write_file(dir.file("chars.secret"), "c2VjcmV0-2VjcmV0\n");
  for (const std::string name : {"good", "padding", "chars"}) {
    INFO(name);
    auto result = load_config_text(config_with_tsig("{name: k, secret_file: " + name + ".secret}"),
                                   "stsctl.yaml", dir.path());
    REQUIRE(result.ok());
    auto problems = check_provider_files(result.config);
    if (name == "good") {
      CHECK(problems.empty());
      continue;
    }
    REQUIRE(problems.size() == 1);
    CHECK(format_diagnostic(problems[0]) ==
          "stsctl.yaml:9:34: providers.bind.tsig.secret_file: the TSIG secret in '" +
              dir.file(name + ".secret") +
              "' is not base64 (it should hold the secret line of tsig-keygen's output)");
  }
}
