#include "web/acme.h"

#include <catch2/catch.hpp>

#include "support/support.h"

using namespace stsctl;

TEST_CASE("render acme prints each client's format, aliases included (golden files)") {
  std::string config = test::source_path("tests/web/golden/acme/stsctl.yaml");
  for (const auto& client : acme_clients()) {
    INFO(client);
    auto result = test::run_stsctl({"-c", config, "render", "acme", "--client", client});
    CHECK(result.exit_code == 0);
    CHECK(result.err.empty());
    CHECK(result.out == test::read_file(test::source_path("tests/web/golden/acme/" + client + ".txt")));
  }
}

TEST_CASE("render acme refuses an unknown client") {
  CHECK_THROWS_WITH(
      render_acme("acme.sh", {"mta-sts.example.net"}),
      "unknown ACME client 'acme.sh' (allowed: certbot, dehydrated, acme-client, lego, mailcow)");
  auto result = test::run_stsctl({"-c", test::source_path("tests/web/golden/acme/stsctl.yaml"), "render",
                                  "acme", "--client", "acme.sh"});
  CHECK(result.exit_code != 0);
  CHECK(result.exit_code == 1);
  CHECK(result.err.find("stsctl: --client: acme.sh not in {certbot,dehydrated,acme-client,lego,mailcow}") !=
        std::string::npos);
}
