// End-to-end deployment scenarios as an operator's host sees them (issue 10):
// every name is resolved through a real unbound whose stub zones point at the
// test PowerDNS (*.pdns.test) and BIND (*.bind.test), and every policy host is
// the nginx on 127.0.0.1:443 it resolves to. No connect_to anywhere: what
// stsctl verifies, and what curl and Debian's mta-sts-query fetch, is what a
// sender would get. Runs only inside its own network + mount namespace
// (tests/support/in_netns.sh; CMake wires it). Time travels with --now.

#include "support/dovecot_server.h"
#include "support/resolver_env.h"
#include "support/smtp_server.h"
#include "support/support.h"
#include "support/tlsrpt_report.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <regex>
#include <sstream>

using namespace stsctl::test;

namespace {

/// stdout then stderr, each line intact.
std::string output(const CommandResult& result) {
  if (result.out.empty() || result.out.back() == '\n') {
    return result.out + result.err;
  }
  return result.out + "\n" + result.err;
}

/// The SOA serial of `zone` as resolved; 0 when there is none.
unsigned long soa_serial(const ResolverEnv& env, const std::string& zone) {
  auto answers = env.dig(zone, "SOA");
  if (answers.empty()) {
    return 0;
  }
  std::istringstream fields(answers.front());
  std::string mname, rname;
  unsigned long serial = 0;
  fields >> mname >> rname >> serial;
  return serial;
}

/// The first line of `text` that starts with `prefix`; "" when none.
std::string line_starting(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) {
      return line;
    }
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// A warning line about a --now earlier than the state's latest time: it
/// names --now or says earlier/before/backwards/in the past.
bool has_time_warning(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("warning") == std::string::npos) {
      continue;
    }
    for (const char* word : {"--now", "earlier", "before", "backwards", "in the past"}) {
      if (line.find(word) != std::string::npos) {
        return true;
      }
    }
  }
  return false;
}

using Lines = std::vector<std::string>;

const std::string k_tlsrpt = "\"v=TLSRPTv1; rua=mailto:tlsrpt@example.net\"";

/// The id the real client accepted, from mta-sts-query's printed result
/// `(<STSFetchResult.VALID: 1>, ('<id>', {...}))`; "" unless VALID.
std::string accepted_id(const CommandResult& query) {
  static const std::regex k_valid(R"(STSFetchResult\.VALID[^(]*\('([A-Za-z0-9]+)')");
  std::smatch match;
  return std::regex_search(query.out, match, k_valid) ? std::string(match[1]) : std::string();
}

const std::string k_stages =
    "rollout:\n  gates: {starttls: false}\n  stages:\n"
    "    - {mode: testing, max_age: 86400, hold: 7d}\n"
    "    - {mode: enforce, max_age: 604800, hold: 14d}\n"
    "    - {mode: enforce, max_age: 31557600}\n";

/// Zone-file lines for a BIND zone: apex MX to mail.<zone>.
std::string bind_mx() { return "@ IN MX 10 mail\nmail IN A 127.0.0.1\n"; }

// mta-sts.D answers 200 over verified HTTPS with a policy of this mode and
// max_age (RFC 8461 section 3.2: CRLF-terminated key: value lines).
void check_served_policy(const ResolverEnv& env, const std::string& domain, const std::string& mode,
                         const std::string& max_age) {
  PolicyFetch fetch = env.fetch_policy(domain);
  INFO("mta-sts." << domain << " served: " << fetch.body);
  CHECK(fetch.status == 200);
  CHECK(contains(fetch.body, "mode: " + mode + "\r\n"));
  CHECK(contains(fetch.body, "max_age: " + max_age + "\r\n"));
}

}  // namespace

TEST_CASE("e2e (a): one apply publishes a brand-new domain on each provider; mta-sts-query accepts it") {
  const std::string b = ResolverEnv::bind_zone("fresh");
  ResolverEnv env({{b, bind_mx()}});
  const std::string p = env.create_pdns_zone("fresh");
  env.serve({"mta-sts." + p, "mta-sts." + b});
  env.write_config(env.config("  " + p + ": {mx: [mail." + p + "]}\n  " + b + ": {mx: [mail." + b +
                              "], provider: bind}\n"));
  const std::string now = "2026-12-01T00:00:00Z";

  // Nothing of it exists yet for a sender.
  CHECK(env.dig_rcode("mta-sts." + p, "A") == "NXDOMAIN");
  CHECK(env.dig_rcode("_mta-sts." + b, "TXT") == "NXDOMAIN");
  auto plan = env.stsctl(now, {"plan", "--detailed-exitcode"});
  INFO("plan: " << output(plan));
  CHECK(plan.exit_code == 2);

  // ONE apply: verification cannot go through DNS (mta-sts.D does not
  // resolve yet); it must use the configured address 127.0.0.1. Then one
  // push per zone: PowerDNS (soa_edit_api) and BIND bump the serial by one
  // per PATCH / UPDATE.
  const unsigned long serial_p = soa_serial(env, p);
  const unsigned long serial_b = soa_serial(env, b);
  REQUIRE(serial_p != 0);
  REQUIRE(serial_b != 0);
  auto apply = env.stsctl(now, {"apply", "--yes"});
  INFO("apply: " << output(apply));
  REQUIRE(apply.exit_code == 0);
  CHECK(soa_serial(env, p) == serial_p + 1);
  CHECK(soa_serial(env, b) == serial_b + 1);

  for (const auto& domain : {p, b}) {
    INFO("domain " << domain);
    CHECK(env.dig("_mta-sts." + domain, "TXT") == Lines{"\"v=STSv1; id=20261201000000\""});
    CHECK(env.dig("mta-sts." + domain, "A") == Lines{"127.0.0.1"});
    CHECK(env.dig("_smtp._tls." + domain, "TXT") == Lines{k_tlsrpt});
    PolicyFetch fetch = env.fetch_policy(domain);
    INFO("curl: " << fetch.error);
    CHECK(fetch.exit_code == 0);
    CHECK(fetch.status == 200);
    CHECK(fetch.content_type.rfind("text/plain", 0) == 0);
    CHECK(fetch.body == "version: STSv1\r\nmode: testing\r\nmx: mail." + domain + "\r\nmax_age: 86400\r\n");
    CommandResult query = env.mta_sts_query(domain);
    INFO("mta-sts-query: " << query.out << query.err);
    CHECK(query.exit_code == 0);
    CHECK(accepted_id(query) == "20261201000000");
  }

  auto replan = env.stsctl("2026-12-01T00:10:00Z", {"plan", "--detailed-exitcode"});
  INFO("plan after: " << output(replan));
  CHECK(replan.exit_code == 0);

  // check, as a sender's host would: every name through the system resolver
  // (unbound), the policy fetched from the address DNS gave, by its name.
  // No MX listens here: SMTP is left out.
  auto check =
      env.stsctl("2026-12-01T00:10:00Z", {"--json", "check", "--no-smtp", "--ca-file", env.ca_file()});
  INFO("check: " << output(check));
  CHECK(check.exit_code == 0);
  auto report = nlohmann::json::parse(check.out);
  REQUIRE(report["domains"].size() == 2);
  for (const auto& domain : report["domains"]) {
    INFO("domain " << domain["domain"]);
    std::map<std::string, std::string> status;
    for (const auto& finding : domain["findings"]) {
      status[finding["check"].get<std::string>()] = finding["status"].get<std::string>();
      if (finding["check"] == "policy.fetch") {
        CHECK(contains(finding["message"].get<std::string>(), "answers 200 (from 127.0.0.1:443)"));
      }
    }
    for (const char* name : {"sts.record", "tlsrpt.record", "policy_host.dns", "policy.certificate",
                             "policy.fetch", "policy.syntax", "policy.mx_coverage"}) {
      CHECK(status[name] == "pass");
    }
  }
}

TEST_CASE("e2e (b): a full rollout testing -> enforce -> a year, as senders fetch it") {
  ResolverEnv env;
  const std::string d = env.create_pdns_zone("roll");
  // The MX host resolves (through unbound) to an Exim with STARTTLS on
  // 127.0.0.1:25, so promote's STARTTLS gate looks it up and connects as a
  // sender would.
  env.pdns().replace_records(d, {{"mail", "A", {"127.0.0.1"}}});
  SmtpServerOptions smtp_options;
  smtp_options.hostname = "mail." + d;
  smtp_options.port = 25;
  SmtpServer smtp(env.ca(), smtp_options);
  env.serve({"mta-sts." + d});
  const std::string rollout = "rollout:\n  gates: {starttls: true, ca_file: \"" + env.ca_file() +
                              "\", timeout: 10}\n  stages:\n"
                              "    - {mode: testing, max_age: 86400, hold: 7d}\n"
                              "    - {mode: enforce, max_age: 604800, hold: 14d}\n"
                              "    - {mode: enforce, max_age: 31557600}\n";
  env.write_config(env.config("  " + d + ": {mx: [mail." + d + "]}\n", rollout));

  auto day0 = env.stsctl("2027-01-01T00:00:00Z", {"apply", "--yes"});
  INFO("day 0: " << output(day0));
  REQUIRE(day0.exit_code == 0);
  const std::string id0 = env.live_id(d);
  CHECK(id0 == "20270101000000");
  check_served_policy(env, d, "testing", "86400");

  auto early = env.stsctl("2027-01-05T00:00:00Z", {"promote", "--yes"});
  INFO("day 4: " << output(early));
  CHECK(early.exit_code == 0);
  CHECK(env.live_id(d) == id0);

  auto day7 = env.stsctl("2027-01-08T00:00:00Z", {"promote", "--yes"});
  INFO("day 7: " << output(day7));
  REQUIRE(day7.exit_code == 0);
  const std::string id1 = env.live_id(d);
  CHECK(id1 == "20270108000000");
  check_served_policy(env, d, "enforce", "604800");
  CHECK(accepted_id(env.mta_sts_query(d)) == id1);

  auto day8 = env.stsctl("2027-01-09T00:00:00Z", {"promote", "--yes"});
  INFO("day 8: " << output(day8));
  CHECK(day8.exit_code == 0);
  CHECK(env.live_id(d) == id1);  // the next hold starts when stage 2 went live

  auto day21 = env.stsctl("2027-01-22T00:00:00Z", {"promote", "--yes"});
  INFO("day 21: " << output(day21));
  REQUIRE(day21.exit_code == 0);
  CHECK(env.live_id(d) == "20270122000000");
  check_served_policy(env, d, "enforce", "31557600");
  CommandResult query = env.mta_sts_query(d);
  INFO("mta-sts-query: " << query.out << query.err);
  CHECK(accepted_id(query) == "20270122000000");
  CHECK(contains(query.out, "31557600"));

  auto plan = env.stsctl("2027-01-23T00:00:00Z", {"plan", "--detailed-exitcode"});
  INFO("plan: " << output(plan));
  CHECK(plan.exit_code == 0);
}

TEST_CASE("e2e (c): aliases across providers are CNAMEs that resolve to the primary's records") {
  const std::string b_alias = ResolverEnv::bind_zone("alias");
  const std::string b_primary = ResolverEnv::bind_zone("prim");
  ResolverEnv env({{b_alias, bind_mx()}, {b_primary, bind_mx()}});
  const std::string p_primary = env.create_pdns_zone("prim");
  const std::string p_alias = env.create_pdns_zone("alias");
  env.serve({"mta-sts." + p_primary, "mta-sts." + b_alias, "mta-sts." + b_primary, "mta-sts." + p_alias});
  env.write_config(env.config("  " + p_primary + ": {mx: [mail." + p_primary + "]}\n  " + b_alias +
                              ": {alias_of: " + p_primary + ", provider: bind}\n  " + b_primary +
                              ": {mx: [mail." + b_primary + "], provider: bind}\n  " + p_alias +
                              ": {alias_of: " + b_primary + "}\n"));

  auto apply = env.stsctl("2027-02-01T00:00:00Z", {"apply", "--yes"});
  INFO("apply: " << output(apply));
  REQUIRE(apply.exit_code == 0);

  for (const auto& [alias, primary] : {std::pair{b_alias, p_primary}, std::pair{p_alias, b_primary}}) {
    INFO("alias " << alias << " of " << primary);
    const std::string id = env.live_id(primary);
    CHECK(id == "20270201000000");
    CHECK(env.dig("_mta-sts." + alias, "TXT") ==
          Lines{"_mta-sts." + primary + ".", "\"v=STSv1; id=" + id + "\""});
    CHECK(env.dig("_smtp._tls." + alias, "TXT") == Lines{"_smtp._tls." + primary + ".", k_tlsrpt});
    CHECK(env.dig("mta-sts." + alias, "A") == Lines{"mta-sts." + primary + ".", "127.0.0.1"});
    PolicyFetch alias_policy = env.fetch_policy(alias);
    PolicyFetch primary_policy = env.fetch_policy(primary);
    INFO("curl: " << alias_policy.error << primary_policy.error);
    CHECK(alias_policy.status == 200);
    CHECK(primary_policy.status == 200);
    CHECK(alias_policy.body == primary_policy.body);
    CommandResult query = env.mta_sts_query(alias);
    INFO("mta-sts-query: " << query.out << query.err);
    CHECK(accepted_id(query) == id);
  }

  auto plan = env.stsctl("2027-02-01T00:10:00Z", {"plan", "--detailed-exitcode"});
  INFO("plan: " << output(plan));
  CHECK(plan.exit_code == 0);
}

TEST_CASE("e2e (d): retiring an adopted hand-made enforce policy with an empty state waits out its max_age") {
  ResolverEnv env;
  const std::string d = env.create_pdns_zone("hand");  // apex MX mail.<zone>
  env.pdns().replace_records(d, {{"_mta-sts", "TXT", {"\"v=STSv1; id=210803\""}},
                                 {"mta-sts", "A", {"127.0.0.1"}},
                                 {"_smtp._tls", "TXT", {"\"v=TLSRPTv1; rua=mailto:tlsrpt@example.net\""}}});
  env.write_policy(d, "version: STSv1\r\nmode: enforce\r\nmx: mail." + d + "\r\nmax_age: 604800\r\n");
  env.serve({"mta-sts." + d});
  REQUIRE(env.live_id(d) == "210803");
  REQUIRE(contains(env.fetch_policy(d).body, "mode: enforce"));
  env.write_config(env.config("  " + d + ": {mx: [mail." + d + "], retire: true}\n"));

  static const std::regex k_adopting("adopting live id 210803 (?:→|->) ([A-Za-z0-9]+)");
  const std::string prefix = d + ": adopting live id 210803 ";
  auto plan = env.stsctl("2027-03-01T00:00:00Z", {"plan"});
  INFO("plan: " << output(plan));
  CHECK(contains(output(plan), prefix));

  auto apply = env.stsctl("2027-03-01T00:00:00Z", {"apply", "--yes"});
  INFO("apply: " << output(apply));
  REQUIRE(apply.exit_code == 0);
  CHECK(contains(output(apply), prefix));
  std::smatch match;
  std::string text = output(apply);
  REQUIRE(std::regex_search(text, match, k_adopting));
  const std::string adopted = match[1];
  CHECK(adopted != "210803");
  CHECK(env.live_id(d) == adopted);
  PolicyFetch none = env.fetch_policy(d);
  CHECK(none.status == 200);
  CHECK(contains(none.body, "mode: none\r\n"));

  // Senders may hold the hand-made enforce policy (max_age 604800) until a
  // week after mode none went live: 2027-03-08.
  auto plan1 = env.stsctl("2027-03-02T00:00:00Z", {"plan"});
  INFO("plan day 1: " << output(plan1));
  CHECK(contains(output(plan1), "2027-03-08"));
  auto day1 = env.stsctl("2027-03-02T00:00:00Z", {"apply", "--yes"});
  INFO("apply day 1: " << output(day1));
  CHECK(day1.exit_code == 0);
  CHECK(env.live_id(d) == adopted);
  CHECK(env.dig("mta-sts." + d, "A") == Lines{"127.0.0.1"});

  auto day8 = env.stsctl("2027-03-09T00:00:00Z", {"apply", "--yes"});
  INFO("apply day 8: " << output(day8));
  CHECK(day8.exit_code == 0);
  CHECK(env.dig_rcode("_mta-sts." + d, "TXT") == "NXDOMAIN");
  CHECK(env.dig("mta-sts." + d, "A").empty());
  CHECK(env.dig("_smtp._tls." + d, "TXT").empty());
  CHECK(env.dig(d, "MX") == Lines{"10 mail." + d + "."});  // not stsctl's

  auto after = env.stsctl("2027-03-10T00:00:00Z", {"plan", "--detailed-exitcode"});
  INFO("plan after: " << output(after));
  CHECK(after.exit_code == 0);
}

TEST_CASE("e2e (e): an id chosen by render zone is still verified by apply before it is pushed") {
  ResolverEnv env;
  const std::string d = env.create_pdns_zone("render");
  NginxHost html("mta-sts." + d);
  html.content_type = "text/html";
  env.serve({html});
  env.write_config(env.config("  " + d + ": {mx: [mail." + d + "]}\n", k_stages));

  auto render = env.stsctl("2027-04-01T00:00:00Z", {"render", "zone"});
  INFO("render: " << output(render));
  REQUIRE(render.exit_code == 0);
  const std::string rendered = sts_id({render.out});
  REQUIRE(!rendered.empty());

  auto blocked = env.stsctl("2027-04-01T01:00:00Z", {"apply", "--yes"});
  INFO("apply (text/html): " << output(blocked));
  CHECK(blocked.exit_code == 3);
  std::string line = line_starting(output(blocked), "blocked (policy-not-live): " + d + ": ");
  CHECK(!line.empty());
  CHECK(contains(line, "Content-Type"));
  CHECK(env.live_id(d).empty());

  NginxHost plain("mta-sts." + d);
  env.serve({plain});
  auto apply = env.stsctl("2027-04-01T02:00:00Z", {"apply", "--yes"});
  INFO("apply (text/plain): " << output(apply));
  CHECK(apply.exit_code == 0);
  CHECK(env.live_id(d) == rendered);
  CHECK(accepted_id(env.mta_sts_query(d)) == rendered);

  // The stage hold counts from when the policy went live, not from render.
  auto status = env.stsctl("2027-04-01T03:00:00Z", {"status", "--json"});
  INFO("status: " << output(status));
  REQUIRE(status.exit_code == 0);
  bool seen = false;
  for (const auto& row : nlohmann::json::parse(status.out)) {
    if (row.value("domain", "") == d) {
      seen = true;
      CHECK(row.value("next_promotion", nlohmann::json()) == "2027-04-08T02:00:00Z");
    }
  }
  CHECK(seen);
  auto early = env.stsctl("2027-04-08T01:00:00Z", {"promote", "--yes"});
  INFO("promote before the hold: " << output(early));
  CHECK(env.live_id(d) == rendered);
}

TEST_CASE("e2e (f): a policy served as text/html is not live: its id is not pushed") {
  const std::string d = ResolverEnv::bind_zone("html");
  // The policy host's A record is already there (hand-made), so this does not
  // depend on how a fresh domain is verified.
  ResolverEnv env({{d, bind_mx() + "mta-sts IN A 127.0.0.1\n"}});
  env.serve({"mta-sts." + d});
  env.write_config(env.config("  " + d + ": {mx: [mail." + d + "], provider: bind}\n"));
  auto first = env.stsctl("2027-05-01T00:00:00Z", {"apply", "--yes"});
  INFO("first apply: " << output(first));
  REQUIRE(first.exit_code == 0);
  const std::string id0 = env.live_id(d);
  REQUIRE(!id0.empty());

  NginxHost html("mta-sts." + d);
  html.content_type = "text/html";
  env.serve({html});
  env.write_config(env.config("  " + d + ": {mx: [mail." + d + ", backup." + d + "], provider: bind}\n"));
  auto apply = env.stsctl("2027-05-02T00:00:00Z", {"apply", "--yes"});
  INFO("apply (text/html): " << output(apply));
  CHECK(apply.exit_code == 3);
  std::string line = line_starting(output(apply), "blocked (policy-not-live): " + d + ": ");
  CHECK(!line.empty());
  CHECK(contains(line, "Content-Type"));
  CHECK(env.live_id(d) == id0);
  CHECK(env.sts_record_count(d) == 1);
  // What a sender sees is consistent: the old id, and a policy it refuses.
  CommandResult query = env.mta_sts_query(d);
  CHECK(accepted_id(query).empty());

  NginxHost plain("mta-sts." + d);
  env.serve({plain});
  auto fixed = env.stsctl("2027-05-02T01:00:00Z", {"apply", "--yes"});
  INFO("apply (text/plain): " << output(fixed));
  CHECK(fixed.exit_code == 0);
  // The id decided by the blocked run (02T00) or by this one (02T01).
  const std::string id1 = env.live_id(d);
  CHECK((id1 == "20270502000000" || id1 == "20270502010000"));
  CHECK(accepted_id(env.mta_sts_query(d)) == id1);
}

TEST_CASE("e2e (g): plan shows an MX change the MX guard blocks, in text, json and markdown") {
  ResolverEnv env;
  const std::string d = env.create_pdns_zone("mxg");  // apex MX mail.<zone>
  env.pdns().replace_records(d, {{"mta-sts", "A", {"127.0.0.1"}}});
  env.serve({"mta-sts." + d});
  env.write_config(
      env.config("  " + d + ": {mx: [mail." + d + "], policy: {mode: enforce, max_age: 604800}}\n"));
  auto first = env.stsctl("2027-06-01T00:00:00Z", {"apply", "--yes"});
  INFO("first apply: " << output(first));
  REQUIRE(first.exit_code == 0);
  const std::string id0 = env.live_id(d);
  REQUIRE(!id0.empty());

  // The new enforce policy would not cover the live MX host mail.D.
  env.write_config(
      env.config("  " + d + ": {mx: [other." + d + "], policy: {mode: enforce, max_age: 604800}}\n"));
  const std::string now = "2027-06-02T00:00:00Z";
  const std::string prefix = "blocked (mx-coverage): " + d + ": ";

  auto text = env.stsctl(now, {"plan", "--detailed-exitcode"});
  INFO("plan text: " << output(text));
  CHECK(text.exit_code == 3);
  CHECK(!line_starting(text.out, prefix).empty());

  auto json = env.stsctl(now, {"plan", "--format", "json", "--detailed-exitcode"});
  INFO("plan json: " << output(json));
  CHECK(json.exit_code == 3);
  auto parsed = nlohmann::json::parse(json.out, nullptr, false);
  REQUIRE(!parsed.is_discarded());
  REQUIRE(parsed.contains("blocked"));
  REQUIRE(parsed["blocked"].is_array());
  REQUIRE(!parsed["blocked"].empty());
  CHECK(parsed["blocked"][0].value("domain", "") == d);
  CHECK(parsed["blocked"][0].value("guard", "") == "mx-coverage");

  auto markdown = env.stsctl(now, {"plan", "--format", "markdown", "--detailed-exitcode"});
  INFO("plan markdown: " << output(markdown));
  CHECK(markdown.exit_code == 3);
  CHECK(contains(markdown.out, "| " + d + " | mx-coverage | id "));

  auto apply = env.stsctl(now, {"apply", "--yes"});
  INFO("apply: " << output(apply));
  CHECK(apply.exit_code == 3);
  CHECK(env.live_id(d) == id0);
}

TEST_CASE("e2e (h): promote alone finishes a due retirement; time never runs backwards") {
  const std::string d = ResolverEnv::bind_zone("retire");
  ResolverEnv env({{d, bind_mx() + "mta-sts IN A 127.0.0.1\n"}});
  env.serve({"mta-sts." + d});
  env.write_config(env.config("  " + d + ": {mx: [mail." + d + "], provider: bind}\n", k_stages));
  auto day0 = env.stsctl("2027-07-01T00:00:00Z", {"apply", "--yes"});
  INFO("day 0: " << output(day0));
  REQUIRE(day0.exit_code == 0);
  const std::string id0 = env.live_id(d);
  REQUIRE(!id0.empty());

  env.write_config(
      env.config("  " + d + ": {mx: [mail." + d + "], provider: bind, retire: true}\n", k_stages));
  auto day1 = env.stsctl("2027-07-02T00:00:00Z", {"apply", "--yes"});
  INFO("day 1 (retire): " << output(day1));
  REQUIRE(day1.exit_code == 0);
  const std::string id1 = env.live_id(d);
  CHECK(id1 == "20270702000000");
  CHECK(contains(env.fetch_policy(d).body, "mode: none\r\n"));

  // The testing policy (max_age one day) may be cached until 2027-07-03.
  auto day2 = env.stsctl("2027-07-02T12:00:00Z", {"promote", "--yes"});
  INFO("day 1.5: " << output(day2));
  CHECK(day2.exit_code == 0);
  CHECK(env.live_id(d) == id1);

  auto day3 = env.stsctl("2027-07-04T00:00:00Z", {"promote", "--yes"});
  INFO("day 3 (promote): " << output(day3));
  CHECK(day3.exit_code == 0);
  CHECK(env.dig_rcode("_mta-sts." + d, "TXT") == "NXDOMAIN");
  CHECK(env.dig("mta-sts." + d, "A").empty());
  CHECK(env.dig("_smtp._tls." + d, "TXT").empty());

  // A run that claims a time before anything in the state warns (about the
  // time, not only the retirement) and does not bring the records back.
  auto back = env.stsctl("2027-06-30T00:00:00Z", {"apply", "--yes"});
  INFO("apply in the past: " << output(back));
  CHECK(has_time_warning(output(back)));
  CHECK(env.dig_rcode("_mta-sts." + d, "TXT") == "NXDOMAIN");
  CHECK(env.dig("mta-sts." + d, "A").empty());

  auto plan = env.stsctl("2027-07-05T00:00:00Z", {"plan", "--detailed-exitcode"});
  INFO("plan: " << output(plan));
  CHECK(plan.exit_code == 0);
}

TEST_CASE("e2e (i): a hand-made setup is adopted: plan and apply say so and the new id differs") {
  const std::string d = ResolverEnv::bind_zone("adopt");
  ResolverEnv env({{d, bind_mx() + "_mta-sts IN TXT \"v=STSv1; id=210803\"\nmta-sts IN A 127.0.0.1\n"}});
  env.write_policy(d, "version: STSv1\r\nmode: testing\r\nmx: mail." + d + "\r\nmax_age: 604800\r\n");
  env.serve({"mta-sts." + d});
  REQUIRE(env.live_id(d) == "210803");
  env.write_config(env.config("  " + d + ": {mx: [mail." + d + "], provider: bind}\n"));

  static const std::regex k_adopting("adopting live id 210803 (?:→|->) ([A-Za-z0-9]+)");
  const std::string prefix = d + ": adopting live id 210803 ";
  auto plan = env.stsctl("2027-08-01T00:00:00Z", {"plan", "--detailed-exitcode"});
  INFO("plan: " << output(plan));
  CHECK(plan.exit_code == 2);
  CHECK(contains(output(plan), prefix));

  auto apply = env.stsctl("2027-08-01T00:00:00Z", {"apply", "--yes"});
  INFO("apply: " << output(apply));
  REQUIRE(apply.exit_code == 0);
  CHECK(contains(output(apply), prefix));
  std::smatch match;
  const std::string text = output(apply);
  REQUIRE(std::regex_search(text, match, k_adopting));
  const std::string adopted = match[1];
  CHECK(adopted != "210803");
  CHECK(env.live_id(d) == adopted);
  CHECK(env.sts_record_count(d) == 1);
  CHECK(accepted_id(env.mta_sts_query(d)) == adopted);

  auto after = env.stsctl("2027-08-01T00:10:00Z", {"plan", "--detailed-exitcode"});
  INFO("plan after: " << output(after));
  CHECK(after.exit_code == 0);
  CHECK(!contains(output(after), "adopting"));
}

TEST_CASE("e2e (j): a cname policy host is verified at its target's addresses before the first push") {
  const std::string b = ResolverEnv::bind_zone("cname");
  ResolverEnv env({{b, bind_mx()}});
  // The shared web host, hand-made in another zone.
  const std::string web = env.create_pdns_zone("web", {{"www", "A", {"127.0.0.1"}}});
  const std::string p = env.create_pdns_zone("cname");
  env.serve({"mta-sts." + b, "mta-sts." + p});
  const std::string host = "{cname: www." + web + "}";
  env.write_config(env.config("  " + b + ": {mx: [mail." + b + "], provider: bind, policy_host: " + host +
                              "}\n  " + p + ": {mx: [mail." + p + "], policy_host: " + host + "}\n"));

  auto apply = env.stsctl("2027-09-01T00:00:00Z", {"apply", "--yes"});
  INFO("apply: " << output(apply));
  REQUIRE(apply.exit_code == 0);
  for (const auto& domain : {b, p}) {
    INFO("domain " << domain);
    CHECK(env.dig("mta-sts." + domain, "A") == Lines{"www." + web + ".", "127.0.0.1"});
    CHECK(env.live_id(domain) == "20270901000000");
    PolicyFetch fetch = env.fetch_policy(domain);
    INFO("curl: " << fetch.error);
    CHECK(fetch.status == 200);
    CommandResult query = env.mta_sts_query(domain);
    INFO("mta-sts-query: " << query.out << query.err);
    CHECK(accepted_id(query) == "20270901000000");
  }
}

TEST_CASE("e2e (k): reports fetched from the mailbox by name hold promote until senders see the policy") {
  ResolverEnv env;
  const std::string d = env.create_pdns_zone("rpt");
  // The mailbox that receives the rua mail is imap.<d>, resolved through
  // unbound like any name; Dovecot listens on 127.0.0.1 only.
  env.pdns().replace_records(d, {{"imap", "A", {"127.0.0.1"}}});
  const std::string password = "e2e-Imap-Secret-41c9";
  DovecotServer dovecot(env.ca(), "reports", password, "imap." + d);
  env.serve({"mta-sts." + d});
  const std::string rollout =
      "rollout:\n  gates: {starttls: false, tlsrpt: {max_failure_rate: 0.01, min_sessions: 100}}\n"
      "  stages:\n"
      "    - {mode: testing, max_age: 86400, hold: 7d}\n"
      "    - {mode: enforce, max_age: 604800}\n";
  env.write_config(env.config("  " + d + ": {mx: [mail." + d + "]}\n", rollout));
  CHECK(env.dig("imap." + d, "A") == Lines{"127.0.0.1"});

  auto day0 = env.stsctl("2027-01-01T00:00:00Z", {"apply", "--yes"});
  INFO("day 0: " << output(day0));
  REQUIRE(day0.exit_code == 0);
  const std::string id0 = env.live_id(d);
  REQUIRE(id0 == "20270101000000");

  const std::string url = "imaps://reports@imap." + d + ":" + std::to_string(dovecot.port()) + "/INBOX";
  const std::map<std::string, std::string> secret{{"STSCTL_IMAP_PASSWORD", password}};
  auto fetch = [&](const std::string& now) {
    auto result = env.stsctl(now, {"report", "fetch", url, "--ca-file", env.ca_file()}, secret);
    CHECK(!contains(output(result), password));
    return result;
  };

  // Day 3: a sender fails 3 of 103 sessions (the MX certificate's name).
  TlsrptDay report;
  report.policy_domain = d;
  report.mx_host = "mail." + d;
  report.day = "2027-01-03";
  report.successful = 100;
  report.failed = 3;
  report.report_id = "e2e-1";
  report.failure_type = "certificate-host-mismatch";
  dovecot.deliver(tlsrpt_mail(report));
  auto first = fetch("2027-01-04T06:00:00Z");
  INFO("first fetch: " << output(first) << dovecot.log());
  REQUIRE(first.exit_code == 0);
  CHECK(first.out == "report fetch: 1 report from 1 input: 1 new, 0 already stored\n");
  auto failing = env.stsctl("2027-01-08T00:00:01Z", {"promote", "--yes"});
  INFO("day 7, failing: " << output(failing));
  CHECK(failing.exit_code == 3);
  CHECK(failing.out == d + ": stays (gate: TLS-RPT failure rate 2.9% (3 of 103 sessions) is above 1%)\n"
                           "promote: nothing to promote\n");
  CHECK(env.live_id(d) == id0);
  check_served_policy(env, d, "testing", "86400");

  // Day 5: 2,000 clean sessions under the policy that is published.
  const std::vector<std::string> published{"version: STSv1", "mode: testing", "mx: mail." + d,
                                           "max_age: 86400"};
  report.day = "2027-01-05";
  report.successful = 2000;
  report.failed = 0;
  report.policy_string = published;
  report.report_id = "e2e-2";
  dovecot.deliver(tlsrpt_mail(report));
  auto second = fetch("2027-01-08T00:00:02Z");
  INFO("second fetch: " << output(second));
  REQUIRE(second.exit_code == 0);
  CHECK(second.out == "report fetch: 1 report from 1 input: 1 new, 0 already stored\n");
  CHECK(dovecot.seen_count() == 2);
  auto pass = env.stsctl("2027-01-08T00:00:03Z", {"promote", "--yes"});
  INFO("day 7, passing: " << output(pass));
  REQUIRE(pass.exit_code == 0);
  CHECK(contains(pass.out, d + ": stage 1 -> 2 (mode enforce, max_age 604800)"));
  CHECK(env.live_id(d) == "20270108000003");
  check_served_policy(env, d, "enforce", "604800");
  CHECK(accepted_id(env.mta_sts_query(d)) == "20270108000003");
}
