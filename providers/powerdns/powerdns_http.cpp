#include "powerdns/powerdns_http.h"

#include "provider.h"
#include "util/handles.h"
#include "util/socket_address.h"
#include "util/text.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>

namespace stsctl::powerdns {

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t append_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// Frees a header list after wiping the strings it copied (one holds the key).
struct HeaderListDeleter {
  void operator()(curl_slist* list) const {
    for (curl_slist* item = list; item != nullptr; item = item->next) {
      for (char* p = item->data; *p != '\0'; ++p) {
        *const_cast<volatile char*>(p) = '\0';
      }
    }
    curl_slist_free_all(list);
  }
};
using HeaderList = std::unique_ptr<curl_slist, HeaderListDeleter>;

// A spare older than this is not used: the server may have timed it out
// (PowerDNS: webserver-connection-timeout, 5 s by default).
constexpr auto k_spare_max_age = std::chrono::milliseconds(1000);

// Notes whether the server announced it closes the connection (RFC 9112
// section 9.6): only then does a spare connection save the next request a
// connect.
size_t note_connection_close(char* data, size_t size, size_t count, void* user) {
  const size_t length = size * count;
  static const char k_name[] = "connection:";
  if (length > sizeof(k_name) - 1 && iequals(std::string(data, sizeof(k_name) - 1), k_name) &&
      ascii_lower(trim(std::string(data + sizeof(k_name) - 1, length - (sizeof(k_name) - 1)))) == "close") {
    *static_cast<bool*>(user) = true;
  }
  return length;
}

// A connected TCP socket that has seen no data and no hang-up yet.
bool connection_usable(int fd) {
  pollfd polled{fd, POLLIN | POLLOUT, 0};
  if (poll(&polled, 1, 0) != 1 || (polled.revents & (POLLIN | POLLHUP | POLLERR)) != 0 ||
      (polled.revents & POLLOUT) == 0) {
    return false;
  }
  int error = 0;
  socklen_t length = sizeof(error);
  return getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
}

// Starts a non-blocking TCP connect to ip:port; -1 when it cannot start.
int start_connect(const char* ip, int port) {
  std::optional<SocketAddress> address = socket_address(ip, static_cast<uint16_t>(port));
  if (!address) {
    return -1;
  }
  int fd = socket(address->family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) {
    return -1;
  }
  // As libcurl sets it: a request written in two parts must not wait for an ACK.
  int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  if (connect(fd, address->get(), address->length) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

struct Handover {
  int fd = -1;  // the spare for this request; -1 once libcurl has it
  int given = -1;
};

curl_socket_t open_socket(void* user, curlsocktype /*purpose*/, curl_sockaddr* address) {
  auto* handover = static_cast<Handover*>(user);
  if (handover->fd >= 0) {
    handover->given = handover->fd;
    handover->fd = -1;
    return handover->given;
  }
  return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

int socket_options(void* user, curl_socket_t fd, curlsocktype /*purpose*/) {
  return fd == static_cast<Handover*>(user)->given ? CURL_SOCKOPT_ALREADY_CONNECTED : CURL_SOCKOPT_OK;
}

}  // namespace

Secret load_api_key(const PowerdnsConfig& config) {
  const std::string prefix = "provider '" + config.name + "': ";
  if (config.api_key_file.empty() && config.api_key_env.empty()) {
    throw ProviderError(
        ProviderError::Kind::Other,
        prefix + "failed to read the API key (none configured): set api_key_file or api_key_env");
  }
  std::string why;
  Secret key = read_secret({config.api_key_file, config.api_key_env}, &why);
  if (key.empty()) {
    throw ProviderError(ProviderError::Kind::Other,
                        prefix + "failed to read the API key (" + why + "): put the key in " +
                            (config.api_key_file.empty() ? "api_key_env" : "api_key_file"));
  }
  if (key.reveal().find_first_of("\r\n") != std::string::npos) {
    throw ProviderError(ProviderError::Kind::Other,
                        prefix + "failed to read the API key (" +
                            (config.api_key_file.empty() ? "environment variable '" + config.api_key_env + "'"
                                                         : "file '" + config.api_key_file + "'") +
                            " holds more than one line): it must contain only the API key");
  }
  return key;
}

std::string redact_url(const std::string& url) {
  handle::CurlUrl parsed(curl_url());
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return url;
  }
  char* part = nullptr;
  bool has_user = curl_url_get(parsed.get(), CURLUPART_USER, &part, 0) == CURLUE_OK;
  handle::CurlString user(part);
  part = nullptr;
  bool has_password = curl_url_get(parsed.get(), CURLUPART_PASSWORD, &part, 0) == CURLUE_OK;
  handle::CurlString password(part);
  if (!has_user && !has_password) {
    return url;
  }
  curl_url_set(parsed.get(), CURLUPART_USER, nullptr, 0);
  curl_url_set(parsed.get(), CURLUPART_PASSWORD, nullptr, 0);
  part = nullptr;
  if (curl_url_get(parsed.get(), CURLUPART_URL, &part, 0) != CURLUE_OK) {
    return "(a URL with credentials)";
  }
  handle::CurlString shown(part);
  return shown.get();
}

std::string api_url(const std::string& base, const std::vector<std::string>& segments,
                    const std::vector<std::pair<std::string, std::string>>& query) {
  handle::CurlUrl url(curl_url());
  if (!url || curl_url_set(url.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK) {
    return "";
  }
  char* part = nullptr;
  curl_url_get(url.get(), CURLUPART_PATH, &part, 0);
  handle::CurlString old_path(part);
  std::string path = old_path ? old_path.get() : "";
  while (!path.empty() && path.back() == '/') {
    path.pop_back();
  }
  for (const auto& segment : segments) {
    handle::CurlString escaped(curl_easy_escape(nullptr, segment.c_str(), static_cast<int>(segment.size())));
    path += "/" + std::string(escaped ? escaped.get() : "");
  }
  curl_url_set(url.get(), CURLUPART_PATH, path.c_str(), 0);
  for (const auto& [name, value] : query) {
    const std::string pair = name + "=" + value;
    curl_url_set(url.get(), CURLUPART_QUERY, pair.c_str(), CURLU_APPENDQUERY | CURLU_URLENCODE);
  }
  part = nullptr;
  if (curl_url_get(url.get(), CURLUPART_URL, &part, 0) != CURLUE_OK) {
    return "";
  }
  handle::CurlString full(part);
  return full.get();
}

struct HttpClient::Impl {
  handle::CurlEasy curl;
  const Secret* key = nullptr;
  std::string ca_file;
  long timeout_ms = 10000;
  LogSink log;
  char error[CURL_ERROR_SIZE] = {};
  // Spare connection (keep_spare_connection).
  bool keep_spare = false;
  bool server_closes = false;  // the last answer said "Connection: close"
  bool closing_now = false;    // ... this one does (header callback)
  int spare = -1;
  std::chrono::steady_clock::time_point spare_opened;

  ~Impl() { drop_spare(); }
  void drop_spare() {
    if (spare >= 0) {
      close(spare);
      spare = -1;
    }
  }
  /// The spare, when it is fresh and still open; else -1 (and it is closed).
  int take_spare() {
    int fd = spare;
    spare = -1;
    if (fd >= 0 &&
        (std::chrono::steady_clock::now() - spare_opened > k_spare_max_age || !connection_usable(fd))) {
      close(fd);
      fd = -1;
    }
    return fd;
  }
  // Called by libcurl once this request's connection stands, so that a
  // server accepting one connection at a time meets this one first.
  static int open_spare(void* user, char* peer_ip, char* /*local_ip*/, int peer_port, int /*local_port*/) {
    auto* impl = static_cast<Impl*>(user);
    if (impl->keep_spare && impl->server_closes && impl->spare < 0) {
      impl->spare = start_connect(peer_ip, peer_port);
      impl->spare_opened = std::chrono::steady_clock::now();
    }
    return CURL_PREREQFUNC_OK;
  }
  CURLcode perform(Handover& handover, const std::string& method, const std::string& url,
                   const std::string& body, const curl_slist* headers, std::string& answer);
};

HttpClient::HttpClient(const Secret& key, const std::string& ca_file, double timeout_seconds, LogSink log)
    : m_impl(std::make_unique<Impl>()) {
  global_init();
  m_impl->curl.reset(curl_easy_init());
  if (!m_impl->curl) {
    throw std::runtime_error("curl_easy_init failed");
  }
  m_impl->key = &key;
  m_impl->ca_file = ca_file;
  m_impl->timeout_ms = timeout_seconds > 0 ? static_cast<long>(timeout_seconds * 1000) : 10000;
  m_impl->log = std::move(log);
}

HttpClient::~HttpClient() = default;

void HttpClient::keep_spare_connection(bool on) { m_impl->keep_spare = on; }

void HttpClient::close_spare_connection() { m_impl->drop_spare(); }

CURLcode HttpClient::Impl::perform(Handover& handover, const std::string& method, const std::string& url,
                                   const std::string& body, const curl_slist* headers, std::string& answer) {
  CURL* handle = curl.get();
  // Reset clears per-request options but keeps the connection cache.
  curl_easy_reset(handle);
  answer.clear();
  error[0] = '\0';
  closing_now = false;
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!ca_file.empty()) {
    curl_easy_setopt(handle, CURLOPT_CAINFO, ca_file.c_str());
  }
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.empty()) {
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  } else if (method == "PUT" || method == "POST" || method == "PATCH") {
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));
  }
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, note_connection_close);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &closing_now);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(handle, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(handle, CURLOPT_OPENSOCKETDATA, &handover);
  curl_easy_setopt(handle, CURLOPT_SOCKOPTFUNCTION, socket_options);
  curl_easy_setopt(handle, CURLOPT_SOCKOPTDATA, &handover);
  // The next request's connection, accepted by the server while this one runs.
  curl_easy_setopt(handle, CURLOPT_PREREQFUNCTION, &Impl::open_spare);
  curl_easy_setopt(handle, CURLOPT_PREREQDATA, this);
  CURLcode code = curl_easy_perform(handle);
  // The header list dies with the caller's scope; make sure curl no longer points at it.
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, nullptr);
  if (handover.fd >= 0) {
    close(handover.fd);  // libcurl reused a kept connection instead
    handover.fd = -1;
  }
  server_closes = code == CURLE_OK && closing_now;
  return code;
}

HttpResponse HttpClient::request(const std::string& method, const std::string& url, const std::string& body) {
  HttpResponse response;
  std::string key_header = "X-API-Key: " + m_impl->key->reveal();
  HeaderList headers(curl_slist_append(nullptr, key_header.c_str()));
  wipe(key_header);
  curl_slist_append(headers.get(), "Accept: application/json");
  if (!body.empty()) {
    curl_slist_append(headers.get(), "Content-Type: application/json");
    // No "Expect: 100-continue" round trip (up to 1 s) before a large body.
    curl_slist_append(headers.get(), "Expect:");
  }

  auto start = std::chrono::steady_clock::now();
  Handover handover;
  handover.fd = m_impl->take_spare();
  const bool on_spare = handover.fd >= 0;
  CURLcode code = m_impl->perform(handover, method, url, body, headers.get(), response.body);
  if (on_spare && (code == CURLE_GOT_NOTHING || code == CURLE_SEND_ERROR || code == CURLE_RECV_ERROR)) {
    // The server dropped the idle spare: once more on a new connection (the
    // requests sent here, GET, PUT notify and PATCH of REPLACE/DELETE, are
    // idempotent).
    Handover fresh;
    code = m_impl->perform(fresh, method, url, body, headers.get(), response.body);
  }
  auto elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();

  if (code != CURLE_OK) {
    response.curl_code = static_cast<int>(code);
    response.curl_error = m_impl->error[0] != '\0' ? m_impl->error : curl_easy_strerror(code);
  } else {
    response.transport_ok = true;
    curl_easy_getinfo(m_impl->curl.get(), CURLINFO_RESPONSE_CODE, &response.status);
  }
  if (m_impl->log) {
    std::string outcome =
        response.transport_ok ? std::to_string(response.status) : "failed: " + response.curl_error;
    m_impl->log(method + " " + redact_url(url) + " -> " + outcome + " (" + std::to_string(elapsed_ms) +
                " ms)");
  }
  return response;
}

}  // namespace stsctl::powerdns
