#include "powerdns/powerdns_http.h"

#include "provider.h"
#include "util/handles.h"

#include <curl/curl.h>

#include <chrono>
#include <mutex>

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

HttpResponse HttpClient::request(const std::string& method, const std::string& url, const std::string& body) {
  CURL* curl = m_impl->curl.get();
  // Reset clears per-request options but keeps the connection cache.
  curl_easy_reset(curl);
  HttpResponse response;
  m_impl->error[0] = '\0';

  std::string key_header = "X-API-Key: " + m_impl->key->reveal();
  HeaderList headers(curl_slist_append(nullptr, key_header.c_str()));
  wipe(key_header);
  curl_slist_append(headers.get(), "Accept: application/json");
  if (!body.empty()) {
    curl_slist_append(headers.get(), "Content-Type: application/json");
    // No "Expect: 100-continue" round trip (up to 1 s) before a large body.
    curl_slist_append(headers.get(), "Expect:");
  }

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, m_impl->timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, m_impl->timeout_ms);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!m_impl->ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, m_impl->ca_file.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  } else if (method == "PUT" || method == "POST" || method == "PATCH") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, m_impl->error);

  auto start = std::chrono::steady_clock::now();
  CURLcode code = curl_easy_perform(curl);
  // The header list dies with this scope; make sure curl no longer points at it.
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  auto elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();

  if (code != CURLE_OK) {
    response.curl_code = static_cast<int>(code);
    response.curl_error = m_impl->error[0] != '\0' ? m_impl->error : curl_easy_strerror(code);
  } else {
    response.transport_ok = true;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
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
