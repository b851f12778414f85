// Valid configs: defaults, per-domain overrides, aliases, normalisation, path
// resolution, rollout stages and providers.

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>

#include "config/load.h"
#include "powerdns/powerdns_config.h"
#include "rfc2136/rfc2136_config.h"
#include "support/support.h"

using namespace stsctl;

namespace {

const PowerdnsConfig& powerdns(const Config& config, const std::string& name) {
  REQUIRE(config.providers.at(name).type == "powerdns");
  return settings_of<PowerdnsConfig>(config.providers.at(name));
}

const Rfc2136Config& rfc2136(const Config& config, const std::string& name) {
  REQUIRE(config.providers.at(name).type == "rfc2136");
  return settings_of<Rfc2136Config>(config.providers.at(name));
}

std::string all_diagnostics(const LoadResult& result) {
  std::string out;
  for (const auto& diagnostic : result.diagnostics) {
    out += format_diagnostic(diagnostic) + "\n";
  }
  return out;
}

LoadResult load_ok(const std::string& text, const std::string& base_dir = "/etc/stsctl",
                   const std::string& state_override = "") {
  LoadResult result = load_config_text(text, "stsctl.yaml", base_dir, state_override);
  INFO(all_diagnostics(result));
  REQUIRE(result.ok());
  return result;
}

// The config block of PRODUCT.md, verbatim.
const char* const k_product_example = R"(version: 1
defaults:                       # every key here can be overridden per domain
  ttl: 3600                     # TTL of every record stsctl writes
  provider: pdns                # default provider for domains that name none
  policy: {mode: testing, max_age: 86400}     # mode: testing|enforce|none
  tlsrpt: {rua: ["mailto:tlsrpt@example.net", "https://reports.example.net/v1"]}
  policy_host: {ipv4: [192.0.2.40], ipv6: ["2001:db8::40"]}   # or {cname: web.example.net}
  caa: [{tag: issue, value: letsencrypt.org}, {tag: iodef, value: "mailto:sec@example.net"}]
  id_format: timestamp          # timestamp|serial|hash
domains:
  example.net:
    zone: example.net           # optional; the zone that holds the names (default: the domain)
    mx: [mail.example.net, "*.mx.example.net"]
    policy: {mode: enforce, max_age: 604800}  # an explicit mode pins the domain: promote skips it
  example.org: {alias_of: example.net, provider: bind}
  example.com: {alias_of: example.net}
  old.example:  {mx: [mail.example.net], retire: true}   # publish mode none, delete after max_age
rollout:                        # domains without an explicit policy.mode follow these stages
  stages:
    - {mode: testing, max_age: 86400, hold: 7d}
    - {mode: enforce, max_age: 604800, hold: 14d}
    - {mode: enforce, max_age: 31557600}
providers:
  pdns:
    type: powerdns
    url: "http://127.0.0.1:8081"
    server_id: localhost
    api_key_file: pdns.key      # or api_key_env: PDNS_API_KEY
  bind:
    type: rfc2136
    server: "127.0.0.1:53"
    tsig: {name: stsctl-key, algorithm: hmac-sha256, secret_file: tsig.secret}   # or secret_env
publish:
  webroot: /var/www/mta-sts     # policies go to <webroot>/mta-sts.D/.well-known/mta-sts.txt
  verify: true                  # fetch each new policy over HTTPS before its id is pushed
  ca_file: /etc/ssl/private-ca.crt                    # optional: trust a private CA for verify
  connect_to: {"mta-sts.example.net:443": "127.0.0.1:8443"}  # optional, like curl --connect-to
state: stsctl.db                # relative paths are relative to the config file
)";

const char* const k_minimal = R"(version: 1
defaults:
  policy_host: {ipv4: [192.0.2.40]}
domains:
  example.net: {mx: [mail.example.net]}
)";

}  // namespace

TEST_CASE("the PRODUCT.md example loads completely", "[config][load]") {
  auto result = load_ok(k_product_example);
  const Config& config = result.config;
  CHECK(config.file == "stsctl.yaml");
  CHECK(config.base_dir == "/etc/stsctl");
  REQUIRE(config.domains.size() == 4);
  CHECK(config.domains[0].name == "example.com");
  CHECK(config.domains[1].name == "example.net");
  CHECK(config.domains[2].name == "example.org");
  CHECK(config.domains[3].name == "old.example");

  const DomainConfig* net = config.find_domain("example.net");
  REQUIRE(net != nullptr);
  CHECK_FALSE(net->is_alias());
  CHECK(net->zone == "example.net");
  CHECK(net->provider == "pdns");
  CHECK(net->ttl == 3600);
  CHECK(net->mode == PolicyMode::Enforce);
  CHECK(net->mode_pinned);
  CHECK(net->max_age == 604800);
  CHECK(net->mx == std::vector<std::string>{"mail.example.net", "*.mx.example.net"});
  CHECK(net->tlsrpt_rua ==
        std::vector<std::string>{"mailto:tlsrpt@example.net", "https://reports.example.net/v1"});
  CHECK(net->policy_host.ipv4 == std::vector<std::string>{"192.0.2.40"});
  CHECK(net->policy_host.ipv6 == std::vector<std::string>{"2001:db8::40"});
  CHECK(net->policy_host.cname.empty());
  REQUIRE(net->caa.size() == 2);
  CHECK(net->caa[0].flags == 0);
  CHECK(net->caa[0].tag == "issue");
  CHECK(net->caa[0].value == "letsencrypt.org");
  CHECK(net->caa[1].tag == "iodef");
  CHECK(net->caa[1].value == "mailto:sec@example.net");
  CHECK(net->id_format == IdFormat::Timestamp);
  CHECK_FALSE(net->retire);

  const DomainConfig* org = config.find_domain("example.org");
  REQUIRE(org != nullptr);
  CHECK(org->alias_of == "example.net");
  CHECK(org->provider == "bind");
  CHECK(org->zone == "example.org");
  CHECK(config.find_domain("example.com")->provider == "pdns");
  CHECK(config.find_domain("example.com")->alias_of == "example.net");

  const DomainConfig* old = config.find_domain("old.example");
  REQUIRE(old != nullptr);
  CHECK(old->retire);
  CHECK(old->mode == PolicyMode::None);
  CHECK(old->mode_pinned);

  REQUIRE(config.stages.size() == 3);
  CHECK(config.stages[0].mode == PolicyMode::Testing);
  CHECK(config.stages[0].max_age == 86400);
  CHECK(config.stages[0].hold_seconds == 7 * 86400);
  CHECK(config.stages[1].mode == PolicyMode::Enforce);
  CHECK(config.stages[1].hold_seconds == 14 * 86400);
  CHECK(config.stages[2].max_age == 31557600);
  CHECK_FALSE(config.stages[2].hold_seconds.has_value());

  REQUIRE(config.providers.size() == 2);
  const PowerdnsConfig& pdns = powerdns(config, "pdns");
  CHECK(pdns.name == "pdns");
  CHECK(pdns.url == "http://127.0.0.1:8081");
  CHECK(pdns.server_id == "localhost");
  CHECK(pdns.api_key_file == "/etc/stsctl/pdns.key");
  CHECK(pdns.api_key_env.empty());
  CHECK(pdns.timeout_seconds == 10);
  const Rfc2136Config& bind = rfc2136(config, "bind");
  CHECK(bind.server_host == "127.0.0.1");
  CHECK(bind.server_port == 53);
  CHECK(bind.tsig.name == "stsctl-key");
  CHECK(bind.tsig.algorithm == "hmac-sha256");
  CHECK(bind.tsig.secret_file == "/etc/stsctl/tsig.secret");
  CHECK(bind.transport == "tcp");

  CHECK(config.publish.webroot == "/var/www/mta-sts");
  CHECK(config.publish.verify);
  CHECK(config.publish.ca_file == "/etc/ssl/private-ca.crt");
  CHECK(config.publish.connect_to ==
        std::map<std::string, std::string>{{"mta-sts.example.net:443", "127.0.0.1:8443"}});
  CHECK(config.state_path == "/etc/stsctl/stsctl.db");
}

TEST_CASE("built-in defaults apply when nothing is said", "[config][load]") {
  auto result = load_ok(k_minimal);
  const Config& config = result.config;
  REQUIRE(config.domains.size() == 1);
  const DomainConfig& domain = config.domains[0];
  CHECK(domain.ttl == 3600);
  CHECK(domain.mode == PolicyMode::Testing);
  CHECK_FALSE(domain.mode_pinned);
  CHECK(domain.max_age == 86400);
  CHECK(domain.id_format == IdFormat::Timestamp);
  CHECK(domain.tlsrpt_rua.empty());
  CHECK(domain.caa.empty());
  CHECK(domain.zone == "example.net");
  CHECK(domain.provider.empty());  // no providers: render-only use
  CHECK(config.providers.empty());
  CHECK(config.stages.empty());
  CHECK(config.publish.webroot.empty());
  CHECK_FALSE(config.publish.verify);
  CHECK(config.publish.timeout_seconds == 30);
  CHECK(config.state_path == "/etc/stsctl/stsctl.db");
}

TEST_CASE("domains inherit defaults and override them key by key", "[config][load]") {
  auto result = load_ok(R"(version: 1
defaults:
  ttl: 600
  policy: {mode: enforce, max_age: 604800}
  tlsrpt: {rua: ["mailto:tlsrpt@example.net"]}
  policy_host: {cname: web.example.net}
  caa: [{tag: issue, value: letsencrypt.org}]
  id_format: serial
domains:
  a.example:
    mx: [mail.example.net]
  b.example:
    mx: [mail.example.net]
    ttl: 300
    policy: {max_age: 1209600}
    tlsrpt: {rua: ["https://reports.example.org/tlsrpt"]}
    policy_host: {ipv4: [198.51.100.7, 192.0.2.1]}
    caa: [{tag: issuewild, value: ";", flags: 128}]
    id_format: hash
  c.example:
    mx: [mail.example.net]
    policy: {mode: testing}
    tlsrpt: null
    caa: []
  d.example:
    policy: {mode: none}
)");
  const Config& config = result.config;
  const DomainConfig* a = config.find_domain("a.example");
  REQUIRE(a != nullptr);
  CHECK(a->ttl == 600);
  CHECK(a->mode == PolicyMode::Enforce);
  CHECK_FALSE(a->mode_pinned);  // the mode came from defaults
  CHECK(a->max_age == 604800);
  CHECK(a->tlsrpt_rua == std::vector<std::string>{"mailto:tlsrpt@example.net"});
  CHECK(a->policy_host.cname == "web.example.net");
  CHECK(a->policy_host.ipv4.empty());
  REQUIRE(a->caa.size() == 1);
  CHECK(a->id_format == IdFormat::Serial);

  const DomainConfig* b = config.find_domain("b.example");
  REQUIRE(b != nullptr);
  CHECK(b->ttl == 300);
  CHECK(b->mode == PolicyMode::Enforce);
  CHECK_FALSE(b->mode_pinned);  // only max_age was set here
  CHECK(b->max_age == 1209600);
  CHECK(b->tlsrpt_rua == std::vector<std::string>{"https://reports.example.org/tlsrpt"});
  CHECK(b->policy_host.cname.empty());
  CHECK(b->policy_host.ipv4 == std::vector<std::string>{"198.51.100.7", "192.0.2.1"});
  REQUIRE(b->caa.size() == 1);
  CHECK(b->caa[0].tag == "issuewild");
  CHECK(b->caa[0].value == ";");
  CHECK(b->caa[0].flags == 128);
  CHECK(b->id_format == IdFormat::Hash);

  const DomainConfig* c = config.find_domain("c.example");
  REQUIRE(c != nullptr);
  CHECK(c->mode == PolicyMode::Testing);
  CHECK(c->mode_pinned);
  CHECK(c->max_age == 604800);
  CHECK(c->tlsrpt_rua.empty());  // tlsrpt: null turns the inherited one off
  CHECK(c->caa.empty());

  const DomainConfig* d = config.find_domain("d.example");
  REQUIRE(d != nullptr);
  CHECK(d->mode == PolicyMode::None);  // mode none needs no mx
  CHECK(d->mx.empty());
}

TEST_CASE("names are normalised and domains sorted", "[config][load]") {
  auto result = load_ok(R"(version: 1
defaults:
  policy_host: {ipv6: ["2001:DB8:0:0:0:0:0:40", "::FFFF:192.0.2.1"], ipv4: [192.0.2.40]}
domains:
  Zeta.Example.:
    mx: [MAIL.Example.NET., "*.MX.example.net"]
  Alpha.EXAMPLE: {mx: [mail.example.net], zone: EXAMPLE.}
  beta.example: {alias_of: ALPHA.example.}
  sub.alpha.example: {mx: [mail.example.net], zone: alpha.example}
)");
  const Config& config = result.config;
  REQUIRE(config.domains.size() == 4);
  CHECK(config.domains[0].name == "alpha.example");
  CHECK(config.domains[1].name == "beta.example");
  CHECK(config.domains[2].name == "sub.alpha.example");
  CHECK(config.domains[3].name == "zeta.example");
  CHECK(config.domains[0].zone == "example");
  CHECK(config.domains[1].alias_of == "alpha.example");
  CHECK(config.domains[2].zone == "alpha.example");
  CHECK(config.domains[3].mx == std::vector<std::string>{"mail.example.net", "*.mx.example.net"});
  CHECK(config.domains[3].policy_host.ipv6 == std::vector<std::string>{"2001:db8::40", "::ffff:192.0.2.1"});
  CHECK(config.find_domain("zeta.example") == &config.domains[3]);
  CHECK(config.find_domain("Zeta.Example.") == nullptr);  // callers normalise first
}

TEST_CASE("retired domains may omit mx and publish mode none", "[config][load]") {
  auto result = load_ok(R"(version: 1
defaults:
  policy_host: {ipv4: [192.0.2.40]}
  policy: {mode: enforce, max_age: 604800}
domains:
  old.example: {retire: true}
  keep.example: {mx: [mail.example.net], retire: false}
)");
  const DomainConfig* old = result.config.find_domain("old.example");
  REQUIRE(old != nullptr);
  CHECK(old->retire);
  CHECK(old->mode == PolicyMode::None);
  CHECK(old->max_age == 604800);
  CHECK(old->mx.empty());
  const DomainConfig* keep = result.config.find_domain("keep.example");
  CHECK_FALSE(keep->retire);
  CHECK(keep->mode == PolicyMode::Enforce);
}

TEST_CASE("relative paths resolve against the config file's directory", "[config][load]") {
  const std::string text = R"(version: 1
defaults:
  provider: pdns
  policy_host: {ipv4: [192.0.2.40]}
domains:
  example.net: {mx: [mail.example.net]}
providers:
  pdns:
    type: powerdns
    url: "https://pdns.example.net:8443/"
    api_key_file: secrets/../keys/pdns.key
    ca_file: /abs/ca.pem
  other:
    type: powerdns
    url: "http://127.0.0.1:8081"
    api_key_env: PDNS_API_KEY
    ca_file: ca.pem
  bind:
    type: rfc2136
    server: ns1.example.net
    tsig: {name: stsctl-key., secret_file: ./tsig.secret}
publish:
  webroot: www
  ca_file: pki/ca.crt
state: var/state.db
)";
  SECTION("load_config_text uses base_dir") {
    auto result = load_ok(text, "/srv/conf");
    const Config& config = result.config;
    CHECK(powerdns(config, "pdns").api_key_file == "/srv/conf/keys/pdns.key");
    CHECK(powerdns(config, "pdns").ca_file == "/abs/ca.pem");
    CHECK(powerdns(config, "pdns").url == "https://pdns.example.net:8443");
    CHECK(powerdns(config, "other").api_key_env == "PDNS_API_KEY");
    CHECK(powerdns(config, "other").api_key_file.empty());
    CHECK(powerdns(config, "other").ca_file == "/srv/conf/ca.pem");
    CHECK(rfc2136(config, "bind").tsig.secret_file == "/srv/conf/tsig.secret");
    CHECK(rfc2136(config, "bind").tsig.name == "stsctl-key");
    CHECK(config.publish.webroot == "/srv/conf/www");
    CHECK(config.publish.ca_file == "/srv/conf/pki/ca.crt");
    CHECK(config.state_path == "/srv/conf/var/state.db");
  }
  SECTION("--state replaces the state path") {
    auto result = load_ok(text, "/srv/conf", "/tmp/other.db");
    CHECK(result.config.state_path == "/tmp/other.db");
  }
  SECTION("load_config uses the file's directory") {
    test::TempDir dir;
    std::filesystem::create_directories(dir.file("etc"));
    test::write_file(dir.file("etc/stsctl.yaml"), text);
    auto result = load_config(dir.file("etc/stsctl.yaml"));
    INFO(all_diagnostics(result));
    REQUIRE(result.ok());
    std::string base = std::filesystem::path(dir.file("etc")).lexically_normal().string();
    CHECK(result.config.file == dir.file("etc/stsctl.yaml"));
    CHECK(result.config.base_dir == base);
    CHECK(rfc2136(result.config, "bind").tsig.secret_file == base + "/tsig.secret");
    CHECK(result.config.state_path == base + "/var/state.db");
  }
}

TEST_CASE("the state file defaults to stsctl.db beside the config", "[config][load]") {
  test::TempDir dir;
  test::write_file(dir.file("stsctl.yaml"), k_minimal);
  auto result = load_config(dir.file("stsctl.yaml"));
  REQUIRE(result.ok());
  CHECK(result.config.state_path ==
        (std::filesystem::path(dir.path()) / "stsctl.db").lexically_normal().string());
}

TEST_CASE("provider settings are parsed with their defaults", "[config][load]") {
  auto result = load_ok(R"(version: 1
defaults:
  provider: v4
  policy_host: {ipv4: [192.0.2.40]}
domains:
  example.net: {mx: [mail.example.net]}
  example.org: {mx: [mail.example.net], provider: v6}
  example.com: {mx: [mail.example.net], provider: pdns}
providers:
  v4:
    type: rfc2136
    server: "192.0.2.53:5353"
    transport: udp
    timeout: 2.5
    tsig: {name: k1, algorithm: HMAC-SHA512, secret_env: TSIG_SECRET}
  v6:
    type: rfc2136
    server: "[2001:DB8::53]:53"
    allow_hmac_md5: true
    tsig: {name: k2.example., algorithm: hmac-md5.sig-alg.reg.int., secret_file: /etc/k2}
  host:
    type: rfc2136
    server: localhost
    tsig: {name: k3, algorithm: hmac-sha1, secret_file: k3}
  bare6:
    type: rfc2136
    server: "::1"
    tsig: {name: k4, secret_file: k4}
  pdns:
    type: powerdns
    url: "http://[::1]:8081"
    server_id: ns1
    api_key_env: PDNS_API_KEY
    timeout: 5
    notify: true
)");
  const Config& config = result.config;
  const Rfc2136Config& v4 = rfc2136(config, "v4");
  CHECK(v4.server_host == "192.0.2.53");
  CHECK(v4.server_port == 5353);
  CHECK(v4.transport == "udp");
  CHECK(v4.timeout_seconds == 2.5);
  CHECK(v4.tsig.algorithm == "hmac-sha512");
  CHECK(v4.tsig.secret_env == "TSIG_SECRET");
  CHECK(v4.tsig.secret_file.empty());
  CHECK_FALSE(v4.allow_hmac_md5);
  const Rfc2136Config& v6 = rfc2136(config, "v6");
  CHECK(v6.server_host == "2001:db8::53");
  CHECK(v6.server_port == 53);
  CHECK(v6.allow_hmac_md5);
  CHECK(v6.tsig.name == "k2.example");
  CHECK(v6.tsig.algorithm == "hmac-md5");
  const Rfc2136Config& host = rfc2136(config, "host");
  CHECK(host.server_host == "localhost");
  CHECK(host.server_port == 53);
  CHECK(host.tsig.algorithm == "hmac-sha1");
  CHECK(rfc2136(config, "bare6").server_host == "::1");
  CHECK(rfc2136(config, "bare6").server_port == 53);
  const PowerdnsConfig& pdns = powerdns(config, "pdns");
  CHECK(pdns.url == "http://[::1]:8081");
  CHECK(pdns.server_id == "ns1");
  CHECK(pdns.timeout_seconds == 5);
  CHECK(pdns.notify);
  CHECK(config.find_domain("example.net")->provider == "v4");
  CHECK(config.find_domain("example.org")->provider == "v6");
  CHECK(config.find_domain("example.com")->provider == "pdns");
}

TEST_CASE("rollout holds accept every unit; the last hold is ignored", "[config][load]") {
  auto result = load_ok(std::string(k_minimal) + R"(rollout:
  stages:
    - {mode: testing, max_age: 86400, hold: 90s}
    - {mode: testing, max_age: 86400, hold: 30m}
    - {mode: testing, max_age: 86400, hold: 12h}
    - {mode: enforce, max_age: 86400, hold: 7d}
    - {mode: enforce, max_age: 604800, hold: 2w}
    - {mode: enforce, max_age: 31557600, hold: 52w}
)");
  const auto& stages = result.config.stages;
  REQUIRE(stages.size() == 6);
  CHECK(stages[0].hold_seconds == 90);
  CHECK(stages[1].hold_seconds == 1800);
  CHECK(stages[2].hold_seconds == 43200);
  CHECK(stages[3].hold_seconds == 604800);
  CHECK(stages[4].hold_seconds == 1209600);
  CHECK_FALSE(stages[5].hold_seconds.has_value());
  CHECK(stages[5].max_age == 31557600);
}

TEST_CASE("rollout gates default to STARTTLS on port 25 and parse every key", "[config][load]") {
  auto defaults =
      load_ok(std::string(k_minimal) + "rollout:\n  stages:\n    - {mode: enforce, max_age: 86400}\n");
  CHECK(defaults.config.gates.starttls);
  CHECK(defaults.config.gates.smtp_port == 25);
  CHECK(defaults.config.gates.resolver.empty());
  CHECK(defaults.config.gates.ca_file.empty());
  CHECK(defaults.config.gates.smtp_connect_to.empty());
  CHECK(defaults.config.gates.timeout_seconds == 20);

  auto result = load_ok(std::string(k_minimal) + R"(rollout:
  gates:
    starttls: false
    smtp_port: 2525
    resolver: "127.0.0.1:5353"
    ca_file: certs/ca.pem
    timeout: 7.5
    connect_to: {"MX.example.net:25": "127.0.0.1:2525", ":25": "127.0.0.1", "mx2.example.net": "[::1]:25"}
  stages:
    - {mode: enforce, max_age: 86400}
)");
  const RolloutGates& gates = result.config.gates;
  CHECK_FALSE(gates.starttls);
  CHECK(gates.smtp_port == 2525);
  CHECK(gates.resolver == "127.0.0.1:5353");
  CHECK(gates.ca_file == "/etc/stsctl/certs/ca.pem");
  CHECK(gates.timeout_seconds == 7.5);
  CHECK(gates.smtp_connect_to == std::map<std::string, std::string>{{":25", "127.0.0.1"},
                                                                    {"mx.example.net:25", "127.0.0.1:2525"},
                                                                    {"mx2.example.net", "[::1]:25"}});
}

TEST_CASE("valid rua URIs and CAA values are accepted", "[config][load]") {
  auto result = load_ok(R"(version: 1
defaults:
  policy_host: {ipv4: [192.0.2.40]}
  tlsrpt:
    rua:
      - "mailto:tls-reports+mta%2Csts@example.net"
      - "https://reports.example.net:8443/v1/tlsrpt?x=1"
      - "https://reports.example.net"
  caa:
    - {tag: issue, value: "letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/1; validationmethods=dns-01"}
    - {tag: issuewild, value: ";"}
    - {tag: IODEF, value: "https://security.example.net/caa"}
domains:
  example.net: {mx: [mail.example.net]}
)");
  const DomainConfig& domain = result.config.domains[0];
  CHECK(domain.tlsrpt_rua.size() == 3);
  REQUIRE(domain.caa.size() == 3);
  CHECK(domain.caa[2].tag == "iodef");
}

TEST_CASE("format_diagnostic leaves out unknown parts", "[config][diagnostic]") {
  Diagnostic full{"stsctl.yaml", 14, 16, "domains.example.net.policy.max_age", "100 is below 86400"};
  CHECK(format_diagnostic(full) ==
        "stsctl.yaml:14:16: domains.example.net.policy.max_age: 100 is below 86400");
  Diagnostic no_key{"stsctl.yaml", 3, 38, "", "YAML syntax error: illegal flow end"};
  CHECK(format_diagnostic(no_key) == "stsctl.yaml:3:38: YAML syntax error: illegal flow end");
  Diagnostic no_place{"stsctl.yaml", 0, 0, "", "failed to read"};
  CHECK(format_diagnostic(no_place) == "stsctl.yaml: failed to read");
  Diagnostic line_only{"a.yaml", 7, 0, "version", "m"};
  CHECK(format_diagnostic(line_only) == "a.yaml:7: version: m");
  Diagnostic bare{"", 0, 0, "", "message"};
  CHECK(format_diagnostic(bare) == "message");
}

TEST_CASE("diagnostics_to_json gives an array of objects", "[config][diagnostic]") {
  CHECK(diagnostics_to_json({}) == "[]");
  std::vector<Diagnostic> diagnostics{
      {"stsctl.yaml", 14, 16, "domains.example.net.policy.max_age", "100 is below 86400"},
      {"stsctl.yaml", 2, 1, "", "say \"hi\""}};
  CHECK(diagnostics_to_json(diagnostics) ==
        R"([{"column":16,"file":"stsctl.yaml","key":"domains.example.net.policy.max_age","line":14,)"
        R"("message":"100 is below 86400"},{"column":1,"file":"stsctl.yaml","key":"","line":2,)"
        R"("message":"say \"hi\""}])");
}

TEST_CASE("a config of thousands of domains loads the same on every core, errors in file order", "[config]") {
  // Large enough that the domains are read in several batches on several
  // threads; the errors sit in different batches.
  std::string text =
      "version: 1\n"
      "defaults:\n"
      "  policy_host: {ipv4: [192.0.2.40]}\n"
      "domains:\n";
  const int k_domains = 5000;
  for (int i = 0; i < k_domains; ++i) {
    std::string name = "d" + std::to_string(i) + ".example";
    if (i == 10) {
      text += "  " + name + ": {mx: [mail.example.net], colour: blue}\n";  // line 15
    } else if (i == 2100) {
      text += "  " + name + ": {alias_of: nowhere.example}\n";  // line 2105
    } else if (i == 4700) {
      text += "  " + name + ": {mx: [\"mail.*.example.net\"]}\n";  // line 4705
    } else if (i % 7 == 3) {
      text += "  " + name + ": {alias_of: d" + std::to_string(i - 1) + ".example}\n";
    } else {
      text += "  " + name + ": {mx: [mail." + name + "]}\n";
    }
  }
  LoadResult result = load_config_text(text, "stsctl.yaml", "/etc/stsctl");
  std::vector<std::string> lines;
  for (const auto& diagnostic : result.diagnostics) {
    lines.push_back(format_diagnostic(diagnostic));
  }
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].rfind("stsctl.yaml:15:", 0) == 0);
  CHECK(lines[0].find("domains.d10.example.colour: unknown key 'colour'") != std::string::npos);
  CHECK(lines[1].rfind("stsctl.yaml:2105:", 0) == 0);
  CHECK(lines[1].find("'nowhere.example' is not a domain in this config") != std::string::npos);
  CHECK(lines[2].rfind("stsctl.yaml:4705:", 0) == 0);
  CHECK(lines[2].find("domains.d4700.example.mx[0]") != std::string::npos);

  // Without the errors the same file loads, domains sorted by name.
  text = test::replace_all(text, ", colour: blue", "");
  text = test::replace_all(text, "alias_of: nowhere.example", "mx: [mail.example.net]");
  text = test::replace_all(text, "\"mail.*.example.net\"", "mail.example.net");
  LoadResult good = load_ok(text);
  REQUIRE(good.config.domains.size() == k_domains);
  CHECK(std::is_sorted(good.config.domains.begin(), good.config.domains.end(),
                       [](const DomainConfig& a, const DomainConfig& b) { return a.name < b.name; }));
  const DomainConfig* alias = good.config.find_domain("d3.example");
  REQUIRE(alias != nullptr);
  CHECK(alias->alias_of == "d2.example");
  const DomainConfig* primary = good.config.find_domain("d4999.example");
  REQUIRE(primary != nullptr);
  CHECK(primary->mx == std::vector<std::string>{"mail.d4999.example"});
  CHECK(primary->policy_host.ipv4 == std::vector<std::string>{"192.0.2.40"});
}

TEST_CASE("rollout.gates.tlsrpt is absent by default and parses both keys", "[config][load]") {
  auto defaults =
      load_ok(std::string(k_minimal) + "rollout:\n  stages:\n    - {mode: enforce, max_age: 86400}\n");
  CHECK_FALSE(defaults.config.gates.tlsrpt.has_value());

  auto result = load_ok(std::string(k_minimal) + R"(rollout:
  gates: {tlsrpt: {max_failure_rate: 0.025, min_sessions: 5000}}
  stages:
    - {mode: enforce, max_age: 86400}
)");
  REQUIRE(result.config.gates.tlsrpt.has_value());
  CHECK(result.config.gates.tlsrpt->max_failure_rate == 0.025);
  CHECK(result.config.gates.tlsrpt->min_sessions == 5000);

  auto partial = load_ok(std::string(k_minimal) + R"(rollout:
  gates: {tlsrpt: {}}
  stages:
    - {mode: enforce, max_age: 86400}
)");
  REQUIRE(partial.config.gates.tlsrpt.has_value());
  CHECK(partial.config.gates.tlsrpt->max_failure_rate == 0.01);
  CHECK(partial.config.gates.tlsrpt->min_sessions == 100);
}
