#include "net/imap_client.h"

#include <curl/curl.h>
#include <openssl/crypto.h>

#include <cctype>
#include <sstream>

namespace stsctl {

namespace {

std::string percent_decode(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string percent_encode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

/// A mailbox name as an IMAP quoted string (RFC 3501 section 4.3).
std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

size_t append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

struct CurlFree {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

std::string ImapUrl::display() const {
  return "imaps://" + host + ":" + std::to_string(port) + "/" + percent_encode(mailbox);
}

ImapUrl parse_imap_url(const std::string& text) {
  const std::string scheme = "imaps://";
  const std::string shape = "'" + text + "' is not imaps://USER@HOST[:PORT]/MAILBOX";
  if (text.compare(0, scheme.size(), scheme) != 0) {
    throw ImapError(shape + " (only imaps:// is allowed: the password must not travel in clear)");
  }
  std::string rest = text.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : rest.substr(slash + 1);
  size_t at = authority.rfind('@');
  if (at == std::string::npos || at == 0) {
    throw ImapError(shape + " (no user)");
  }
  ImapUrl url;
  url.user = percent_decode(authority.substr(0, at));
  std::string host_port = authority.substr(at + 1);
  size_t colon = host_port.rfind(':');
  if (colon != std::string::npos && host_port.find(']') == std::string::npos) {
    std::string port = host_port.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(port) < 1 || std::stoi(port) > 65535) {
      throw ImapError(shape + " (bad port '" + port + "')");
    }
    url.port = std::stoi(port);
    host_port = host_port.substr(0, colon);
  }
  if (host_port.empty()) {
    throw ImapError(shape + " (no host)");
  }
  url.host = host_port;
  url.mailbox = path.empty() ? "INBOX" : percent_decode(path);
  return url;
}

struct ImapClient::Impl {
  ImapUrl url;
  std::string password;
  ImapOptions options;
  std::unique_ptr<CURL, CurlFree> curl;
  std::unique_ptr<curl_slist, SlistFree> connect_to;
  char error_buffer[CURL_ERROR_SIZE] = {};

  ~Impl() {
    if (!password.empty()) {
      OPENSSL_cleanse(&password[0], password.size());
    }
  }

  /// One IMAP command (or, with an empty `command`, a fetch of `path`).
  std::string run(const std::string& path, const std::string& command, const std::string& what) {
    CURL* handle = curl.get();
    std::string body;
    std::string target = url.display();
    curl_easy_setopt(handle, CURLOPT_URL, (target + path).c_str());
    curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, command.empty() ? nullptr : command.c_str());
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &body);
    error_buffer[0] = '\0';
    CURLcode code = curl_easy_perform(handle);
    if (code != CURLE_OK) {
      std::string cause = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
      throw ImapError("failed to " + what + " on " + target + " as " + url.user + " (" + cause + ")");
    }
    return body;
  }
};

ImapClient::ImapClient(ImapUrl url, const std::string& password, ImapOptions options)
    : m_impl(std::make_unique<Impl>()) {
  m_impl->url = std::move(url);
  m_impl->password = password;
  m_impl->options = std::move(options);
  m_impl->curl.reset(curl_easy_init());
  if (!m_impl->curl) {
    throw ImapError("cannot start libcurl");
  }
  CURL* handle = m_impl->curl.get();
  curl_easy_setopt(handle, CURLOPT_USERNAME, m_impl->url.user.c_str());
  curl_easy_setopt(handle, CURLOPT_PASSWORD, m_impl->password.c_str());
  curl_easy_setopt(handle, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!m_impl->options.ca_file.empty()) {
    curl_easy_setopt(handle, CURLOPT_CAINFO, m_impl->options.ca_file.c_str());
  }
  curl_slist* list = nullptr;
  for (const auto& entry : m_impl->options.connect_to) {
    list = curl_slist_append(list, entry.c_str());
  }
  m_impl->connect_to.reset(list);
  if (list != nullptr) {
    curl_easy_setopt(handle, CURLOPT_CONNECT_TO, list);
  }
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "imaps");
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(m_impl->options.timeout_seconds * 1000 * 10));
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(m_impl->options.timeout_seconds * 1000));
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, m_impl->error_buffer);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
}

ImapClient::~ImapClient() = default;

std::vector<uint64_t> ImapClient::unseen() {
  std::string answer = m_impl->run("", "UID SEARCH UNSEEN", "search unseen messages");
  std::vector<uint64_t> uids;
  std::istringstream lines(answer);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string star, keyword;
    words >> star >> keyword;
    if (star != "*" || keyword != "SEARCH") {
      continue;
    }
    uint64_t uid = 0;
    while (words >> uid) {
      uids.push_back(uid);
    }
  }
  return uids;
}

std::string ImapClient::fetch(uint64_t uid) {
  return m_impl->run("/;UID=" + std::to_string(uid), "", "fetch message UID " + std::to_string(uid));
}

void ImapClient::set_seen(uint64_t uid, bool seen) {
  m_impl->run("", "UID STORE " + std::to_string(uid) + (seen ? " +FLAGS" : " -FLAGS") + " (\\Seen)",
              "flag message UID " + std::to_string(uid));
}

void ImapClient::move(uint64_t uid, const std::string& mailbox) {
  m_impl->run("", "UID MOVE " + std::to_string(uid) + " " + quoted(mailbox),
              "move message UID " + std::to_string(uid) + " to " + mailbox);
}

}  // namespace stsctl
