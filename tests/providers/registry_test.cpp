// The registry: one backend per config `type:`, and a clear error for a type
// this build does not have.

#include <catch2/catch.hpp>

#include "config/backend_schema.h"
#include "provider.h"

using namespace stsctl;

TEST_CASE("a provider type not built in is named with the types that are", "[providers][registry]") {
  std::string built_in;
  for (const auto& schema : backend_config_schemas()) {
    built_in += (built_in.empty() ? "" : ", ") + schema.type;
  }
  CHECK_THROWS_WITH(
      make_provider(ProviderConfig{"dns", "route53", nullptr}),
      "provider 'dns': failed to make a provider of type 'route53' (not built into this stsctl; "
      "built in: " +
          built_in + "): use a built-in type, or a stsctl built with that backend");
}
