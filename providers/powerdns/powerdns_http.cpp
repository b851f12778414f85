#include "powerdns/powerdns_http.h"

#include "provider.h"

#include <curl/curl.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>

namespace stsctl::powerdns {

namespace {

using CurlHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;

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

void wipe(std::string& text) {
  volatile char* p = text.empty() ? nullptr : &text[0];
  for (size_t i = 0; i < text.size(); ++i) {
    p[i] = '\0';
  }
  text.clear();
}

Secret::~Secret() { wipe(m_value); }

Secret::Secret(Secret&& other) noexcept : m_value(std::move(other.m_value)) { wipe(other.m_value); }

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    wipe(m_value);
    m_value = std::move(other.m_value);
    wipe(other.m_value);
  }
  return *this;
}

Secret load_api_key(const PowerdnsConfig& config) {
  const std::string prefix = "provider '" + config.name + "': ";
  std::string value;
  std::string source;
  if (!config.api_key_file.empty()) {
    source = "api_key_file '" + config.api_key_file + "'";
    std::ifstream in(config.api_key_file, std::ios::binary);
    if (!in) {
      throw ProviderError(ProviderError::Kind::Other, prefix + "failed to read " + source +
                                                          " (cannot open it): create it with the API key");
    }
    value.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } else if (!config.api_key_env.empty()) {
    source = "api_key_env '" + config.api_key_env + "'";
    const char* env = std::getenv(config.api_key_env.c_str());
    if (env == nullptr) {
      throw ProviderError(ProviderError::Kind::Other,
                          prefix + "environment variable '" + config.api_key_env +
                              "' (api_key_env) is not set: export the API key in it");
    }
    value = env;
  } else {
    throw ProviderError(ProviderError::Kind::Other,
                        prefix + "no API key configured: set api_key_file or api_key_env");
  }
  while (!value.empty() &&
         (value.back() == '\n' || value.back() == '\r' || value.back() == ' ' || value.back() == '\t')) {
    value.back() = '\0';
    value.pop_back();
  }
  register_secret(value);
  Secret key(std::move(value));
  wipe(value);
  if (key.empty()) {
    throw ProviderError(ProviderError::Kind::Other, prefix + source + " is empty: put the API key in it");
  }
  if (key.reveal().find_first_of("\r\n") != std::string::npos) {
    throw ProviderError(ProviderError::Kind::Other,
                        prefix + source + " holds more than one line: it must contain only the API key");
  }
  return key;
}

std::string redact_url(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) {
    return url;
  }
  size_t host_start = scheme + 3;
  size_t path = url.find('/', host_start);
  size_t at = url.rfind('@', path == std::string::npos ? std::string::npos : path);
  if (at == std::string::npos || at < host_start) {
    return url;
  }
  return url.substr(0, host_start) + url.substr(at + 1);
}

struct HttpClient::Impl {
  CurlHandle curl{nullptr, curl_easy_cleanup};
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
