#include "net/https_fetch.h"

#include "config/values.h"
#include "dns/name.h"
#include "net/address.h"
#include "net/tls_client.h"
#include "util/fd.h"
#include "util/handles.h"
#include "util/parallel.h"
#include "util/socket_address.h"
#include "util/text.h"

#include <http_parser.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace stsctl {

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* k_user_agent = "stsctl/0.1";
constexpr uint16_t k_https_port = 443;

int g_transfer_index = -1;  // SSL ex_data slot holding the Transfer

void global_init() {
  static std::once_flag once;
  std::call_once(once,
                 [] { g_transfer_index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr); });
}

using Endpoint = SocketAddress;

enum class Stage { Connect, Handshake, Send, Receive, Done };

// One fetch's state; lives at a stable address while OpenSSL and the HTTP
// parser hold pointers to it.
struct Transfer {
  FetchResult result;
  std::string host;
  std::vector<Endpoint> endpoints;
  size_t endpoint = 0;
  Fd fd;
  handle::Ssl ssl;
  Stage stage = Stage::Connect;
  short events = 0;  // what the socket waits for
  Clock::time_point deadline;
  long timeout_ms = 0;
  size_t max_bytes = 0;
  std::string request;
  size_t sent = 0;
  http_parser parser{};
  std::string field;
  std::string value;
  bool in_value = false;
  bool complete = false;
  std::string connect_error;  // the last address's connect failure
  size_t index = 0;           // in the caller's domains
};

Transfer& transfer_of(http_parser* parser) { return *static_cast<Transfer*>(parser->data); }

void commit_header(Transfer& transfer) {
  if (iequals(transfer.field, "content-type")) {
    transfer.result.content_type = std::string(trim(transfer.value));
  } else if (iequals(transfer.field, "location")) {
    transfer.result.location = std::string(trim(transfer.value));
  }
  transfer.field.clear();
  transfer.value.clear();
  transfer.in_value = false;
}

int on_header_field(http_parser* parser, const char* at, size_t length) {
  Transfer& transfer = transfer_of(parser);
  if (transfer.in_value) {
    commit_header(transfer);
  }
  transfer.field.append(at, length);
  return 0;
}

int on_header_value(http_parser* parser, const char* at, size_t length) {
  Transfer& transfer = transfer_of(parser);
  transfer.in_value = true;
  transfer.value.append(at, length);
  return 0;
}

int on_headers_complete(http_parser* parser) {
  Transfer& transfer = transfer_of(parser);
  if (transfer.in_value) {
    commit_header(transfer);
  }
  transfer.result.status = static_cast<long>(parser->status_code);
  return 0;
}

int on_body(http_parser* parser, const char* at, size_t length) {
  Transfer& transfer = transfer_of(parser);
  // RFC 8461 section 3.3 suggests a 64 KiB cap, whatever the framing.
  if (transfer.result.body.size() + length > transfer.max_bytes) {
    transfer.result.too_large = true;
    return 1;  // stops the parser
  }
  transfer.result.body.append(at, length);
  return 0;
}

int on_message_complete(http_parser* parser) {
  Transfer& transfer = transfer_of(parser);
  if (parser->status_code >= 100 && parser->status_code < 200) {
    // An interim response (RFC 9110 15.2): the real one follows.
    transfer.result.content_type.clear();
    transfer.result.location.clear();
    transfer.result.body.clear();
    return 0;
  }
  transfer.complete = true;
  return 0;
}

const http_parser_settings& parser_settings() {
  static const http_parser_settings settings = [] {
    http_parser_settings s{};
    http_parser_settings_init(&s);
    s.on_header_field = on_header_field;
    s.on_header_value = on_header_value;
    s.on_headers_complete = on_headers_complete;
    s.on_body = on_body;
    s.on_message_complete = on_message_complete;
    return s;
  }();
  return settings;
}

std::string issuer_field(const X509* cert, int nid) {
  const X509_NAME* issuer = X509_get_issuer_name(cert);
  int index = X509_NAME_get_index_by_NID(issuer, nid, -1);
  if (index < 0) {
    return "";
  }
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(issuer, index));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<size_t>(ASN1_STRING_length(data)));
}

// Notes the leaf certificate (expiry, issuer) once per transfer.
void note_certificate(FetchResult& result, const X509* leaf) {
  if (leaf == nullptr || result.certificate_seen) {
    return;
  }
  result.certificate_seen = true;
  int days = 0;
  int seconds = 0;
  if (ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(leaf)) == 1) {
    result.days_to_expiry = days - ((days == 0 && seconds < 0) ? 1 : 0);
  }
  char issuer[512] = {0};
  X509_NAME_oneline(X509_get_issuer_name(leaf), issuer, sizeof(issuer));
  result.certificate_issuer = issuer;
  result.issuer_organization = issuer_field(leaf, NID_organizationName);
}

// Notes the leaf and keeps OpenSSL's verdict, so a bad chain or name still
// fails the handshake.
int on_verify(int preverify_ok, X509_STORE_CTX* store_ctx) {
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* transfer = ssl != nullptr ? static_cast<Transfer*>(SSL_get_ex_data(ssl, g_transfer_index)) : nullptr;
  if (transfer != nullptr) {
    note_certificate(transfer->result, X509_STORE_CTX_get0_cert(store_ctx));
  }
  return preverify_ok;
}

// Where to connect for `host`: a connect_to entry ("host:443" or ":443", as
// curl --connect-to), else the given addresses (like curl --resolve), else
// the system resolver. Empty with *error set when there is nowhere to go.
std::vector<Endpoint> endpoints_for(const std::string& host, const FetchOptions& options,
                                    std::string* error) {
  std::vector<Endpoint> endpoints;
  const std::string port_text = std::to_string(k_https_port);
  auto mapped = options.connect_to.find(host + ":" + port_text);
  if (mapped == options.connect_to.end()) {
    mapped = options.connect_to.find(":" + port_text);
  }
  uint16_t port = k_https_port;
  std::vector<std::string> addresses;
  if (mapped != options.connect_to.end()) {
    HostPort target;
    if (auto problem = parse_host_port(mapped->second, k_https_port, &target)) {
      *error = "bad connect_to '" + mapped->second + "' (" + *problem + ")";
      return endpoints;
    }
    port = target.port;
    addresses = socket_address(target.host, port) ? std::vector<std::string>{target.host}
                                                  : resolve_addresses(target.host, error);
  } else {
    auto given = options.resolve.find(host);
    if (given != options.resolve.end() && !given->second.empty()) {
      addresses = given->second;
    } else {
      std::string why;
      addresses = resolve_addresses(host, &why);
      if (addresses.empty()) {
        *error = "could not resolve '" + host + "' (" + why + ")";
      }
    }
  }
  for (const auto& address : addresses) {
    if (auto endpoint = socket_address(address, port)) {
      endpoints.push_back(std::move(*endpoint));
    }
  }
  if (endpoints.empty() && error->empty()) {
    *error = "no address to connect to for '" + host + "'";
  }
  return endpoints;
}

// Drives one shard's transfers; every step is non-blocking.
class FetchLoop {
 public:
  FetchLoop(const FetchOptions& options, const TlsClient& tls) : m_options(options), m_tls(tls) {}

  void start(Transfer& t) {
    t.deadline = Clock::now() + std::chrono::milliseconds(t.timeout_ms);
    if (!m_tls.ok()) {
      fail(t, m_tls.error());
      return;
    }
    std::string error;
    t.endpoints = endpoints_for(t.host, m_options, &error);
    if (t.endpoints.empty()) {
      fail(t, error);
      return;
    }
    open_next(t);
  }

  // Advances `t` after its socket reported `revents`.
  void step(Transfer& t, short revents) {
    if (t.stage == Stage::Connect) {
      int so_error = 0;
      socklen_t length = sizeof(so_error);
      getsockopt(t.fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &length);
      if (so_error != 0 || (revents & (POLLERR | POLLHUP)) != 0) {
        connect_failed(t, so_error != 0 ? so_error : ECONNREFUSED);
        return;
      }
      begin_tls(t);
    } else if (t.stage == Stage::Handshake) {
      handshake(t);
    } else if (t.stage == Stage::Send) {
      send_request(t);
    } else if (t.stage == Stage::Receive) {
      receive(t);
    }
  }

  void time_out(Transfer& t) {
    const char* doing = t.stage == Stage::Connect     ? "connecting to "
                        : t.stage == Stage::Handshake ? "in the TLS handshake with "
                                                      : "waiting for the response from ";
    std::string where = t.endpoint < t.endpoints.size() ? t.endpoints[t.endpoint].text : t.host;
    t.result.timed_out = true;
    fail(t, "timed out after " + std::to_string(t.timeout_ms) + " ms " + doing + where);
  }

 private:
  void open_next(Transfer& t) {
    for (; t.endpoint < t.endpoints.size(); ++t.endpoint) {
      const Endpoint& endpoint = t.endpoints[t.endpoint];
      t.fd.reset(socket(endpoint.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      if (t.fd.get() < 0) {
        t.connect_error = "failed to create a socket (" + std::string(std::strerror(errno)) + ")";
        continue;
      }
      if (connect(t.fd.get(), endpoint.get(), endpoint.length) == 0) {
        begin_tls(t);
        return;
      }
      if (errno == EINPROGRESS) {
        t.stage = Stage::Connect;
        t.events = POLLOUT;
        return;
      }
      t.connect_error = "failed to connect to " + endpoint.text + " (" + std::strerror(errno) + ")";
    }
    fail(t, t.connect_error);
  }

  void connect_failed(Transfer& t, int error) {
    t.connect_error =
        "failed to connect to " + t.endpoints[t.endpoint].text + " (" + std::strerror(error) + ")";
    ++t.endpoint;
    open_next(t);
  }

  void begin_tls(Transfer& t) {
    const Endpoint& endpoint = t.endpoints[t.endpoint];
    t.result.address = endpoint.text;
    t.ssl = m_tls.connect_ssl(t.host, endpoint.text, true, on_verify);
    if (!t.ssl) {
      fail(t, "failed to start TLS with " + endpoint.text + " (" + openssl_errors() + ")");
      return;
    }
    SSL_set_ex_data(t.ssl.get(), g_transfer_index, &t);
    // A close without close_notify ends a body framed by the connection
    // (RFC 9112 6.3); the HTTP parser still notices a short Content-Length.
    SSL_set_options(t.ssl.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
    // Without read-ahead OpenSSL reads each record in two syscalls (header,
    // then body): 17 reads per fetch where 4 do. Every loop here calls
    // SSL_connect/SSL_read again until WANT_READ, so nothing buffered waits.
    SSL_set_read_ahead(t.ssl.get(), 1);
    SSL_set_fd(t.ssl.get(), t.fd.get());
    t.stage = Stage::Handshake;
    handshake(t);
  }

  // Sets what the socket waits for after an OpenSSL call returned `rc`;
  // false when the connection failed (the error is then in the queue).
  bool wait_for(Transfer& t, int rc, int* error) {
    *error = SSL_get_error(t.ssl.get(), rc);
    if (*error == SSL_ERROR_WANT_READ) {
      t.events = POLLIN;
      return true;
    }
    if (*error == SSL_ERROR_WANT_WRITE) {
      t.events = POLLOUT;
      return true;
    }
    return false;
  }

  void handshake(Transfer& t) {
    ERR_clear_error();
    int rc = SSL_connect(t.ssl.get());
    if (rc == 1) {
      t.result.resumed = SSL_session_reused(t.ssl.get()) == 1;
      // A resumed session verifies nothing: its certificate is the session's.
      note_certificate(t.result, SSL_get0_peer_certificate(t.ssl.get()));
      t.stage = Stage::Send;
      t.request = "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: " + t.host +
                  "\r\nUser-Agent: " + k_user_agent + "\r\nAccept: */*\r\nConnection: close\r\n\r\n";
      send_request(t);
      return;
    }
    int error = 0;
    if (wait_for(t, rc, &error)) {
      return;
    }
    long verdict = SSL_get_verify_result(t.ssl.get());
    if (verdict != X509_V_OK) {
      t.result.certificate_error = true;
      fail(t, std::string("SSL certificate problem: ") + X509_verify_cert_error_string(verdict));
      return;
    }
    std::string why = openssl_errors();
    if (why.empty()) {
      why = error == SSL_ERROR_SYSCALL && errno != 0 ? std::strerror(errno)
                                                     : "the server closed the connection";
    }
    fail(t, "TLS handshake with " + t.endpoints[t.endpoint].text + " failed (" + why + ")");
  }

  void send_request(Transfer& t) {
    while (t.sent < t.request.size()) {
      ERR_clear_error();
      int rc = SSL_write(t.ssl.get(), t.request.data() + t.sent, static_cast<int>(t.request.size() - t.sent));
      if (rc > 0) {
        t.sent += static_cast<size_t>(rc);
        continue;
      }
      int error = 0;
      if (!wait_for(t, rc, &error)) {
        fail(t, "failed to send the request to " + t.endpoints[t.endpoint].text);
      }
      return;
    }
    t.stage = Stage::Receive;
    http_parser_init(&t.parser, HTTP_RESPONSE);
    t.parser.data = &t;
    receive(t);
  }

  void receive(Transfer& t) {
    char buffer[16 * 1024];
    for (;;) {
      ERR_clear_error();
      int rc = SSL_read(t.ssl.get(), buffer, sizeof(buffer));
      if (rc > 0) {
        if (!parse(t, buffer, static_cast<size_t>(rc))) {
          return;
        }
        continue;
      }
      int error = 0;
      if (wait_for(t, rc, &error)) {
        return;
      }
      if (error == SSL_ERROR_ZERO_RETURN) {
        if (parse(t, nullptr, 0)) {  // end of input: completes a body framed by the close
          fail(t, "the server closed the connection before the response was complete");
        }
        return;
      }
      std::string why = openssl_errors();
      fail(t, "failed to read the response from " + t.endpoints[t.endpoint].text +
                  (why.empty() ? std::string() : " (" + why + ")"));
      return;
    }
  }

  // Feeds the parser; false when the transfer has ended (done or failed).
  bool parse(Transfer& t, const char* data, size_t length) {
    http_parser_execute(&t.parser, &parser_settings(), data, length);
    if (t.result.too_large) {
      fail(t, "");
      return false;
    }
    auto code = static_cast<http_errno>(t.parser.http_errno);
    if (t.complete) {
      t.result.transport_ok = true;
      t.stage = Stage::Done;
      // close_notify: a connection freed without it marks its session as
      // not resumable.
      SSL_shutdown(t.ssl.get());
      return false;
    }
    if (code != HPE_OK) {
      fail(t, std::string("malformed HTTP response from ") + t.endpoints[t.endpoint].text + " (" +
                  http_errno_description(code) + ")");
      return false;
    }
    return true;
  }

  void fail(Transfer& t, const std::string& detail) {
    FetchResult& result = t.result;
    result.transport_ok = false;
    result.body.clear();
    if (result.too_large) {
      // The exchange worked but the body is unusable: a failure, so nobody
      // parses a truncated policy.
      result.error =
          "failed to fetch '" + result.url + "' (body larger than " + std::to_string(t.max_bytes) + " bytes)";
    } else {
      result.error = "failed to fetch '" + result.url + "' (" + detail + ")";
    }
    t.stage = Stage::Done;
  }

  const FetchOptions& m_options;
  const TlsClient& m_tls;
};

std::unique_ptr<Transfer> make_transfer(const std::string& domain, size_t index,
                                        const FetchOptions& options) {
  auto transfer = std::make_unique<Transfer>();
  transfer->host = "mta-sts." + normalize_name(domain);
  transfer->result.url = "https://" + transfer->host + "/.well-known/mta-sts.txt";
  transfer->index = index;
  transfer->max_bytes = options.max_bytes;
  transfer->timeout_ms = static_cast<long>(options.timeout_seconds * 1000);
  return transfer;
}

// Fetches domains[first], domains[first + stride], ... with at most `limit`
// in flight; results go to the same indices.
void fetch_shard(const std::vector<std::string>& domains, size_t first, size_t stride, size_t limit,
                 const FetchOptions& options, const TlsClient& tls, std::vector<FetchResult>& results) {
  FetchLoop loop(options, tls);
  std::vector<std::unique_ptr<Transfer>> active;
  size_t next = first;
  auto settle = [&] {
    // Finished transfers hand their results back; new ones take their places.
    for (size_t i = 0; i < active.size();) {
      if (active[i]->stage == Stage::Done) {
        results[active[i]->index] = std::move(active[i]->result);
        active[i] = std::move(active.back());
        active.pop_back();
      } else {
        ++i;
      }
    }
    while (next < domains.size() && active.size() < limit) {
      active.push_back(make_transfer(domains[next], next, options));
      loop.start(*active.back());
      next += stride;
      if (active.back()->stage == Stage::Done) {
        results[active.back()->index] = std::move(active.back()->result);
        active.pop_back();
      }
    }
  };
  settle();
  std::vector<pollfd> fds;
  while (!active.empty()) {
    fds.clear();
    auto now = Clock::now();
    auto soonest = active.front()->deadline;
    for (const auto& t : active) {
      fds.push_back({t->fd.get(), t->events, 0});
      soonest = std::min(soonest, t->deadline);
    }
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(soonest - now).count();
    int ready = poll(fds.data(), fds.size(), static_cast<int>(std::clamp<long>(wait + 1, 0, 1000)));
    now = Clock::now();
    for (size_t i = 0; i < fds.size(); ++i) {
      Transfer& t = *active[i];
      if (ready > 0 && fds[i].revents != 0) {
        loop.step(t, fds[i].revents);
      }
      if (t.stage != Stage::Done && now >= t.deadline) {
        loop.time_out(t);
      }
    }
    settle();
  }
}

}  // namespace

FetchResult fetch_policy(const std::string& domain, const FetchOptions& options) {
  return std::move(fetch_policies({domain}, options, 1).front());
}

std::vector<FetchResult> fetch_policies(const std::vector<std::string>& domains, const FetchOptions& options,
                                        int parallel) {
  global_init();
  std::vector<FetchResult> results(domains.size());
  if (domains.empty()) {
    return results;
  }
  std::shared_ptr<const TlsClient> tls =
      options.tls ? options.tls : std::make_shared<TlsClient>(options.ca_file);
  size_t limit = static_cast<size_t>(std::max(1, parallel));
  // The handshakes are CPU work (key exchange, certificate decoding and
  // verification): a large batch is split over the cores, each shard with its
  // own event loop; the TLS context is shared (OpenSSL locks it).
  size_t shards = std::min<size_t>({default_worker_count(), limit, std::max<size_t>(1, domains.size() / 64)});
  std::vector<std::exception_ptr> errors(shards);
  auto run = [&](size_t shard) {
    try {
      fetch_shard(domains, shard, shards, (limit + shards - 1 - shard) / shards, options, *tls, results);
    } catch (...) {
      errors[shard] = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  for (size_t shard = 1; shard < shards; ++shard) {
    threads.emplace_back(run, shard);
  }
  run(0);
  for (auto& thread : threads) {
    thread.join();
  }
  for (const auto& error : errors) {
    if (error) {
      std::rethrow_exception(error);
    }
  }
  return results;
}

}  // namespace stsctl
