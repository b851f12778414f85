#include "powerdns/powerdns_provider_impl.h"

#include "util/parallel.h"
#include "util/text.h"

#include <curl/curl.h>

#include <chrono>
#include <random>
#include <sstream>
#include <thread>

namespace stsctl {

namespace powerdns {

namespace {

std::string format_seconds(double seconds) {
  std::ostringstream out;
  out << seconds;
  return out.str();
}

}  // namespace

std::string absolute_name(const std::string& name) {
  std::string result = ascii_lower(name);
  if (result.empty() || result.back() != '.') {
    result += '.';
  }
  return result;
}

std::string strip_dot(const std::string& zone) {
  if (!zone.empty() && zone.back() == '.') {
    return zone.substr(0, zone.size() - 1);
  }
  return zone;
}

// PowerDNS sends {"error": "..."} with 422 and plain text ("Not Found") with
// most other statuses.
std::string server_error_text(const HttpResponse& response) {
  std::string text;
  try {
    json parsed = json::parse(response.body);
    if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_string()) {
      text = parsed["error"].get<std::string>();
    }
  } catch (const json::exception&) {
  }
  if (text.empty()) {
    text = response.body;
  }
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') {
      c = ' ';
    }
  }
  while (!text.empty() && text.back() == ' ') {
    text.pop_back();
  }
  if (text.size() > k_max_error_text) {
    text = text.substr(0, k_max_error_text) + "...";
  }
  return text;
}

bool string_field(const json& object, const char* name, std::string& out) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) {
    return false;
  }
  out = it->get<std::string>();
  return true;
}

bool is_true(const json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

PowerdnsProvider::PowerdnsProvider(const PowerdnsConfig& config, PowerdnsLog log, PowerdnsReadTuning tuning)
    : m_config(config), m_key(load_api_key(config)), m_tuning(tuning) {
  std::string url = config.url;
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  m_base_url = url;
  m_shown_url = redact_url(url);
  if (log) {
    auto mutex = std::make_shared<std::mutex>();
    m_log = [mutex, log](const std::string& line) {
      std::lock_guard<std::mutex> lock(*mutex);
      log(line);
    };
  }
}

void PowerdnsProvider::for_each_parallel(size_t count, size_t workers,
                                         const std::function<void(size_t, HttpClient&)>& work,
                                         const std::function<void(size_t, const std::string&)>& fail) {
  std::function<bool(size_t)> one = [&](size_t i) {
    std::unique_ptr<HttpClient> client = take_client();
    try {
      work(i, *client);
    } catch (const std::exception& e) {
      fail(i, e.what());
    }
    give_client(std::move(client));
    return true;
  };
  std::function<void(size_t, bool&)> done = [](size_t, bool&) {};
  run_ordered(count, static_cast<unsigned>(std::max<size_t>(workers, 1)), one, done);
}

std::unique_ptr<HttpClient> PowerdnsProvider::take_client() {
  {
    std::lock_guard<std::mutex> lock(m_pool_mutex);
    if (!m_pool.empty()) {
      std::unique_ptr<HttpClient> client = std::move(m_pool.back());
      m_pool.pop_back();
      return client;
    }
  }
  return std::make_unique<HttpClient>(m_key, m_config.ca_file, m_config.timeout_seconds, m_log);
}

void PowerdnsProvider::drop_spare_connections() {
  std::lock_guard<std::mutex> lock(m_pool_mutex);
  for (auto& client : m_pool) {
    client->keep_spare_connection(false);
    client->close_spare_connection();
  }
}

void PowerdnsProvider::give_client(std::unique_ptr<HttpClient> client) {
  std::lock_guard<std::mutex> lock(m_pool_mutex);
  m_pool.push_back(std::move(client));
}

// Sends with retries on 500-504. With a gate, each attempt holds a gate slot
// (never while backing off) and a 5xx serialises later attempts.
// No retry starts once the call's deadline passed.
HttpResponse PowerdnsProvider::send(HttpClient& client, const std::string& method, const std::string& url,
                                    const std::string& body, WriteGate* gate, const ZoneBreaker* breaker) {
  thread_local std::mt19937 rng(std::random_device{}());
  HttpResponse response;
  for (int attempt = 0; attempt < k_max_attempts; ++attempt) {
    if (attempt > 0 && breaker != nullptr && breaker->past_deadline()) {
      break;
    }
    if (attempt > 0) {
      std::uniform_int_distribution<int> jitter(0, 20 << attempt);
      std::this_thread::sleep_for(std::chrono::milliseconds((10 << attempt) + jitter(rng)));
    }
    if (gate != nullptr) {
      gate->acquire();
    }
    response = client.request(method, url, body);
    if (gate != nullptr) {
      gate->release();
    }
    if (!response.transport_ok || response.status < 500 || response.status > 504) {
      break;
    }
    if (gate != nullptr) {
      gate->serialise();
    }
  }
  return response;
}

std::string PowerdnsProvider::url(const std::vector<std::string>& segments,
                                  const std::vector<std::pair<std::string, std::string>>& query) const {
  std::vector<std::string> path = {"api", "v1", "servers", m_config.server_id};
  path.insert(path.end(), segments.begin(), segments.end());
  return api_url(m_base_url, path, query);
}

std::string PowerdnsProvider::zone_url(const std::string& zone) const {
  return url({"zones", absolute_name(zone)});
}

std::string PowerdnsProvider::disabled_key(const std::string& zone) const {
  return m_base_url + " " + m_config.server_id + " " + absolute_name(zone);
}

std::string PowerdnsProvider::head(const std::string& verb, const std::string& zone) const {
  return "provider '" + m_config.name + "': failed to " + verb + " zone '" + zone + "' on " + m_shown_url;
}

ProviderError PowerdnsProvider::zone_missing(const std::string& verb, const std::string& zone,
                                             const std::string& cause) const {
  return ProviderError(ProviderError::Kind::ZoneMissing,
                       head(verb, zone) + cause + ": zone " + absolute_name(zone) + " not found on " +
                           m_shown_url + ": create the zone first (stsctl never creates zones), and check " +
                           "server_id '" + m_config.server_id + "'");
}

ProviderError PowerdnsProvider::failure(const std::string& verb, const std::string& zone,
                                        const HttpResponse& response) const {
  const std::string start = head(verb, zone);
  if (!response.transport_ok) {
    auto code = static_cast<CURLcode>(response.curl_code);
    if (code == CURLE_OPERATION_TIMEDOUT) {
      return ProviderError(ProviderError::Kind::Timeout,
                           start + " (no answer within " + format_seconds(m_config.timeout_seconds) +
                               " s: " + response.curl_error +
                               "): check that PowerDNS is healthy, or raise providers." + m_config.name +
                               ".timeout");
    }
    if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CONNECT_ERROR ||
        code == CURLE_SSL_CACERT_BADFILE) {
      return ProviderError(
          ProviderError::Kind::Unreachable,
          start + " (TLS: " + response.curl_error +
              "): set ca_file to the CA that signed the API server's certificate, or check url");
    }
    return ProviderError(
        ProviderError::Kind::Unreachable,
        start + " (" + response.curl_error +
            "): check that PowerDNS is running with api=yes and webserver=yes, and that url is "
            "right");
  }
  const std::string status = "HTTP " + std::to_string(response.status);
  const std::string text = server_error_text(response);
  const std::string cause = " (" + status + (text.empty() ? "" : ": " + text) + ")";
  switch (response.status) {
    case 401:
    case 403:
      return ProviderError(ProviderError::Kind::Auth,
                           start + cause +
                               ": the API key was refused; check api_key_file/api_key_env against api-key in "
                               "pdns.conf");
    case 404:
      return zone_missing(verb, zone, cause);
    case 409:
      return ProviderError(ProviderError::Kind::Conflict,
                           start + cause +
                               ": another change to the zone came first; run plan to see the zone as it is "
                               "now, then apply again");
    case 422:
      return ProviderError(
          ProviderError::Kind::Rejected,
          start + cause +
              ": PowerDNS rejected the change and applied none of it; fix what it names (plan "
              "shows the records sent) and apply again");
    default:
      break;
  }
  if (response.status >= 500) {
    return ProviderError(ProviderError::Kind::Other,
                         start + cause +
                             ": the PowerDNS server failed; its log says why, e.g. a backend database "
                             "it cannot write");
  }
  return ProviderError(
      ProviderError::Kind::Other,
      start + cause + ": check url (the API's root, like http://127.0.0.1:8081) and server_id");
}

}  // namespace powerdns

std::unique_ptr<Provider> make_powerdns_provider(const PowerdnsConfig& config) {
  return make_powerdns_provider_with_log(config, {});
}

std::unique_ptr<Provider> make_powerdns_provider_with_log(const PowerdnsConfig& config, PowerdnsLog log,
                                                          PowerdnsReadTuning tuning) {
  return std::make_unique<powerdns::PowerdnsProvider>(config, std::move(log), tuning);
}

}  // namespace stsctl
