// The PowerDNS provider against a real pdns_server (gsqlite3, HTTP API) on
// loopback: reads, atomic PATCHes checked by DNS query and by reading back,
// foreign records left alone, and every failure's message.

#include "powerdns/powerdns_provider.h"
#include "records/desired.h"
#include "support/fault_server.h"
#include "support/pdns_server.h"
#include "support/records_fixture.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <mutex>
#include <thread>

using namespace stsctl;
using stsctl::test::PdnsRecord;
using stsctl::test::PdnsServer;
using stsctl::test::rrset;

namespace {

// One server for the whole executable; tests use their own zones.
PdnsServer& server() {
  static PdnsServer instance;
  return instance;
}

std::vector<RRset> sorted(std::vector<RRset> sets) {
  for (auto& set : sets) {
    set.normalize();
  }
  std::sort(sets.begin(), sets.end(), canonical_less);
  return sets;
}

// The records stsctl would publish for domain == zone with a policy host.
std::vector<RRset> desired_for(const std::string& zone, const std::string& id = "20240101000000") {
  return sorted({
      rrset("_mta-sts." + zone + ".", RRType::TXT, {"v=STSv1; id=" + id}),
      rrset("_smtp._tls." + zone + ".", RRType::TXT, {"v=TLSRPTv1; rua=mailto:tlsrpt@example.net"}),
      rrset("mta-sts." + zone + ".", RRType::A, {"192.0.2.40"}),
      rrset("mta-sts." + zone + ".", RRType::AAAA, {"2001:db8::40"}),
      rrset("mta-sts." + zone + ".", RRType::CAA, {caa_value(0, "issue", "letsencrypt.org")}),
  });
}

ZoneReadResult read_one(Provider& provider, const std::string& zone) {
  auto results = provider.read_zones({ZoneQuery{zone, owned_rrsets(zone)}});
  REQUIRE(results.size() == 1);
  return results[0];
}

ZoneSnapshot read_ok(Provider& provider, const std::string& zone) {
  ZoneReadResult result = read_one(provider, zone);
  INFO((result.error ? result.error->what() : "no error"));
  REQUIRE_FALSE(result.error);
  CHECK(result.zone == zone);
  return result.snapshot;
}

ZonePlan plan_for(const std::string& zone, const std::vector<RRset>& desired, const ZoneSnapshot& live) {
  return make_zone_plan(zone, "pdns", desired, live, owned_rrsets(zone));
}

void apply_ok(Provider& provider, const ZonePlan& plan) {
  auto results = provider.apply_zones({plan});
  REQUIRE(results.size() == 1);
  INFO((results[0].error ? results[0].error->what() : "no error"));
  REQUIRE_FALSE(results[0].error);
}

// Plans from the live zone to `desired`, applies, and checks the re-read.
void converge(Provider& provider, const std::string& zone, const std::vector<RRset>& desired) {
  ZonePlan plan = plan_for(zone, desired, read_ok(provider, zone));
  REQUIRE_FALSE(plan.empty());
  apply_ok(provider, plan);
  CHECK(plan_for(zone, desired, read_ok(provider, zone)).empty());
}

struct LogCapture {
  std::mutex mutex;
  std::vector<std::string> lines;
  PowerdnsLog sink() {
    return [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mutex);
      lines.push_back(line);
    };
  }
  std::string all() {
    std::lock_guard<std::mutex> lock(mutex);
    std::string text;
    for (const auto& line : lines) {
      text += line + "\n";
    }
    return text;
  }
};

/// Whether the zone still holds the disabled "v=STSv1; id=disabled" record,
/// still disabled (the disabled-record tests seed it).
bool disabled_record_kept(const std::string& zone) {
  auto zone_json = nlohmann::json::parse(server().api("GET", "/zones/" + zone + ".").body);
  for (const auto& set : zone_json["rrsets"]) {
    for (const auto& record : set["records"]) {
      if (record["content"] == "\"v=STSv1; id=disabled\"") {
        return record["disabled"].get<bool>();
      }
    }
  }
  return false;
}

}  // namespace

TEST_CASE("reading an empty zone gives no owned records, its NS and no MX", "[powerdns]") {
  const std::string zone = PdnsServer::unique_zone();
  server().create_zone(zone);
  auto provider = make_powerdns_provider(server().provider_config());
  ZoneSnapshot live = read_ok(*provider, zone);
  CHECK(live.zone == zone);
  CHECK(live.owned.empty());
  CHECK(live.mx.empty());
  CHECK(live.nameservers == std::vector<std::string>{"ns1." + zone + "."});
}

TEST_CASE("apply creates the records, served by DNS and read back equal", "[powerdns]") {
  const std::string zone = PdnsServer::unique_zone();
  server().create_zone(zone);
  auto provider = make_powerdns_provider(server().provider_config());
  const auto desired = desired_for(zone);

  ZonePlan plan = plan_for(zone, desired, read_ok(*provider, zone));
  CHECK(plan.changes.size() == 5);
  apply_ok(*provider, plan);

  CHECK(server().query("_mta-sts." + zone, "TXT") ==
        std::vector<std::string>{"\"v=STSv1; id=20240101000000\""});
  CHECK(server().query("_smtp._tls." + zone, "TXT") ==
        std::vector<std::string>{"\"v=TLSRPTv1; rua=mailto:tlsrpt@example.net\""});
  CHECK(server().query("mta-sts." + zone, "A") == std::vector<std::string>{"192.0.2.40"});
  CHECK(server().query("mta-sts." + zone, "AAAA") == std::vector<std::string>{"2001:db8::40"});
  CHECK(server().query("mta-sts." + zone, "CAA") == std::vector<std::string>{"0 issue \"letsencrypt.org\""});

  ZoneSnapshot live = read_ok(*provider, zone);
  CHECK(live.owned == desired);
  CHECK(plan_for(zone, desired, live).empty());
}

TEST_CASE("a TXT value over 255 octets is split on write and joined on read", "[powerdns]") {
  const std::string zone = PdnsServer::unique_zone();
  server().create_zone(zone);
  auto provider = make_powerdns_provider(server().provider_config());
  std::string rua = "v=TLSRPTv1; rua=mailto:" + std::string(280, 'r') + "@example.net";
  std::vector<RRset> desired = {rrset("_smtp._tls." + zone + ".", RRType::TXT, {rua})};

  converge(*provider, zone, desired);
  auto answers = server().query("_smtp._tls." + zone, "TXT");
  REQUIRE(answers.size() == 1);
  CHECK(answers[0] == "\"" + rua.substr(0, 255) + "\" \"" + rua.substr(255) + "\"");
  CHECK(read_ok(*provider, zone).owned == desired);
}

TEST_CASE("an update changes only the touched RRset", "[powerdns]") {
  const std::string zone = PdnsServer::unique_zone();
  server().create_zone(zone);
  auto provider = make_powerdns_provider(server().provider_config());
  converge(*provider, zone, desired_for(zone, "1"));

  const auto second = desired_for(zone, "2");
  ZonePlan plan = plan_for(zone, second, read_ok(*provider, zone));
  REQUIRE(plan.changes.size() == 1);
  CHECK(plan.changes[0].kind == ChangeKind::Update);
  CHECK(plan.changes[0].key.owner == "_mta-sts." + zone + ".");
  apply_ok(*provider, plan);

  CHECK(server().query("_mta-sts." + zone, "TXT") == std::vector<std::string>{"\"v=STSv1; id=2\""});
  CHECK(server().query("mta-sts." + zone, "A") == std::vector<std::string>{"192.0.2.40"});
  CHECK(read_ok(*provider, zone).owned == second);
}

TEST_CASE("A/AAAA/CAA -> CNAME and back, each in one PATCH", "[powerdns]") {
  const std::string zone = PdnsServer::unique_zone();
  server().create_zone(zone);
  LogCapture log;
  auto provider = make_powerdns_provider_with_log(server().provider_config(), log.sink());
  const auto addresses = desired_for(zone);
  converge(*provider, zone, addresses);

  auto with_cname = sorted({
      rrset("_mta-sts." + zone + ".", RRType::TXT, {"v=STSv1; id=20240101000000"}),
      rrset("_smtp._tls." + zone + ".", RRType::TXT, {"v=TLSRPTv1; rua=mailto:tlsrpt@example.net"}),
      rrset("mta-sts." + zone + ".", RRType::CNAME, {"web.example.net."}),
  });
  size_t patches_before = std::count_if(log.lines.begin(), log.lines.end(),
                                        [](const std::string& l) { return l.rfind("PATCH ", 0) == 0; });
  converge(*provider, zone, with_cname);
  size_t patches_after = std::count_if(log.lines.begin(), log.lines.end(),
                                       [](const std::string& l) { return l.rfind("PATCH ", 0) == 0; });
  CHECK(patches_after == patches_before + 1);
  CHECK(server().query("mta-sts." + zone, "CNAME") == std::vector<std::string>{"web.example.net."});
  CHECK(read_ok(*provider, zone).owned == with_cname);

  converge(*provider, zone, addresses);
  CHECK(server().query("mta-sts." + zone, "CNAME").empty());
  CHECK(server().query("mta-sts." + zone, "A") == std::vector<std::string>{"192.0.2.40"});
}

TEST_CASE("foreign records are read as such and left untouched", "[powerdns]") {
  const std::string zone = PdnsServer::unique_zone();
  server().create_zone(zone, {
                                 {"@", "MX", {"10 mail.example.net.", "20 MX2.example.net."}},
                                 {"@", "TXT", {"\"v=spf1 mx -all\""}},
                                 {"_mta-sts", "TXT", {"\"google-site-verification=abc\""}},
                                 {"www", "TXT", {"\"unrelated\""}},
                                 {"www", "A", {"198.51.100.7"}},
                             });
  auto provider = make_powerdns_provider(server().provider_config());
  ZoneSnapshot live = read_ok(*provider, zone);
  REQUIRE(live.mx.size() == 1);
  CHECK(live.mx[0].values == std::vector<std::string>{"10 mail.example.net.", "20 mx2.example.net."});
  REQUIRE(live.owned.size() == 1);
  CHECK(live.owned[0].values == std::vector<std::string>{"google-site-verification=abc"});

  const auto desired = desired_for(zone);
  ZonePlan plan = plan_for(zone, desired, live);
  apply_ok(*provider, plan);

  CHECK(server().query("_mta-sts." + zone, "TXT") ==
        std::vector<std::string>{"\"google-site-verification=abc\"", "\"v=STSv1; id=20240101000000\""});
  CHECK(server().query(zone, "TXT") == std::vector<std::string>{"\"v=spf1 mx -all\""});
  CHECK(server().query(zone, "MX") ==
        std::vector<std::string>{"10 mail.example.net.", "20 MX2.example.net."});
  CHECK(server().query("www." + zone, "TXT") == std::vector<std::string>{"\"unrelated\""});
  CHECK(server().query("www." + zone, "A") == std::vector<std::string>{"198.51.100.7"});
  CHECK(plan_for(zone, desired, read_ok(*provider, zone)).empty());
}

TEST_CASE("disabled records count as absent and are kept on replace", "[powerdns]") {
  const std::string zone = PdnsServer::unique_zone();
  PdnsRecord disabled{"_mta-sts", "TXT", {"\"v=STSv1; id=disabled\""}};
  disabled.disabled = true;
  server().create_zone(zone, {disabled});
  auto provider = make_powerdns_provider(server().provider_config());
  ZoneSnapshot live = read_ok(*provider, zone);
  CHECK(live.owned.empty());

  converge(*provider, zone, desired_for(zone));
  CHECK(server().query("_mta-sts." + zone, "TXT") ==
        std::vector<std::string>{"\"v=STSv1; id=20240101000000\""});
  CHECK(disabled_record_kept(zone));
}

TEST_CASE("a malformed-looking foreign record elsewhere does not break the read", "[powerdns]") {
  const std::string zone = PdnsServer::unique_zone();
  // PowerDNS validates content on the API, so write an odd but accepted one:
  // an unquoted-looking TXT and a record type stsctl does not model.
  server().create_zone(zone, {
                                 {"odd", "TXT", {"\"a\\\\\" \"\\255\\000\""}},
                                 {"srv", "SRV", {"0 5 5060 sip.example.net."}},
                                 {"_mta-sts", "TXT", {"\"v=STSv1; id=7\""}},
                             });
  auto provider = make_powerdns_provider(server().provider_config());
  ZoneSnapshot live = read_ok(*provider, zone);
  REQUIRE(live.owned.size() == 1);
  CHECK(live.owned[0].values == std::vector<std::string>{"v=STSv1; id=7"});
}

TEST_CASE("a wrong API key is an Auth error that never shows a key", "[powerdns][errors]") {
  const std::string zone = PdnsServer::unique_zone();
  server().create_zone(zone);
  test::TempDir dir("pdnskey");
  const std::string wrong_key = "wrong-key-5f3a9c";
  test::write_file(dir.file("wrong.key"), wrong_key + "\n");
  PowerdnsConfig config = server().provider_config("pdns-main");
  config.api_key_file = dir.file("wrong.key");
  LogCapture log;
  auto provider = make_powerdns_provider_with_log(config, log.sink());

  ZoneReadResult read = read_one(*provider, zone);
  REQUIRE(read.error);
  CHECK(read.error->kind() == ProviderError::Kind::Auth);
  const std::string message = read.error->what();
  CHECK_THAT(message, Catch::Contains("provider 'pdns-main'"));
  CHECK_THAT(message, Catch::Contains("zone '" + zone + "'"));
  CHECK_THAT(message, Catch::Contains(server().api_url()));
  CHECK_THAT(message, Catch::Contains("HTTP 401"));
  CHECK_THAT(message, Catch::Contains("check api_key_file/api_key_env"));
  CHECK(message.find(wrong_key) == std::string::npos);
  CHECK(message.find(server().api_key()) == std::string::npos);

  auto applied = provider->apply_zones({plan_for(zone, desired_for(zone), ZoneSnapshot{zone, {}, {}, {}})});
  REQUIRE(applied[0].error);
  CHECK(applied[0].error->kind() == ProviderError::Kind::Auth);
  CHECK(std::string(applied[0].error->what()).find(wrong_key) == std::string::npos);

  const std::string logged = log.all();
  CHECK_THAT(logged, Catch::Contains("GET " + server().api_url()));
  CHECK_THAT(logged, Catch::Contains("-> 401"));
  CHECK(logged.find(wrong_key) == std::string::npos);
}

TEST_CASE("verbose log lines name method, URL and status without the key", "[powerdns][errors]") {
  const std::string zone = PdnsServer::unique_zone();
  server().create_zone(zone);
  LogCapture log;
  auto provider = make_powerdns_provider_with_log(server().provider_config(), log.sink());
  converge(*provider, zone, desired_for(zone));
  const std::string logged = log.all();
  CHECK_THAT(logged, Catch::Contains("PATCH " + server().api_url() + "/api/v1/servers/localhost/zones/" +
                                     zone + ". -> 204"));
  CHECK(logged.find(server().api_key()) == std::string::npos);
}

TEST_CASE("a missing zone is ZoneMissing: create the zone first", "[powerdns][errors]") {
  const std::string zone = PdnsServer::unique_zone("missing");
  auto provider = make_powerdns_provider(server().provider_config());
  ZoneReadResult read = read_one(*provider, zone);
  REQUIRE(read.error);
  CHECK(read.error->kind() == ProviderError::Kind::ZoneMissing);
  const std::string message = read.error->what();
  CHECK_THAT(message, Catch::Contains("zone " + zone + ". not found on " + server().api_url() +
                                      ": create the zone first (stsctl never creates zones)"));
  CHECK(message.find(server().api_key()) == std::string::npos);

  auto applied = provider->apply_zones({plan_for(zone, desired_for(zone), ZoneSnapshot{zone, {}, {}, {}})});
  REQUIRE(applied[0].error);
  CHECK(applied[0].error->kind() == ProviderError::Kind::ZoneMissing);
  // stsctl never creates zones.
  CHECK(server().api("GET", "/zones/" + zone + ".").status == 404);
}

TEST_CASE("bad content is Rejected with PowerDNS's text and nothing applied", "[powerdns][errors]") {
  const std::string zone = PdnsServer::unique_zone();
  server().create_zone(zone);
  auto provider = make_powerdns_provider(server().provider_config());
  ZonePlan plan = plan_for(zone,
                           sorted({rrset("_mta-sts." + zone + ".", RRType::TXT, {"v=STSv1; id=1"}),
                                   rrset("mta-sts." + zone + ".", RRType::A, {"192.0.2.999"})}),
                           ZoneSnapshot{zone, {}, {}, {}});
  auto results = provider->apply_zones({plan});
  REQUIRE(results[0].error);
  CHECK(results[0].error->kind() == ProviderError::Kind::Rejected);
  const std::string message = results[0].error->what();
  CHECK_THAT(message, Catch::Contains("HTTP 422"));
  CHECK_THAT(message, Catch::Contains("192.0.2.999"));  // PowerDNS names the bad content
  CHECK_THAT(message, Catch::Contains("zone '" + zone + "'"));
  CHECK_THAT(message,
             Catch::EndsWith(": PowerDNS rejected the change and applied none of it; fix what it names "
                             "(plan shows the records sent) and apply again"));
  CHECK(server().query("_mta-sts." + zone, "TXT").empty());
}

TEST_CASE("other HTTP errors say what to do next", "[powerdns][errors]") {
  // Statuses the test PowerDNS does not give on demand: a server that
  // answers every request with one status (and echoes the request).
  struct Case {
    int status;
    ProviderError::Kind kind;
    std::string next;
  };
  for (const Case& c :
       {Case{409, ProviderError::Kind::Conflict,
             ": another change to the zone came first; run plan to see the zone as it is now, then apply "
             "again"},
        Case{400, ProviderError::Kind::Other,
             ": check url (the API's root, like http://127.0.0.1:8081) and server_id"},
        Case{505, ProviderError::Kind::Other,
             ": the PowerDNS server failed; its log says why, e.g. a backend database it cannot write"}}) {
    INFO("HTTP " << c.status);
    stsctl::test::FaultServer fake(stsctl::test::FaultServer::Mode::Echo, c.status);
    PowerdnsConfig config = server().provider_config("pdns-fake");
    config.url = fake.url();
    auto provider = make_powerdns_provider(config);
    const std::string zone = "example.test";
    auto applied = provider->apply_zones({plan_for(zone, desired_for(zone), ZoneSnapshot{zone, {}, {}, {}})});
    REQUIRE(applied[0].error);
    CHECK(applied[0].error->kind() == c.kind);
    const std::string message = applied[0].error->what();
    CHECK_THAT(message, Catch::StartsWith("provider 'pdns-fake': failed to update zone 'example.test' on " +
                                          fake.url() + " (HTTP " + std::to_string(c.status) + ": "));
    CHECK_THAT(message, Catch::EndsWith(c.next));
    CHECK(message.find(server().api_key()) == std::string::npos);
  }
}

TEST_CASE("one bad zone does not fail the others", "[powerdns][errors]") {
  const std::string good1 = PdnsServer::unique_zone();
  const std::string good2 = PdnsServer::unique_zone();
  const std::string missing = PdnsServer::unique_zone("missing");
  server().create_zone(good1);
  server().create_zone(good2);
  auto provider = make_powerdns_provider(server().provider_config());

  auto reads =
      provider->read_zones({ZoneQuery{good1, owned_rrsets(good1)}, ZoneQuery{missing, owned_rrsets(missing)},
                            ZoneQuery{good2, owned_rrsets(good2)}});
  REQUIRE(reads.size() == 3);
  CHECK_FALSE(reads[0].error);
  REQUIRE(reads[1].error);
  CHECK(reads[1].error->kind() == ProviderError::Kind::ZoneMissing);
  CHECK_FALSE(reads[2].error);
  CHECK(reads[1].zone == missing);

  const std::string bad = PdnsServer::unique_zone();
  server().create_zone(bad);
  ZonePlan bad_plan = plan_for(bad, {rrset("mta-sts." + bad + ".", RRType::A, {"not-an-address"})},
                               ZoneSnapshot{bad, {}, {}, {}});
  auto applied = provider->apply_zones({plan_for(good1, desired_for(good1), reads[0].snapshot), bad_plan,
                                        plan_for(good2, desired_for(good2), reads[2].snapshot)});
  REQUIRE(applied.size() == 3);
  CHECK_FALSE(applied[0].error);
  REQUIRE(applied[1].error);
  CHECK(applied[1].error->kind() == ProviderError::Kind::Rejected);
  CHECK_FALSE(applied[2].error);
  CHECK(read_ok(*provider, good1).owned == desired_for(good1));
  CHECK(read_ok(*provider, good2).owned == desired_for(good2));
}

TEST_CASE("many zones apply concurrently and empty plans send nothing", "[powerdns]") {
  auto provider_log = std::make_shared<LogCapture>();
  auto provider = make_powerdns_provider_with_log(server().provider_config(), provider_log->sink());
  std::vector<std::string> zones;
  std::vector<ZoneQuery> queries;
  for (int i = 0; i < 20; ++i) {
    zones.push_back(PdnsServer::unique_zone("many"));
    server().create_zone(zones.back());
    queries.push_back(ZoneQuery{zones.back(), owned_rrsets(zones.back())});
  }
  auto reads = provider->read_zones(queries);
  std::vector<ZonePlan> plans;
  for (size_t i = 0; i < zones.size(); ++i) {
    REQUIRE_FALSE(reads[i].error);
    plans.push_back(plan_for(zones[i], desired_for(zones[i]), reads[i].snapshot));
  }
  plans.push_back(ZonePlan{zones[0], "pdns", {}});
  auto applied = provider->apply_zones(plans);
  REQUIRE(applied.size() == plans.size());
  for (const auto& result : applied) {
    INFO((result.error ? result.error->what() : ""));
    CHECK_FALSE(result.error);
  }
  // 20 GETs, GET .../config and 20 PATCHes (one at a time on gsqlite3), none for the empty plan.
  const std::string logged = provider_log->all();
  const std::string first_patched =
      "PATCH " + server().api_url() + "/api/v1/servers/localhost/zones/" + zones[0] + ". -> 204";
  size_t first = logged.find(first_patched);
  CHECK(first != std::string::npos);
  CHECK(logged.find(first_patched, first + 1) == std::string::npos);
  CHECK(std::count(logged.begin(), logged.end(), '\n') >= 40);

  reads = provider->read_zones(queries);
  for (size_t i = 0; i < zones.size(); ++i) {
    REQUIRE_FALSE(reads[i].error);
    CHECK(reads[i].snapshot.owned == desired_for(zones[i]));
  }
}

TEST_CASE("notify: a failed NOTIFY is a warning, the change stands", "[powerdns]") {
  const std::string zone = PdnsServer::unique_zone();
  server().create_zone(zone);
  PowerdnsConfig config = server().provider_config();
  config.notify = true;
  LogCapture log;
  auto provider = make_powerdns_provider_with_log(config, log.sink());
  converge(*provider, zone, desired_for(zone));
  const std::string logged = log.all();
  CHECK_THAT(logged, Catch::Contains("PUT " + server().api_url() + "/api/v1/servers/localhost/zones/" + zone +
                                     "./notify"));
  CHECK(server().query("_mta-sts." + zone, "TXT") ==
        std::vector<std::string>{"\"v=STSv1; id=20240101000000\""});
}

TEST_CASE("a stopped server is Unreachable, naming the URL", "[powerdns][errors]") {
  PdnsServer own;
  const std::string zone = PdnsServer::unique_zone();
  own.create_zone(zone);
  auto provider = make_powerdns_provider(own.provider_config());
  own.stop();
  ZoneReadResult read = read_one(*provider, zone);
  REQUIRE(read.error);
  CHECK(read.error->kind() == ProviderError::Kind::Unreachable);
  const std::string message = read.error->what();
  CHECK_THAT(message, Catch::Contains(own.api_url()));
  CHECK_THAT(message, Catch::Contains("check that PowerDNS is running"));
  CHECK(message.find(own.api_key()) == std::string::npos);

  auto applied = provider->apply_zones({plan_for(zone, desired_for(zone), ZoneSnapshot{zone, {}, {}, {}})});
  REQUIRE(applied[0].error);
  CHECK(applied[0].error->kind() == ProviderError::Kind::Unreachable);
}

TEST_CASE("a server that never answers is a Timeout", "[powerdns][errors]") {
  // A listening socket that never accepts: the kernel completes the TCP
  // handshake, nobody answers the request.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  REQUIRE(listen(fd, 8) == 0);

  PowerdnsConfig config = server().provider_config();
  config.url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  config.timeout_seconds = 0.5;
  auto provider = make_powerdns_provider(config);
  ZoneReadResult read = read_one(*provider, "example.test");
  close(fd);
  REQUIRE(read.error);
  CHECK(read.error->kind() == ProviderError::Kind::Timeout);
  CHECK_THAT(std::string(read.error->what()), Catch::Contains("raise providers." + config.name + ".timeout"));
  CHECK_THAT(std::string(read.error->what()), Catch::Contains(config.url));
}

namespace {

// A small HTTP server for what a real PowerDNS cannot be made to do: a PATCH
// that succeeds followed by a NOTIFY that fails, and serving one connection
// at a time, in the order they were made. It says its backend is gsqlite3.
class FakeApi {
 public:
  FakeApi() {
    m_fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(m_fd, reinterpret_cast<sockaddr*>(&addr), &len);
    m_port = ntohs(addr.sin_port);
    listen(m_fd, 8);
    m_thread = std::thread([this] { serve(); });
  }
  ~FakeApi() {
    shutdown(m_fd, SHUT_RDWR);
    close(m_fd);
    m_thread.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_requests;
  }

 private:
  void serve() {
    for (;;) {
      int client = accept(m_fd, nullptr, nullptr);
      if (client < 0) {
        return;
      }
      std::string request;
      char buffer[4096];
      size_t header_end = std::string::npos;
      size_t wanted = 0;
      while (true) {
        ssize_t n = read(client, buffer, sizeof buffer);
        if (n <= 0) {
          break;
        }
        request.append(buffer, static_cast<size_t>(n));
        if (header_end == std::string::npos && (header_end = request.find("\r\n\r\n")) != std::string::npos) {
          size_t length = request.find("Content-Length: ");
          wanted =
              header_end + 4 + (length == std::string::npos ? 0 : std::stoul(request.substr(length + 16)));
        }
        if (header_end != std::string::npos && request.size() >= wanted) {
          break;
        }
      }
      std::string line = request.substr(0, request.find("\r\n"));
      {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_requests.push_back(request);
      }
      const std::string error = "{\"error\": \"Notify not possible\"}";
      const std::string launch = R"([{"name": "launch", "type": "ConfigSetting", "value": "gsqlite3"}])";
      std::string response =
          line.rfind("PATCH ", 0) == 0 ? "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
          : line.rfind("GET /api/v1/servers/localhost/config ", 0) == 0
              ? "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                    std::to_string(launch.size()) + "\r\nConnection: close\r\n\r\n" + launch
              : "HTTP/1.1 422 Unprocessable Entity\r\nContent-Type: application/json\r\n"
                "Content-Length: " +
                    std::to_string(error.size()) + "\r\nConnection: close\r\n\r\n" + error;
      (void)!write(client, response.data(), response.size());
      close(client);
    }
  }

  int m_fd = -1;
  int m_port = 0;
  std::thread m_thread;
  std::mutex m_mutex;
  std::vector<std::string> m_requests;
};

}  // namespace

TEST_CASE("notify: a failed NOTIFY is logged as a warning and the change stands", "[powerdns][errors]") {
  FakeApi fake;
  PowerdnsConfig config = server().provider_config("pdns-fake");
  config.url = fake.url();
  config.notify = true;
  LogCapture log;
  auto provider = make_powerdns_provider_with_log(config, log.sink());
  const std::string zone = "example.test";
  auto applied = provider->apply_zones({plan_for(zone, desired_for(zone), ZoneSnapshot{zone, {}, {}, {}})});
  REQUIRE(applied.size() == 1);
  CHECK_FALSE(applied[0].error);
  const std::string logged = log.all();
  CHECK_THAT(logged, Catch::Contains("warning: provider 'pdns-fake': failed to notify secondaries of zone "
                                     "'example.test' on " +
                                     fake.url() + " (HTTP 422: Notify not possible)"));
  CHECK_THAT(logged, Catch::Contains("the records were applied"));
  CHECK(logged.find(server().api_key()) == std::string::npos);

  auto requests = fake.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].rfind("PATCH /api/v1/servers/localhost/zones/example.test. HTTP/1.1\r\n", 0) == 0);
  CHECK_THAT(requests[0], Catch::Contains("X-API-Key: " + server().api_key() + "\r\n"));
  // DELETEs would come first; here all five are REPLACEs with quoted TXT.
  CHECK_THAT(requests[0], Catch::Contains("\"content\":\"\\\"v=STSv1; id=20240101000000\\\"\""));
  CHECK(requests[1].rfind("PUT /api/v1/servers/localhost/zones/example.test./notify HTTP/1.1\r\n", 0) == 0);

  // DELETEs go first in the PATCH, whatever the plan's order.
  ZonePlan swap{zone, "pdns-fake", {}};
  Change create;
  create.kind = ChangeKind::Create;
  create.key = {"mta-sts.example.test.", RRType::CNAME};
  create.after = rrset("mta-sts.example.test.", RRType::CNAME, {"web.example.net."});
  Change remove;
  remove.kind = ChangeKind::Delete;
  remove.key = {"mta-sts.example.test.", RRType::A};
  remove.before = rrset("mta-sts.example.test.", RRType::A, {"192.0.2.40"});
  swap.changes = {create, remove};
  applied = provider->apply_zones({swap});
  CHECK_FALSE(applied[0].error);
  requests = fake.requests();
  REQUIRE(requests.size() == 4);
  const std::string& body = requests[2];
  size_t deleted = body.find("\"changetype\":\"DELETE\"");
  size_t replaced = body.find("\"changetype\":\"REPLACE\"");
  CHECK(deleted != std::string::npos);
  CHECK(replaced != std::string::npos);
  CHECK(deleted < replaced);
}

TEST_CASE("PATCHes one at a time reach a server that serves one connection at a time, spares used",
          "[powerdns]") {
  // Each PATCH's request goes out on the connection opened while the one
  // before it ran; that spare is made after the running request's own
  // connection, so a server taking connections in order never waits on it.
  FakeApi fake;
  PowerdnsConfig config = server().provider_config("pdns-fake");
  config.url = fake.url();
  config.timeout_seconds = 5;
  auto provider = make_powerdns_provider(config);
  std::vector<ZonePlan> plans;
  for (int i = 0; i < 6; ++i) {
    const std::string zone = "z" + std::to_string(i) + ".example.test";
    plans.push_back(plan_for(zone, desired_for(zone), ZoneSnapshot{zone, {}, {}, {}}));
  }
  auto applied = provider->apply_zones(plans);
  REQUIRE(applied.size() == plans.size());
  for (const auto& result : applied) {
    INFO((result.error ? result.error->what() : ""));
    CHECK_FALSE(result.error);
  }
  // The backend question, then the PATCHes in order; no connection was
  // opened and left without a request.
  auto requests = fake.requests();
  REQUIRE(requests.size() == 1 + plans.size());
  CHECK(requests[0].rfind("GET /api/v1/servers/localhost/config HTTP/1.1\r\n", 0) == 0);
  for (size_t i = 0; i < plans.size(); ++i) {
    CHECK(requests[1 + i].rfind(
              "PATCH /api/v1/servers/localhost/zones/z" + std::to_string(i) + ".example.test.", 0) == 0);
  }
}

// ---- reading through search-data ------------------------------------------

namespace {

using ReadMode = PowerdnsReadTuning::Mode;

PowerdnsReadTuning search_tuning(size_t limit = 0) {
  PowerdnsReadTuning tuning;
  tuning.mode = ReadMode::Search;
  tuning.search_limit = limit;
  return tuning;
}

// A query for the owned RRsets only (what plan/apply ask for a zone whose MX
// and NS they do not use).
ZoneQuery owned_only(const std::string& zone) {
  ZoneQuery query{zone, owned_rrsets(zone)};
  query.want_mx = false;
  query.want_nameservers = false;
  return query;
}

size_t count_lines(const std::string& text, const std::string& part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    ++count;
  }
  return count;
}

// Zone GETs in a log (GET .../zones/<zone>.), not the zone list.
size_t zone_gets(const std::string& logged) {
  return count_lines(logged, "/api/v1/servers/localhost/zones/");
}

}  // namespace

TEST_CASE("search read: exactly the owned RRsets, foreign TXT kept, other names and zones ignored",
          "[powerdns][search]") {
  const std::string zone = PdnsServer::unique_zone("search");
  const std::string other = PdnsServer::unique_zone("search");
  server().create_zone(zone, {
                                 {"@", "MX", {"10 mail.example.net."}},
                                 {"@", "TXT", {"\"v=spf1 mx -all\""}},
                                 {"_mta-sts", "TXT", {"\"google-site-verification=abc\""}},
                                 {"x._mta-sts", "TXT", {"\"v=STSv1; id=below\""}},
                                 {"mta-sts.www", "A", {"198.51.100.9"}},
                                 {"_smtp", "TXT", {"\"not owned\""}},
                                 {"odd", "TXT", {"\"a\\\\\" \"\\255\\000\""}},
                             });
  // Another zone's records whose names or contents match the same searches.
  server().create_zone(other,
                       {{"_mta-sts", "CNAME", {"_mta-sts." + zone + "."}}, {"mta-sts", "A", {"192.0.2.99"}}});
  LogCapture log;
  auto provider = make_powerdns_provider_with_log(server().provider_config(), log.sink(), search_tuning());
  converge(*provider, zone, desired_for(zone));
  log.lines.clear();

  auto results = provider->read_zones({owned_only(zone)});
  REQUIRE(results.size() == 1);
  INFO((results[0].error ? results[0].error->what() : "no error"));
  REQUIRE_FALSE(results[0].error);
  CHECK(results[0].zone == zone);
  const ZoneSnapshot& live = results[0].snapshot;
  CHECK(live.zone == zone);
  CHECK(live.mx.empty());  // not wanted
  CHECK(live.nameservers.empty());
  auto expected = desired_for(zone);
  expected[0].values = {"google-site-verification=abc", "v=STSv1; id=20240101000000"};
  REQUIRE(expected[0].owner == "_mta-sts." + zone + ".");
  CHECK(live.owned == expected);
  CHECK(plan_for(zone, desired_for(zone), live).empty());

  // The same as a whole-zone read, without reading the zone.
  const std::string logged = log.all();
  CHECK_THAT(logged, Catch::Contains("/search-data?q=_mta-sts.%2a&max="));
  CHECK(zone_gets(logged) == 0);
  PowerdnsReadTuning whole;
  whole.mode = ReadMode::WholeZone;
  auto whole_reader = make_powerdns_provider_with_log(server().provider_config(), {}, whole);
  auto whole_results = whole_reader->read_zones({owned_only(zone)});
  REQUIRE_FALSE(whole_results[0].error);
  CHECK(whole_results[0].snapshot.owned == live.owned);

  // The other zone's records are its own.
  auto other_results = provider->read_zones({owned_only(other)});
  REQUIRE_FALSE(other_results[0].error);
  REQUIRE(other_results[0].snapshot.owned.size() == 2);
  CHECK(other_results[0].snapshot.owned[0].values == std::vector<std::string>{"_mta-sts." + zone + "."});
}

TEST_CASE("search read: CAA, CNAME and split TXT compare equal to what was written", "[powerdns][search]") {
  const std::string zone = PdnsServer::unique_zone("search");
  server().create_zone(zone);
  auto provider = make_powerdns_provider_with_log(server().provider_config(), {}, search_tuning());
  std::string rua = "v=TLSRPTv1; rua=mailto:" + std::string(280, 'r') + "@example.net";
  auto desired = sorted({
      rrset("_mta-sts." + zone + ".", RRType::TXT, {"v=STSv1; id=1"}),
      rrset("_smtp._tls." + zone + ".", RRType::TXT, {rua}, 300),
      rrset("mta-sts." + zone + ".", RRType::CNAME, {"web.example.net."}),
  });
  auto read = provider->read_zones({owned_only(zone)});
  REQUIRE_FALSE(read[0].error);
  apply_ok(*provider, plan_for(zone, desired, read[0].snapshot));
  read = provider->read_zones({owned_only(zone)});
  REQUIRE_FALSE(read[0].error);
  CHECK(read[0].snapshot.owned == desired);
  CHECK(plan_for(zone, desired, read[0].snapshot).empty());
}

TEST_CASE("search read: zones whose MX or NS is wanted are read whole", "[powerdns][search]") {
  const std::string zone = PdnsServer::unique_zone("search");
  server().create_zone(zone, {{"@", "MX", {"10 mail.example.net."}}});
  LogCapture log;
  auto provider = make_powerdns_provider_with_log(server().provider_config(), log.sink(), search_tuning());
  ZoneQuery query = owned_only(zone);
  query.want_mx = true;
  auto results = provider->read_zones({query, owned_only(PdnsServer::unique_zone("missing"))});
  REQUIRE_FALSE(results[0].error);
  REQUIRE(results[0].snapshot.mx.size() == 1);
  CHECK(results[0].snapshot.mx[0].values == std::vector<std::string>{"10 mail.example.net."});
  CHECK(results[0].snapshot.nameservers == std::vector<std::string>{"ns1." + zone + "."});
  CHECK(zone_gets(log.all()) == 1);
}

TEST_CASE("search read: a missing zone is ZoneMissing, the others are read", "[powerdns][search][errors]") {
  const std::string good = PdnsServer::unique_zone("search");
  const std::string missing = PdnsServer::unique_zone("missing");
  server().create_zone(good, {{"_mta-sts", "TXT", {"\"v=STSv1; id=5\""}}});
  LogCapture log;
  auto provider = make_powerdns_provider_with_log(server().provider_config(), log.sink(), search_tuning());
  auto results = provider->read_zones({owned_only(missing), owned_only(good)});
  REQUIRE(results.size() == 2);
  REQUIRE(results[0].error);
  CHECK(results[0].zone == missing);
  CHECK(results[0].error->kind() == ProviderError::Kind::ZoneMissing);
  const std::string message = results[0].error->what();
  CHECK_THAT(message, Catch::Contains("provider 'pdns'"));
  CHECK_THAT(message, Catch::Contains("zone " + missing + ". not found on " + server().api_url() +
                                      ": create the zone first (stsctl never creates zones)"));
  CHECK(message.find(server().api_key()) == std::string::npos);
  REQUIRE_FALSE(results[1].error);
  REQUIRE(results[1].snapshot.owned.size() == 1);
  CHECK(results[1].snapshot.owned[0].values == std::vector<std::string>{"v=STSv1; id=5"});
  CHECK(zone_gets(log.all()) == 0);
}

TEST_CASE("search read: a wrong API key is an Auth error for every zone", "[powerdns][search][errors]") {
  const std::string zone = PdnsServer::unique_zone("search");
  server().create_zone(zone);
  test::TempDir dir("pdnskey");
  const std::string wrong_key = "wrong-key-0c4e1b";
  test::write_file(dir.file("wrong.key"), wrong_key + "\n");
  PowerdnsConfig config = server().provider_config();
  config.api_key_file = dir.file("wrong.key");
  auto provider = make_powerdns_provider_with_log(config, {}, search_tuning());
  auto results = provider->read_zones({owned_only(zone), owned_only(PdnsServer::unique_zone("missing"))});
  for (const auto& result : results) {
    REQUIRE(result.error);
    CHECK(result.error->kind() == ProviderError::Kind::Auth);
    CHECK(std::string(result.error->what()).find(wrong_key) == std::string::npos);
  }
}

TEST_CASE("search read: a search that may be cut falls back to reading each zone", "[powerdns][search]") {
  const std::string zone = PdnsServer::unique_zone("search");
  server().create_zone(zone);
  // Room for 4 results: every search on this shared server fills it.
  LogCapture log;
  auto provider = make_powerdns_provider_with_log(server().provider_config(), log.sink(), search_tuning(4));
  auto read = provider->read_zones({owned_only(zone)});
  REQUIRE_FALSE(read[0].error);
  apply_ok(*provider, plan_for(zone, desired_for(zone), read[0].snapshot));
  log.lines.clear();
  read = provider->read_zones({owned_only(zone)});
  REQUIRE_FALSE(read[0].error);
  CHECK(read[0].snapshot.owned == desired_for(zone));
  const std::string logged = log.all();
  CHECK_THAT(logged, Catch::Contains("/search-data?q="));
  CHECK(zone_gets(logged) == 1);
}

TEST_CASE("search read: disabled records count as absent and survive an apply", "[powerdns][search]") {
  const std::string zone = PdnsServer::unique_zone("search");
  PdnsRecord disabled{"_mta-sts", "TXT", {"\"v=STSv1; id=disabled\""}};
  disabled.disabled = true;
  server().create_zone(zone, {disabled});
  // As in the deploy engine: one provider object reads, then applies.
  auto provider = make_powerdns_provider_with_log(server().provider_config(), {}, search_tuning());
  auto read = provider->read_zones({owned_only(zone)});
  REQUIRE_FALSE(read[0].error);
  CHECK(read[0].snapshot.owned.empty());
  apply_ok(*provider, plan_for(zone, desired_for(zone), read[0].snapshot));

  CHECK(server().query("_mta-sts." + zone, "TXT") ==
        std::vector<std::string>{"\"v=STSv1; id=20240101000000\""});
  CHECK(disabled_record_kept(zone));
}

TEST_CASE("auto read: few zones one GET each; many zones by search; PATCHes one at a time on gsqlite3",
          "[powerdns][search]") {
  // Its own server, so that the share of asked zones is known.
  PdnsServer own;
  std::vector<std::string> zones;
  std::vector<ZoneQuery> queries;
  for (int i = 0; i < 40; ++i) {
    zones.push_back(PdnsServer::unique_zone("auto"));
    own.create_zone(zones.back(), {{"_mta-sts", "TXT", {"\"foreign\""}}});
    queries.push_back(owned_only(zones.back()));
  }
  LogCapture log;
  auto provider = make_powerdns_provider_with_log(own.provider_config(), log.sink());

  auto few = provider->read_zones({queries[0], queries[1]});
  CHECK(zone_gets(log.all()) == 2);
  CHECK(log.all().find("search-data") == std::string::npos);

  log.lines.clear();
  auto reads = provider->read_zones(queries);
  std::string logged = log.all();
  CHECK(zone_gets(logged) == 0);
  CHECK(count_lines(logged, "search-data") == 3);
  // The backend question goes out with the read, not before the first PATCH.
  const std::string config_get = "GET " + own.api_url() + "/api/v1/servers/localhost/config -> 200";
  CHECK(count_lines(logged, config_get) == 1);
  std::vector<ZonePlan> plans;
  for (size_t i = 0; i < zones.size(); ++i) {
    INFO((reads[i].error ? reads[i].error->what() : ""));
    REQUIRE_FALSE(reads[i].error);
    REQUIRE(reads[i].snapshot.owned.size() == 1);
    plans.push_back(plan_for(zones[i], desired_for(zones[i]), reads[i].snapshot));
  }

  log.lines.clear();
  auto applied = provider->apply_zones(plans);
  for (const auto& result : applied) {
    INFO((result.error ? result.error->what() : ""));
    CHECK_FALSE(result.error);
  }
  logged = log.all();
  CHECK(count_lines(logged, config_get) == 0);
  CHECK(count_lines(logged, "-> 204") == zones.size());
  CHECK(count_lines(logged, "-> 5") == 0);  // no "database is locked" retries

  reads = provider->read_zones(queries);
  for (size_t i = 0; i < zones.size(); ++i) {
    REQUIRE_FALSE(reads[i].error);
    auto expected = desired_for(zones[i]);
    expected[0].values = {"foreign", "v=STSv1; id=20240101000000"};
    CHECK(reads[i].snapshot.owned == expected);
  }
}

TEST_CASE("search read: a record PowerDNS cannot format elsewhere in the zone does not break the read",
          "[powerdns][search][errors]") {
  const std::string zone = PdnsServer::unique_zone("search");
  server().create_zone(zone, {{"_mta-sts", "TXT", {"\"v=STSv1; id=9\""}}});
  // The API refuses such content, so put it into the backend's database
  // directly (as an import or a hand edit would): PowerDNS then answers 500
  // to a GET of the whole zone.
  auto inserted = test::run_command(
      {"sqlite3", server().dir() + "/pdns.sqlite3",
       "INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled, auth) SELECT id, 'bad." +
           zone + "', 'A', 'not-an-address', 300, 0, 0, 1 FROM domains WHERE name = '" + zone + "'"});
  REQUIRE(inserted.exit_code == 0);
  REQUIRE(server().api("GET", "/zones/" + zone + ".").status == 500);

  auto provider = make_powerdns_provider_with_log(server().provider_config(), {}, search_tuning());
  auto results = provider->read_zones({owned_only(zone)});
  INFO((results[0].error ? results[0].error->what() : "no error"));
  REQUIRE_FALSE(results[0].error);
  REQUIRE(results[0].snapshot.owned.size() == 1);
  CHECK(results[0].snapshot.owned[0].values == std::vector<std::string>{"v=STSv1; id=9"});
}

TEST_CASE("the test PowerDNS says what failed and what to do", "[powerdns][support][errors]") {
  const std::string zone = PdnsServer::unique_zone("twice");
  server().create_zone(zone);
  try {
    server().create_zone(zone);
    FAIL("a second create_zone of " << zone << " succeeded");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) == "failed to create zone '" + zone +
                                       "' on the test PowerDNS (HTTP 409: Conflict): use a zone name not yet "
                                       "created, e.g. from PdnsServer::unique_zone()");
  }
  try {
    PdnsServer broken("no-such-setting=1\n");
    FAIL("pdns_server started with an unknown setting");
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    CHECK_THAT(message,
               Catch::StartsWith("failed to start pdns_server on 127.0.0.1 (it exited before its API "
                                 "answered, 3 attempts): check that pdns-server and "
                                 "pdns-backend-sqlite3 are installed (scripts/install-deps); the end "
                                 "of its log:\n"));
    CHECK_THAT(message, Catch::Contains("no-such-setting"));
  }
}
