// The JSON Schema (draft 2020-12) in the repository is the generated one, every
// example and good config passes it, and the corpus configs whose error a
// schema can express fail it (checked with Debian's python3-jsonschema).
#include <catch2/catch.hpp>

#include "support/support.h"

using namespace stsctl;

namespace {

// Corpus configs with errors a schema cannot express (references between
// keys, duplicates, name syntax, semantics) are left out on purpose.
const char* const k_schema_rejects =
    "caa_bad_flags_and_value caa_bad_tag defaults_mx_and_rua_bang domain_is_string domains_empty "
    "domains_list "
    "empty_file id_format_invalid many_errors max_age_above max_age_below max_age_unit mode_invalid "
    "mx_is_string "
    "policy_host_ipv4_string policy_is_string powerdns_bad_url powerdns_inline_secret provider_missing_type "
    "provider_unknown_type publish_connect_to rfc2136_bad_server rollout_bad_hold rollout_empty "
    "rollout_gates_unknown_key rollout_gates_values rollout_stage_values root_is_list root_unknown_key "
    "state_is_list "
    "tsig_inline_secret tsig_sha384 ttl_below ttl_not_integer unknown_key_no_suggestion "
    "unknown_key_suggestion "
    "version_missing version_wrong";

const char* const k_validate = R"(
import glob, json, sys, yaml, jsonschema
root, rejects = sys.argv[1], sys.argv[2].split()
schema = json.load(open(root + "/stsctl.schema.json"))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
good = sorted(glob.glob(root + "/examples/*/stsctl.yaml")) + [root + "/tests/web/golden/acme/stsctl.yaml"]
for path in good:
    text = open(path).read()
    if "/examples/" in path and not text.startswith("# yaml-language-server: $schema=../../stsctl.schema.json\n"):
        print("no schema line:", path)
    for error in validator.iter_errors(yaml.safe_load(text)):
        print("rejected:", path, error.message)
for name in rejects:
    if validator.is_valid(yaml.safe_load(open(root + "/tests/config/corpus/" + name + ".yaml"))):
        print("accepted:", name)
)";

}  // namespace

TEST_CASE("stsctl.schema.json is what stsctl __schema generates") {
  auto result = test::run_stsctl({"__schema"});
  REQUIRE(result.exit_code == 0);
  CHECK(result.out == test::read_file(test::source_path("stsctl.schema.json")));
}

TEST_CASE("examples pass the schema and corpus configs with schema-expressible errors fail it") {
  REQUIRE(test::have_program("python3"));
  auto result = test::run_command({"python3", "-c", k_validate, test::source_path(""), k_schema_rejects});
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK(result.out == "");
}
