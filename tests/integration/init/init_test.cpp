// `stsctl init --from-dns` against hand-made setups on the real PowerDNS,
// BIND and nginx of the test suite, resolved through unbound as on an
// operator's host (tests/support/resolver_env.h; runs in its own network
// namespace). The written config must reproduce what is live: plan then
// changes nothing where the live policy file is canonical (the live id is
// adopted as it is), and only the _mta-sts id where it is not.

#include "policy/policy.h"
#include "support/resolver_env.h"
#include "support/support.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

using namespace stsctl::test;

namespace {

/// stdout then stderr.
std::string output(const CommandResult& result) { return result.out + result.err; }

/// The providers, publish and state part of the environment's config.
std::string environment_tail(const ResolverEnv& env) {
  std::string full = env.config("");
  return full.substr(full.find("providers:\n"));
}

/// zone -> the "<action> <name> <type>" changes plan would make there.
std::map<std::string, std::vector<std::string>> plan_changes(const nlohmann::json& plan) {
  std::map<std::string, std::vector<std::string>> changes;
  for (const auto& zone : plan["zones"]) {
    auto& list = changes[zone["zone"].get<std::string>()];
    for (const auto& change : zone["changes"]) {
      list.push_back(change["action"].get<std::string>() + " " + change["name"].get<std::string>() + " " +
                     change["type"].get<std::string>());
    }
  }
  return changes;
}

const std::string k_now = "2026-12-01T00:00:00Z";

}  // namespace

TEST_CASE("init --from-dns reproduces hand-made setups on PowerDNS and BIND; plan adopts the ids") {
  // BIND: a policy domain whose policy file has LF line endings (not canonical).
  const std::string b = ResolverEnv::bind_zone("hand");
  ResolverEnv env({{b,
                    "@ 3600 IN MX 10 mail\nmail IN A 127.0.0.1\n"
                    "_mta-sts 3600 IN TXT \"v=STSv1; id=2024b\"\n"
                    "_smtp._tls 3600 IN TXT \"v=TLSRPTv1; rua=mailto:tls@" +
                        b +
                        "\"\n"
                        "mta-sts 3600 IN A 127.0.0.1\n"}});
  // PowerDNS: a policy domain p (canonical file, CAA, two rua) and its alias q.
  const std::string p = env.create_pdns_zone("hand");
  env.pdns().replace_records(
      p, {{"@", "MX", {"10 mail." + p + ".", "20 b.mx." + p + "."}},
          {"_mta-sts", "TXT", {"\"v=STSv1; id=20240101\""}},
          {"_smtp._tls", "TXT", {"\"v=TLSRPTv1; rua=mailto:tlsrpt@" + p + ",https://reports." + p + "/v1\""}},
          {"mta-sts", "A", {"127.0.0.1"}},
          {"mta-sts", "CAA", {"0 issue \"letsencrypt.org\""}}});
  const std::string q = env.create_pdns_zone("alias");
  env.pdns().replace_records(q, {{"_mta-sts", "CNAME", {"_mta-sts." + p + "."}},
                                 {"_smtp._tls", "CNAME", {"_smtp._tls." + p + "."}},
                                 {"mta-sts", "CNAME", {"mta-sts." + p + "."}}});
  const std::string p_policy = stsctl::policy_text(
      stsctl::make_policy(stsctl::PolicyMode::Enforce, 604800, {"mail." + p, "*.mx." + p}));
  env.write_policy(p, p_policy);
  env.write_policy(q, p_policy);  // the alias's host serves the same file
  env.write_policy(b, "version: STSv1\nmode: testing\nmx: mail." + b + "\nmax_age: 86400\n");
  env.serve({"mta-sts." + p, "mta-sts." + q, "mta-sts." + b});

  const std::string pdns_config = env.dir() + "/pdns.yaml";
  auto init = run_stsctl(
      {"-c", pdns_config, "init", "--from-dns", q, p, "--provider", "pdns", "--ca-file", env.ca_file()});
  INFO(output(init));
  REQUIRE(init.exit_code == 0);
  CHECK(init.out ==
        "wrote " + pdns_config +
            ": 2 domains (1 alias) as published; add your DNS provider under providers:, then run "
            "`stsctl plan`\n");
  CHECK(init.err == "note: " + p + ": live id 20240101: plan shows how stsctl adopts it\n");
  const std::string written = read_file(pdns_config);
  CHECK(written == "# Written by `stsctl init --from-dns " + q + " " + p +
                       "` from live DNS and HTTPS.\n"
                       "# What these domains publish today. TTLs cannot be read reliably through a\n"
                       "# resolver: set ttl to your zone's (plan shows any TTL it would change).\n"
                       "version: 1\ndefaults:\n  ttl: 3600\n  provider: \"pdns\"\ndomains:\n"
                       "  " +
                       q + ": {alias_of: " + p +
                       "}\n"
                       "  " +
                       p +
                       ":\n"
                       "    mx: [\"*.mx." +
                       p + "\", \"mail." + p +
                       "\"]\n"
                       "    policy: {mode: enforce, max_age: 604800}\n"
                       "    tlsrpt: {rua: [\"mailto:tlsrpt@" +
                       p + "\", \"https://reports." + p +
                       "/v1\"]}\n"
                       "    policy_host: {ipv4: [\"127.0.0.1\"]}\n"
                       "    caa:\n      - {tag: \"issue\", value: \"letsencrypt.org\"}\n"
                       "# providers:   # the DNS server plan and apply read and write; see stsctl.yaml(5)\n"
                       "#   NAME: {type: powerdns, url: \"http://127.0.0.1:8081\", api_key_file: pdns.key}\n"
                       "#   NAME: {type: rfc2136, server: \"ns1.example.net:53\",\n"
                       "#          tsig: {name: KEY, algorithm: hmac-sha256, secret_file: tsig.secret}}\n"
                       "# publish: {webroot: /var/www/mta-sts}   # where the policy files are served from\n");

  // With the provider and web root filled in, plan touches nothing but the
  // adopted id: MX, CAA, TLS-RPT, the host address and the alias CNAMEs stay.
  write_file(pdns_config, written + environment_tail(env));
  auto validate = run_stsctl({"-c", pdns_config, "validate"});
  INFO(output(validate));
  CHECK(validate.exit_code == 0);
  auto plan = run_stsctl({"-c", pdns_config, "--now", k_now, "--json", "plan"});
  INFO(output(plan));
  REQUIRE(plan.exit_code == 0);
  auto plan_json = nlohmann::json::parse(plan.out);
  // The live file is canonical: the live id stays, nothing changes.
  CHECK(plan_changes(plan_json) == std::map<std::string, std::vector<std::string>>{{p, {}}, {q, {}}});
  CHECK(plan_json["policy_files"].empty());
  CHECK(plan_json["id_bumps"].empty());
  CHECK(plan_json["notices"] ==
        nlohmann::json::array(
            {p + ": adopting live id 20240101 as it is: the live policy file is the canonical policy"}));

  // BIND, in LF form: the note says why the file (and so the id) changes.
  const std::string bind_config = env.dir() + "/bind.yaml";
  init = run_stsctl(
      {"-c", bind_config, "init", "--from-dns", b, "--provider", "bind", "--ca-file", env.ca_file()});
  INFO(output(init));
  REQUIRE(init.exit_code == 0);
  CHECK(init.err ==
        "note: " + b +
            ": the live policy file is not in canonical form (LF line endings where RFC 8461 "
            "section 3.2 has CRLF): apply serves the canonical bytes, and new bytes take a new id\n"
            "note: " +
            b + ": live id 2024b: plan shows how stsctl adopts it\n");
  write_file(bind_config, read_file(bind_config) + environment_tail(env));
  plan = run_stsctl({"-c", bind_config, "--now", k_now, "--json", "plan"});
  INFO(output(plan));
  REQUIRE(plan.exit_code == 0);
  plan_json = nlohmann::json::parse(plan.out);
  CHECK(plan_changes(plan_json) ==
        std::map<std::string, std::vector<std::string>>{{b, {"update _mta-sts." + b + ". TXT"}}});
  REQUIRE(plan_json["policy_files"].size() == 1);
  CHECK(plan_json["policy_files"][0]["action"] == "update");
  REQUIRE(plan_json["id_bumps"].size() == 1);
  const std::string new_id = plan_json["id_bumps"][0]["to"].get<std::string>();
  CHECK(plan_json["notices"] ==
        nlohmann::json::array({b + ": adopting live id 2024b → " + new_id +
                               " (the live policy file differs from the canonical policy)"}));

  // apply keeps everything a sender sees, the id included, and records it:
  // the next plan has nothing to adopt.
  auto apply = run_stsctl({"-c", pdns_config, "--now", k_now, "apply", "--yes"});
  INFO(output(apply));
  REQUIRE(apply.exit_code == 0);
  CHECK(env.live_id(p) == "20240101");
  CHECK(env.live_id(q) == "20240101");
  plan = run_stsctl({"-c", pdns_config, "--now", k_now, "--json", "plan"});
  INFO(output(plan));
  REQUIRE(plan.exit_code == 0);
  plan_json = nlohmann::json::parse(plan.out);
  CHECK(plan_json["notices"].empty());
  CHECK(plan_json["id_bumps"].empty());
  CHECK(plan_changes(plan_json) == std::map<std::string, std::vector<std::string>>{{p, {}}, {q, {}}});
  auto mx = env.dig(p, "MX");
  std::sort(mx.begin(), mx.end());
  CHECK(mx == std::vector<std::string>{"10 mail." + p + ".", "20 b.mx." + p + "."});
  CHECK(env.dig("mta-sts." + p, "CAA") == std::vector<std::string>{"0 issue \"letsencrypt.org\""});
  CHECK(env.fetch_policy(p).body == p_policy);
}

TEST_CASE("init --from-dns refuses what it cannot reproduce, and writes nothing") {
  ResolverEnv env;
  const std::string empty = env.create_pdns_zone("empty", {{"@", "TXT", {"\"hello\""}}});
  const std::string unserved = env.create_pdns_zone("unserved");
  env.pdns().replace_records(unserved,
                             {{"_mta-sts", "TXT", {"\"v=STSv1; id=1\""}}, {"mta-sts", "A", {"127.0.0.1"}}});
  env.serve(
      {std::string("mta-sts.other.pdns.test")});  // nginx up, without a certificate for mta-sts.<unserved>
  const std::string config = env.dir() + "/new.yaml";

  auto init = run_stsctl(
      {"-c", config, "init", "--from-dns", empty, unserved, "--ca-file", env.ca_file(), "--timeout", "5"});
  INFO(output(init));
  CHECK(init.exit_code == 1);
  CHECK(init.out.empty());
  CHECK_THAT(init.err, Catch::StartsWith("stsctl: failed to adopt '" + empty +
                                         "' (no MX records and no _mta-sts TXT: nothing to adopt); check the "
                                         "name\nstsctl: failed to fetch 'https://mta-sts." +
                                         unserved + "/.well-known/mta-sts.txt' ("));
  CHECK_THAT(init.err,
             Catch::EndsWith("): init reproduces the live policy, so https://mta-sts." + unserved +
                             " must serve it with a valid certificate (--ca-file for a private CA)\n"));
  CHECK_FALSE(file_exists(config));

  write_file(config, "version: 1\n");
  init = run_stsctl({"-c", config, "init", "--from-dns", "example.net"});
  CHECK(init.exit_code == 1);
  CHECK(init.err ==
        "stsctl: failed to write '" + config +
            "' (it exists; init never overwrites a config): pass -c with a new file name, or move "
            "it away\n");
  CHECK(read_file(config) == "version: 1\n");
  init = run_stsctl({"-c", env.dir() + "/other.yaml", "init", "--from-dns", "bad_name.example"});
  CHECK(init.exit_code == 1);
  CHECK(
      init.err ==
      "stsctl: init: --from-dns 'bad_name.example' is not a domain name: label 'bad_name' has '_' (letters, "
      "digits and '-' only)\n");
}
