#include "net/https_fetch.h"
#include "net/tls_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>

#include "support/nginx_server.h"
#include "support/support.h"
#include "support/test_ca.h"

using namespace stsctl;
using stsctl::test::CommandResult;
using stsctl::test::NginxHost;
using stsctl::test::NginxServer;
using stsctl::test::run_command;
using stsctl::test::TestCa;

namespace {

const std::string k_policy = "version: STSv1\r\nmode: enforce\r\nmx: mail.good.test\r\nmax_age: 604800\r\n";

// One nginx for the whole file: every case below is a host on it (SNI).
// Started on first use, stopped (by PID) when the test binary exits.
NginxServer* g_instance = nullptr;

NginxServer& server() {
  if (g_instance == nullptr) {
    g_instance = [] {
      std::vector<NginxHost> hosts;
      hosts.push_back({"mta-sts.good.test"});
      hosts.push_back({"mta-sts.other.test"});
      NginxHost wrong_name{"mta-sts.wrongname.test"};
      wrong_name.cert_names = {"mta-sts.somebody-else.test"};
      hosts.push_back(wrong_name);
      NginxHost expired{"mta-sts.expired.test"};
      expired.validity = TestCa::Validity::Expired;
      hosts.push_back(expired);
      NginxHost redirect{"mta-sts.redirect.test"};
      redirect.redirect = "https://mta-sts.good.test/.well-known/mta-sts.txt";
      hosts.push_back(redirect);
      hosts.push_back({"mta-sts.missing.test"});
      hosts.push_back({"mta-sts.big.test"});
      NginxHost html{"mta-sts.html.test"};
      html.content_type = "text/html";
      hosts.push_back(html);
      NginxHost broken{"mta-sts.broken.test"};
      broken.status = 503;
      hosts.push_back(broken);
      NginxHost chunked{"mta-sts.chunked.test"};
      chunked.chunked = true;
      hosts.push_back(chunked);
      NginxHost wildcard{"mta-sts.wild.test"};
      wildcard.cert_names = {"*.wild.test"};
      hosts.push_back(wildcard);

      NginxHost shared{"mta-sts.shared.test"};
      shared.cert_names = {"mta-sts.shared.test", "mta-sts.shared2.test"};
      hosts.push_back(shared);
      NginxHost shared2{"mta-sts.shared2.test"};
      shared2.cert_of = "mta-sts.shared.test";
      hosts.push_back(shared2);
      NginxHost unnamed{"mta-sts.unnamed.test"};  // the certificate above, which does not name it
      unnamed.cert_of = "mta-sts.shared.test";
      hosts.push_back(unnamed);

      auto* nginx = new NginxServer(hosts);
      nginx->write_policy("mta-sts.good.test", k_policy);
      nginx->write_policy("mta-sts.other.test",
                          "version: STSv1\r\nmode: testing\r\nmx: other.test\r\nmax_age: 86400\r\n");
      nginx->write_policy("mta-sts.wrongname.test", k_policy);
      nginx->write_policy("mta-sts.expired.test", k_policy);
      nginx->write_policy("mta-sts.big.test", std::string(70 * 1024, 'x'));
      nginx->write_policy("mta-sts.html.test", k_policy);
      nginx->write_policy("mta-sts.wild.test", k_policy);
      nginx->write_policy("mta-sts.chunked.test", k_policy);
      nginx->write_policy("mta-sts.shared.test", k_policy);
      nginx->write_policy("mta-sts.unnamed.test", k_policy);
      nginx->write_policy("mta-sts.shared2.test", k_policy);
      return nginx;
    }();
  }
  return *g_instance;
}

struct StopServerAtExit {
  ~StopServerAtExit() { delete g_instance; }
};

}  // namespace

TEST_CASE("fetch_policy gets a 200 text/plain policy with CRLFs intact", "[https_fetch]") {
  FetchResult result = fetch_policy("good.test", server().fetch_options());
  INFO(result.error);
  CHECK(result.url == "https://mta-sts.good.test/.well-known/mta-sts.txt");
  REQUIRE(result.transport_ok);
  CHECK(result.status == 200);
  CHECK(result.content_type == "text/plain");
  CHECK(result.body == k_policy);
  CHECK_FALSE(result.certificate_error);
  CHECK_FALSE(result.too_large);
  CHECK(result.location.empty());
}

TEST_CASE("fetch_policy reads a chunked response", "[https_fetch]") {
  // The server really sends it chunked (no Content-Length).
  CommandResult head =
      run_command({"curl", "-sS", "-D", "-", "-o", "/dev/null", "--cacert", server().ca_file(),
                   "--connect-to", "mta-sts.chunked.test:443:127.0.0.1:" + std::to_string(server().port()),
                   "https://mta-sts.chunked.test/.well-known/mta-sts.txt"});
  INFO(head.out << head.err);
  REQUIRE(head.out.find("Transfer-Encoding: chunked") != std::string::npos);
  FetchResult result = fetch_policy("chunked.test", server().fetch_options());
  INFO(result.error);
  CHECK(result.transport_ok);
  CHECK(result.status == 200);
  CHECK(result.body == k_policy);
  CHECK(result.content_type == "text/plain");
}

TEST_CASE("fetches sharing one TLS context resume the session of a host met before", "[https_fetch]") {
  FetchOptions options = server().fetch_options();
  options.tls = std::make_shared<TlsClient>(options.ca_file);
  FetchResult first = fetch_policy("good.test", options);
  FetchResult again = fetch_policy("good.test", options);
  FetchResult other = fetch_policy("other.test", options);
  INFO(first.error << again.error << other.error);
  CHECK(first.status == 200);
  CHECK_FALSE(first.resumed);
  CHECK(again.status == 200);
  CHECK(again.resumed);
  CHECK(again.body == k_policy);
  // A resumed session still reports the certificate it was made with.
  CHECK(again.certificate_seen);
  CHECK(again.days_to_expiry == first.days_to_expiry);
  CHECK_FALSE(other.resumed);
  // Without a shared context every call starts afresh.
  CHECK_FALSE(fetch_policy("good.test", server().fetch_options()).resumed);
}

TEST_CASE("fetch_policy normalises the domain", "[https_fetch]") {
  FetchResult result = fetch_policy("Good.TEST.", server().fetch_options());
  CHECK(result.url == "https://mta-sts.good.test/.well-known/mta-sts.txt");
  CHECK(result.status == 200);
}

TEST_CASE("fetch_policy accepts a wildcard certificate", "[https_fetch]") {
  FetchResult result = fetch_policy("wild.test", server().fetch_options());
  INFO(result.error);
  CHECK(result.transport_ok);
  CHECK(result.status == 200);
}

TEST_CASE("fetch_policy reports the media type as sent", "[https_fetch]") {
  FetchResult result = fetch_policy("html.test", server().fetch_options());
  REQUIRE(result.transport_ok);
  CHECK(result.status == 200);
  CHECK(result.content_type == "text/html");
}

TEST_CASE("fetch_policy rejects a certificate from an untrusted CA", "[https_fetch]") {
  TestCa other_ca("Another Test CA");
  FetchOptions options = server().fetch_options();
  options.ca_file = other_ca.ca_file();
  FetchResult result = fetch_policy("good.test", options);
  CHECK_FALSE(result.transport_ok);
  CHECK(result.certificate_error);
  CHECK(result.body.empty());
  CHECK(result.error.find("https://mta-sts.good.test/.well-known/mta-sts.txt") != std::string::npos);
  CHECK(result.error.find("certificate") != std::string::npos);

  SECTION("and without any private CA (system store only)") {
    options.ca_file.clear();
    FetchResult plain = fetch_policy("good.test", options);
    CHECK_FALSE(plain.transport_ok);
    CHECK(plain.certificate_error);
  }
}

TEST_CASE("fetch_policy rejects a certificate for another name", "[https_fetch]") {
  FetchResult result = fetch_policy("wrongname.test", server().fetch_options());
  CHECK_FALSE(result.transport_ok);
  CHECK(result.certificate_error);
  INFO(result.error);
  CHECK(result.error.find("mta-sts.wrongname.test") != std::string::npos);
}

TEST_CASE("fetch_policy rejects an expired certificate", "[https_fetch]") {
  FetchResult result = fetch_policy("expired.test", server().fetch_options());
  CHECK_FALSE(result.transport_ok);
  CHECK(result.certificate_error);
  INFO(result.error);
  CHECK(result.error.find("expired") != std::string::npos);
}

TEST_CASE("fetch_policy does not follow redirects", "[https_fetch]") {
  FetchResult result = fetch_policy("redirect.test", server().fetch_options());
  REQUIRE(result.transport_ok);
  CHECK(result.status == 301);
  CHECK(result.location == "https://mta-sts.good.test/.well-known/mta-sts.txt");
  CHECK(result.body.find("STSv1") == std::string::npos);
}

TEST_CASE("fetch_policy reports HTTP errors as statuses", "[https_fetch]") {
  FetchResult missing = fetch_policy("missing.test", server().fetch_options());
  REQUIRE(missing.transport_ok);
  CHECK(missing.status == 404);

  FetchResult broken = fetch_policy("broken.test", server().fetch_options());
  REQUIRE(broken.transport_ok);
  CHECK(broken.status == 503);
}

TEST_CASE("fetch_policy caps the body", "[https_fetch]") {
  FetchResult result = fetch_policy("big.test", server().fetch_options());
  CHECK(result.too_large);
  CHECK_FALSE(result.transport_ok);  // a truncated policy must never be parsed
  CHECK_FALSE(result.certificate_error);
  CHECK(result.status == 200);
  CHECK(result.body.empty());
  CHECK(result.error.find("65536") != std::string::npos);

  FetchOptions roomy = server().fetch_options();
  roomy.max_bytes = 128 * 1024;
  FetchResult whole = fetch_policy("big.test", roomy);
  CHECK(whole.transport_ok);
  CHECK(whole.body.size() == 70 * 1024);
}

TEST_CASE("fetch_policy reports a refused connection", "[https_fetch]") {
  FetchOptions options;
  options.ca_file = server().ca_file();
  options.connect_to["mta-sts.nobody.test:443"] = "127.0.0.1:" + std::to_string(test::free_port());
  options.timeout_seconds = 5;
  FetchResult result = fetch_policy("nobody.test", options);
  CHECK_FALSE(result.transport_ok);
  CHECK_FALSE(result.certificate_error);
  CHECK_FALSE(result.timed_out);
  CHECK(result.status == 0);
  CHECK(result.error.find("mta-sts.nobody.test") != std::string::npos);
}

TEST_CASE("fetch_policy times out on a silent server", "[https_fetch]") {
  // Listening socket that never answers: the TCP handshake completes in the
  // kernel, the TLS handshake never does.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd, 4) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);

  FetchOptions options;
  options.connect_to["mta-sts.silent.test:443"] = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  options.timeout_seconds = 1;
  auto start = std::chrono::steady_clock::now();
  FetchResult result = fetch_policy("silent.test", options);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ::close(fd);
  CHECK_FALSE(result.transport_ok);
  CHECK(result.timed_out);
  CHECK_FALSE(result.certificate_error);
  CHECK(elapsed < std::chrono::seconds(5));
}

TEST_CASE("fetch_policy names an unreadable CA file", "[https_fetch]") {
  FetchOptions options = server().fetch_options();
  options.ca_file = server().dir() + "/no-such-ca.pem";
  FetchResult result = fetch_policy("good.test", options);
  CHECK_FALSE(result.transport_ok);
  CHECK_FALSE(result.certificate_error);
  CHECK(result.error.find("no-such-ca.pem") != std::string::npos);
}

TEST_CASE("fetch_policies returns results in input order", "[https_fetch]") {
  std::vector<std::string> domains{"good.test",     "missing.test",   "other.test", "expired.test",
                                   "redirect.test", "wrongname.test", "good.test",  "big.test"};
  for (int parallel : {1, 3, 32}) {
    INFO("parallel " << parallel);
    std::vector<FetchResult> results = fetch_policies(domains, server().fetch_options(), parallel);
    REQUIRE(results.size() == domains.size());
    for (size_t i = 0; i < domains.size(); ++i) {
      CHECK(results[i].url == "https://mta-sts." + domains[i] + "/.well-known/mta-sts.txt");
    }
    CHECK(results[0].status == 200);
    CHECK(results[0].body == k_policy);
    CHECK(results[1].status == 404);
    CHECK(results[2].status == 200);
    CHECK(results[2].body.find("mx: other.test") != std::string::npos);
    CHECK(results[3].certificate_error);
    CHECK(results[4].status == 301);
    CHECK(results[5].certificate_error);
    CHECK(results[6].body == k_policy);
    CHECK(results[7].too_large);
  }
  CHECK(fetch_policies({}, server().fetch_options()).empty());
}

TEST_CASE("fetch_policies handles many domains", "[https_fetch]") {
  std::vector<std::string> domains;
  for (int i = 0; i < 60; ++i) {
    domains.push_back(i % 2 == 0 ? "good.test" : "other.test");
  }
  std::vector<FetchResult> results = fetch_policies(domains, server().fetch_options(), 8);
  REQUIRE(results.size() == 60);
  for (size_t i = 0; i < results.size(); ++i) {
    INFO(i << ": " << results[i].error);
    CHECK(results[i].status == 200);
    CHECK(results[i].body.find(i % 2 == 0 ? "mx: mail.good.test" : "mx: other.test") != std::string::npos);
  }
}

TEST_CASE("fetch_policies splits a large batch over threads and keeps the order", "[https_fetch]") {
  // 150 domains make more than one shard (one per 64 domains, up to a thread
  // per core); failures must land at their own index too.
  const std::vector<std::string> kinds{"good.test", "other.test", "missing.test", "expired.test"};
  std::vector<std::string> domains;
  for (size_t i = 0; i < 150; ++i) {
    domains.push_back(kinds[i % kinds.size()]);
  }
  std::vector<FetchResult> results = fetch_policies(domains, server().fetch_options(), 16);
  REQUIRE(results.size() == domains.size());
  for (size_t i = 0; i < results.size(); ++i) {
    INFO(i << ": " << results[i].error);
    CHECK(results[i].url == "https://mta-sts." + domains[i] + "/.well-known/mta-sts.txt");
    switch (i % kinds.size()) {
      case 0:
        CHECK(results[i].body == k_policy);
        break;
      case 1:
        CHECK(results[i].body.find("mx: other.test") != std::string::npos);
        break;
      case 2:
        CHECK(results[i].status == 404);
        break;
      default:
        CHECK(results[i].certificate_error);
    }
  }
}

namespace {
// Stops nginx before static destruction of anything it uses.
StopServerAtExit g_stop_server;
}  // namespace

TEST_CASE("fetch_policy notes the served certificate and the address used", "[https_fetch]") {
  FetchResult good = fetch_policy("good.test", server().fetch_options());
  REQUIRE(good.transport_ok);
  CHECK(good.certificate_seen);
  CHECK(good.days_to_expiry >= 6);  // test leaves live 7 days
  CHECK(good.certificate_issuer.find("/CN=") != std::string::npos);
  CHECK(good.address == "127.0.0.1:" + std::to_string(server().port()));

  // Seen also when the handshake fails on it.
  FetchResult expired = fetch_policy("expired.test", server().fetch_options());
  CHECK_FALSE(expired.transport_ok);
  CHECK(expired.certificate_seen);
  CHECK(expired.days_to_expiry < 0);
}

TEST_CASE("fetch_policies: each transfer notes its own certificate with a shared CA store", "[https_fetch]") {
  // Each transfer gets its own certificate notes although the store is shared.
  std::vector<std::string> domains = {"good.test", "expired.test", "other.test", "wild.test"};
  std::vector<FetchResult> results = fetch_policies(domains, server().fetch_options(), 4);
  REQUIRE(results.size() == 4);
  CHECK(results[0].transport_ok);
  CHECK(results[1].certificate_error);
  CHECK(results[1].days_to_expiry < 0);
  CHECK(results[2].transport_ok);
  CHECK(results[3].transport_ok);
  for (const auto& result : {results[0], results[2], results[3]}) {
    CHECK(result.certificate_seen);
    CHECK(result.days_to_expiry >= 6);
  }
}

TEST_CASE("a chain verified before is not accepted for a host its certificate does not name",
          "[https_fetch]") {
  // One TLS context remembers chains it verified; a second host serving the
  // same certificate must still be held to the name.
  FetchOptions options = server().fetch_options();
  options.tls = std::make_shared<TlsClient>(options.ca_file);
  FetchResult named = fetch_policy("shared.test", options);
  FetchResult unnamed = fetch_policy("unnamed.test", options);
  FetchResult named_too = fetch_policy("shared2.test", options);  // another host: no session to resume
  FetchResult fresh = fetch_policy("unnamed.test", server().fetch_options());
  INFO(named.error);
  CHECK(named.transport_ok);
  CHECK_FALSE(unnamed.transport_ok);
  CHECK(unnamed.certificate_error);
  // The same verdict and text as from a context that never saw the chain.
  CHECK(unnamed.error == fresh.error);
  CHECK(unnamed.error ==
        "failed to fetch 'https://mta-sts.unnamed.test/.well-known/mta-sts.txt' "
        "(SSL certificate problem: hostname mismatch)");
  // The chain remembered still yields the certificate's notes.
  REQUIRE(named_too.transport_ok);
  CHECK_FALSE(named_too.resumed);
  CHECK(named_too.certificate_seen);
  CHECK(named_too.days_to_expiry == named.days_to_expiry);
  CHECK(named_too.certificate_issuer == named.certificate_issuer);
  CHECK(options.tls->reused_chains() == 1);  // shared2.test, not unnamed.test
}

TEST_CASE("a chain that failed is verified again, not remembered", "[https_fetch]") {
  FetchOptions options = server().fetch_options();
  options.tls = std::make_shared<TlsClient>(options.ca_file);
  for (int round = 0; round < 2; ++round) {
    FetchResult expired = fetch_policy("expired.test", options);
    CHECK_FALSE(expired.transport_ok);
    CHECK(expired.certificate_error);
    CHECK(expired.days_to_expiry < 0);
  }
}
