#include "net/imap_client.h"

#include <curl/curl.h>

#include <sstream>

#include "util/handles.h"
#include "util/secret.h"
#include "util/secrets.h"

namespace stsctl {

namespace {

/// `text` with every byte but RFC 3986 unreserved characters percent-encoded.
std::string percent_encode(const std::string& text) {
  handle::CurlString escaped(curl_easy_escape(nullptr, text.c_str(), static_cast<int>(text.size())));
  return escaped ? std::string(escaped.get()) : std::string();
}

/// One part of a parsed URL ("" when absent), percent-decoded when asked.
std::string url_part(CURLU* url, CURLUPart part, unsigned flags = 0) {
  char* raw = nullptr;
  if (curl_url_get(url, part, &raw, flags) != CURLUE_OK) {
    return "";
  }
  handle::CurlString owned(raw);
  return raw;
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
  handle::CurlUrl parsed(curl_url());
  CURLUcode rc = curl_url_set(parsed.get(), CURLUPART_URL, text.c_str(), 0);
  if (rc != CURLUE_OK) {
    throw ImapError(shape + " (" + curl_url_strerror(rc) + ")");
  }
  ImapUrl url;
  url.user = url_part(parsed.get(), CURLUPART_USER, CURLU_URLDECODE);
  if (url.user.empty()) {
    throw ImapError(shape + " (no user)");
  }
  std::string password = url_part(parsed.get(), CURLUPART_PASSWORD);
  if (!password.empty()) {
    register_secret(password);  // never echo it, not even in this message
    wipe(password);
    throw ImapError(
        "the IMAP URL holds a password, which process lists and logs would show: "
        "put it in --password-file or the environment variable instead");
  }
  url.host = url_part(parsed.get(), CURLUPART_HOST);
  if (url.host.empty()) {
    throw ImapError(shape + " (no host)");
  }
  url.port = std::stoi(url_part(parsed.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT));
  std::string path = url_part(parsed.get(), CURLUPART_PATH, CURLU_URLDECODE);
  if (!path.empty() && path.front() == '/') {
    path.erase(0, 1);
  }
  url.mailbox = path.empty() ? "INBOX" : path;
  return url;
}

struct ImapClient::Impl {
  ImapUrl url;
  Secret password;
  ImapOptions options;
  handle::CurlEasy curl;
  handle::CurlSlist connect_to;
  char error_buffer[CURL_ERROR_SIZE] = {};

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
  m_impl->password = Secret(std::string(password));
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
