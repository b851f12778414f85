#include "net/https_fetch.h"

#include "dns/name.h"
#include "util/handles.h"
#include "util/parallel.h"
#include "util/text.h"

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <poll.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace stsctl {

namespace {

using handle::CurlEasy;
using handle::CurlMulti;
using handle::CurlShare;
using handle::CurlSlist;

constexpr const char* k_user_agent = "stsctl/0.1";

int g_transfer_index = -1;  // SSL_CTX ex_data slot holding the Transfer

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g_transfer_index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  });
}

// The trust anchors every transfer of one call shares: the system store plus
// ca_file, read once. Empty `store` when they cannot be loaded.
struct SharedTrust {
  std::string ca_file;
  handle::X509Store store;

  explicit SharedTrust(const std::string& file) : ca_file(file), store(X509_STORE_new()) {
    if (store && (X509_STORE_set_default_paths(store.get()) != 1 ||
                  (!ca_file.empty() && X509_STORE_load_file(store.get(), ca_file.c_str()) != 1))) {
      store.reset();
    }
  }
};

// Whether the header line is "<name>:..." (names are case-insensitive, RFC 9110 5.1).
bool header_is(const std::string& line, const std::string& name) {
  return line.size() > name.size() && line[name.size()] == ':' &&
         iequals(std::string_view(line).substr(0, name.size()), name);
}

// One transfer's state; lives at a stable address while curl holds pointers to it.
struct Transfer {
  FetchResult result;
  CurlEasy easy;
  CurlSlist connect_to;
  CurlSlist resolve;
  SharedTrust* trust = nullptr;
  size_t index = 0;  // in the caller's domains
  size_t max_bytes = 0;
  bool ca_load_failed = false;
  char error_buffer[CURL_ERROR_SIZE] = {};
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  // RFC 8461 section 3.3 suggests a 64 KiB cap; MAXFILESIZE ignores unknown
  // lengths (chunked), so enforce it here. Returning short aborts the transfer.
  if (transfer->result.body.size() + bytes > transfer->max_bytes) {
    transfer->result.too_large = true;
    return 0;
  }
  transfer->result.body.append(data, bytes);
  return bytes;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  std::string line(data, bytes);
  if (line.compare(0, 5, "HTTP/") == 0) {
    // A new response (e.g. after 100 Continue): forget earlier headers.
    transfer->result.content_type.clear();
    transfer->result.location.clear();
  } else if (header_is(line, "content-type")) {
    transfer->result.content_type = std::string(trim(line.substr(13)));
  } else if (header_is(line, "location")) {
    transfer->result.location = std::string(trim(line.substr(9)));
  }
  return bytes;
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

// Notes the leaf certificate (expiry, issuer) and keeps OpenSSL's verdict, so
// curl still fails the transfer on a bad chain or name.
int on_verify(int preverify_ok, X509_STORE_CTX* store_ctx) {
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* transfer = ssl != nullptr
                       ? static_cast<Transfer*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), g_transfer_index))
                       : nullptr;
  X509* leaf = X509_STORE_CTX_get0_cert(store_ctx);
  if (transfer != nullptr && leaf != nullptr && !transfer->result.certificate_seen) {
    FetchResult& result = transfer->result;
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
  return preverify_ok;
}

// Per connection: hands the connection the call's one CA store (instead of
// curl parsing the bundle again for every connection) and watches the
// handshake's certificate.
CURLcode on_ssl_ctx(CURL* /*easy*/, void* ssl_ctx, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  auto* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  X509_STORE* store = transfer->trust->store.get();
  if (store == nullptr || X509_STORE_up_ref(store) != 1) {
    transfer->ca_load_failed = true;
    return CURLE_SSL_CACERT_BADFILE;
  }
  SSL_CTX_set_cert_store(ctx, store);  // takes the reference
  SSL_CTX_set_ex_data(ctx, g_transfer_index, transfer);
  SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), on_verify);
  return CURLE_OK;
}

// `forget`: policy hosts whose resolve entries curl may drop from its DNS
// cache (finished transfers); curl walks that cache on every name lookup,
// so entries left behind would make a large batch quadratic.
std::unique_ptr<Transfer> make_transfer(const std::string& domain, const FetchOptions& options,
                                        SharedTrust* trust, CURLSH* share,
                                        const std::vector<std::string>& forget = {}) {
  global_init();
  auto transfer = std::make_unique<Transfer>();
  transfer->result.url = "https://mta-sts." + normalize_name(domain) + "/.well-known/mta-sts.txt";
  transfer->max_bytes = options.max_bytes;
  transfer->trust = trust;
  transfer->easy.reset(curl_easy_init());
  if (!transfer->easy) {
    throw std::runtime_error("failed to create a curl handle");
  }
  CURL* easy = transfer->easy.get();
  for (const auto& [from, to] : options.connect_to) {
    std::string entry = from + ":" + to;
    curl_slist* appended = curl_slist_append(transfer->connect_to.get(), entry.c_str());
    if (appended == nullptr) {
      throw std::runtime_error("out of memory building connect_to list");
    }
    static_cast<void>(transfer->connect_to.release());  // now owned by `appended`
    transfer->connect_to.reset(appended);
  }
  auto append_resolve = [&](const std::string& entry) {
    curl_slist* appended = curl_slist_append(transfer->resolve.get(), entry.c_str());
    if (appended == nullptr) {
      throw std::runtime_error("out of memory building the resolve list");
    }
    static_cast<void>(transfer->resolve.release());  // now owned by `appended`
    transfer->resolve.reset(appended);
  };
  for (const auto& old_host : forget) {
    append_resolve("-" + old_host + ":443");
  }
  const std::string host = "mta-sts." + normalize_name(domain);
  auto addresses = options.resolve.find(host);
  if (addresses != options.resolve.end() && !addresses->second.empty() &&
      options.connect_to.count(host + ":443") == 0) {
    std::string entry = host + ":443:";
    for (size_t i = 0; i < addresses->second.size(); ++i) {
      const std::string& address = addresses->second[i];
      // curl wants IPv6 literals in brackets in a --resolve entry.
      entry += (i == 0 ? "" : ",") + (address.find(':') != std::string::npos ? "[" + address + "]" : address);
    }
    append_resolve(entry);
  }
  if (transfer->resolve) {
    curl_easy_setopt(easy, CURLOPT_RESOLVE, transfer->resolve.get());
  }
  auto timeout_ms = static_cast<long>(options.timeout_seconds * 1000);
  curl_easy_setopt(easy, CURLOPT_URL, transfer->result.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer.get());
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->error_buffer);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https");
  // RFC 8461 section 3.3: redirects are never followed; 3xx is a failure.
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  // Section 7.2: TLS 1.2 or later.
  curl_easy_setopt(easy, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, k_user_agent);
  // One request per policy host: an idle connection kept for reuse only
  // costs a socket and curl's liveness probes of its whole cache.
  curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer.get());
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, transfer.get());
  if (transfer->connect_to) {
    curl_easy_setopt(easy, CURLOPT_CONNECT_TO, transfer->connect_to.get());
  }
  if (curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx) == CURLE_OK) {
    curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, transfer.get());
    // The store comes from on_ssl_ctx: curl loads no bundle or directory itself.
    curl_easy_setopt(easy, CURLOPT_CAINFO, nullptr);
    curl_easy_setopt(easy, CURLOPT_CAPATH, nullptr);
  } else if (!options.ca_file.empty()) {
    // TLS backend without SSL_CTX access: the file replaces the system store.
    curl_easy_setopt(easy, CURLOPT_CAINFO, options.ca_file.c_str());
  }
  if (share != nullptr) {
    curl_easy_setopt(easy, CURLOPT_SHARE, share);
  }
  return transfer;
}

bool is_certificate_code(CURLcode code) {
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return true;
    default:
      return false;
  }
}

FetchResult finish(Transfer& transfer, CURLcode code) {
  FetchResult& result = transfer.result;
  CURL* easy = transfer.easy.get();
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  result.status = status;
  char* ip = nullptr;
  long port = 0;
  if (curl_easy_getinfo(easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip != nullptr && ip[0] != '\0' &&
      curl_easy_getinfo(easy, CURLINFO_PRIMARY_PORT, &port) == CURLE_OK) {
    std::string text(ip);
    result.address =
        (text.find(':') != std::string::npos ? "[" + text + "]" : text) + ":" + std::to_string(port);
  }
  std::string detail = transfer.error_buffer[0] != '\0' ? transfer.error_buffer : curl_easy_strerror(code);
  if (code == CURLE_OK) {
    result.transport_ok = true;
  } else if (result.too_large) {
    // The exchange worked but the body is unusable: reported as a failure so
    // nobody parses a truncated policy.
    result.body.clear();
    result.error = "failed to fetch '" + result.url + "' (body larger than " +
                   std::to_string(transfer.max_bytes) + " bytes)";
  } else if (transfer.ca_load_failed) {
    result.error = "failed to load CA file '" + transfer.trust->ca_file + "' for '" + result.url + "'";
  } else {
    result.certificate_error = is_certificate_code(code);
    result.timed_out = code == CURLE_OPERATION_TIMEDOUT;
    result.error = "failed to fetch '" + result.url + "' (" + detail + ")";
  }
  if (!result.transport_ok) {
    result.body.clear();
  }
  return std::move(result);
}

}  // namespace

FetchResult fetch_policy(const std::string& domain, const FetchOptions& options) {
  SharedTrust trust(options.ca_file);
  auto transfer = make_transfer(domain, options, &trust, nullptr);
  CURLcode code = curl_easy_perform(transfer->easy.get());
  return finish(*transfer, code);
}

namespace {

// One curl multi driven by its sockets (curl_multi_socket_action): a wake-up
// touches only the transfers whose socket is ready, where curl_multi_perform
// would step every handshake in flight (one EAGAIN read each) on every wake.
class SocketLoop {
 public:
  explicit SocketLoop(CURLM* multi) : m_multi(multi) {
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
  }

  // Waits for the next socket event or curl's timer (at most 1 s) and hands
  // what happened to curl.
  void step() {
    std::vector<pollfd> fds;
    fds.reserve(m_sockets.size());
    for (const auto& [fd, events] : m_sockets) {
      fds.push_back({fd, events, 0});
    }
    long wait_ms = 1000;
    if (m_timer_set) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(m_deadline - Clock::now()).count();
      wait_ms = std::clamp<long>(static_cast<long>(left), 0, 1000);
    }
    int running = 0;
    if (poll(fds.data(), fds.size(), static_cast<int>(wait_ms)) > 0) {
      for (const pollfd& entry : fds) {
        int flags = ((entry.revents & POLLIN) != 0 ? CURL_CSELECT_IN : 0) |
                    ((entry.revents & POLLOUT) != 0 ? CURL_CSELECT_OUT : 0) |
                    ((entry.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0 ? CURL_CSELECT_ERR : 0);
        if (flags != 0) {
          check(curl_multi_socket_action(m_multi, entry.fd, flags, &running));
        }
      }
    }
    if (m_timer_set && Clock::now() >= m_deadline) {
      m_timer_set = false;
      check(curl_multi_socket_action(m_multi, CURL_SOCKET_TIMEOUT, 0, &running));
    }
  }

 private:
  static void check(CURLMcode code) {
    if (code != CURLM_OK) {
      throw std::runtime_error(std::string("curl multi failed (") + curl_multi_strerror(code) + ")");
    }
  }
  static int on_socket(CURL* /*easy*/, curl_socket_t fd, int what, void* user, void* /*socket_data*/) {
    auto* loop = static_cast<SocketLoop*>(user);
    if (what == CURL_POLL_REMOVE) {
      loop->m_sockets.erase(fd);
    } else {
      loop->m_sockets[fd] = static_cast<short>(((what & CURL_POLL_IN) != 0 ? POLLIN : 0) |
                                               ((what & CURL_POLL_OUT) != 0 ? POLLOUT : 0));
    }
    return 0;
  }
  static int on_timer(CURLM* /*multi*/, long timeout_ms, void* user) {
    auto* loop = static_cast<SocketLoop*>(user);
    loop->m_timer_set = timeout_ms >= 0;
    loop->m_deadline = Clock::now() + std::chrono::milliseconds(std::max(0L, timeout_ms));
    return 0;
  }

  using Clock = std::chrono::steady_clock;
  CURLM* m_multi;
  std::map<curl_socket_t, short> m_sockets;
  bool m_timer_set = false;
  Clock::time_point m_deadline;
};

// Fetches domains[first], domains[first + stride], ... with at most `limit`
// transfers in flight on one curl multi; results go to the same indices.
void fetch_shard(const std::vector<std::string>& domains, size_t first, size_t stride, size_t limit,
                 const FetchOptions& options, SharedTrust& trust, std::vector<FetchResult>& results) {
  CurlMulti multi(curl_multi_init());
  if (!multi) {
    throw std::runtime_error("failed to create a curl multi handle");
  }
  SocketLoop loop(multi.get());
  // One TLS session cache for the shard's transfers: a server named twice resumes.
  CurlShare share(curl_share_init());
  if (share) {
    curl_share_setopt(share.get(), CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
  // Transfers by their index in `domains`; CURLOPT_PRIVATE finds them again.
  std::map<size_t, std::unique_ptr<Transfer>> active;
  // Policy hosts in flight (a name may come twice) and those done since the
  // last start, whose DNS cache entries the next transfer drops.
  std::map<std::string, int> hosts_in_flight;
  std::vector<std::string> forget;
  auto host_of = [&](size_t index) { return "mta-sts." + normalize_name(domains[index]); };
  size_t next = first;
  auto start_next = [&] {
    while (next < domains.size() && active.size() < limit) {
      auto transfer = make_transfer(domains[next], options, &trust, share.get(), forget);
      forget.clear();
      ++hosts_in_flight[host_of(next)];
      transfer->index = next;
      CURLMcode added = curl_multi_add_handle(multi.get(), transfer->easy.get());
      if (added != CURLM_OK) {
        throw std::runtime_error(std::string("failed to start a transfer (") + curl_multi_strerror(added) +
                                 ")");
      }
      active.emplace(next, std::move(transfer));
      next += stride;
    }
  };
  start_next();
  while (!active.empty()) {
    loop.step();
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi.get(), &queued)) {
      if (message->msg != CURLMSG_DONE) {
        continue;
      }
      CURL* easy = message->easy_handle;
      CURLcode code = message->data.result;
      char* user = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &user);
      size_t index = reinterpret_cast<Transfer*>(user)->index;
      curl_multi_remove_handle(multi.get(), easy);
      auto found = active.find(index);
      results[index] = finish(*found->second, code);
      active.erase(found);
      auto host = hosts_in_flight.find(host_of(index));
      if (--host->second == 0) {
        forget.push_back(host->first);
        hosts_in_flight.erase(host);
      }
    }
    start_next();
  }
}

}  // namespace

std::vector<FetchResult> fetch_policies(const std::vector<std::string>& domains, const FetchOptions& options,
                                        int parallel) {
  global_init();
  std::vector<FetchResult> results(domains.size());
  if (domains.empty()) {
    return results;
  }
  size_t limit = static_cast<size_t>(std::max(1, parallel));
  // The handshakes are CPU work (key exchange, certificate decoding and
  // verification): a large batch is split over the cores, each shard with its
  // own curl multi; the CA store is shared (OpenSSL locks it).
  size_t shards = std::min<size_t>({default_worker_count(), limit, std::max<size_t>(1, domains.size() / 64)});
  SharedTrust trust(options.ca_file);
  std::vector<std::exception_ptr> errors(shards);
  auto run = [&](size_t shard) {
    try {
      fetch_shard(domains, shard, shards, (limit + shards - 1 - shard) / shards, options, trust, results);
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
