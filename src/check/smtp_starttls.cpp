#include "check/smtp_starttls.h"
#include "util/fd.h"
#include "util/handles.h"
#include "util/parallel.h"

#include "config/values.h"
#include "dns/name.h"
#include "net/tls_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>

namespace stsctl {

namespace {

struct Target {
  std::string host;
  std::string port;
};

// Connects with a deadline; returns -1 and sets `error` on failure.
int connect_with_timeout(const Target& target, double timeout_seconds, std::string* address,
                         std::string* error, bool* timed_out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  int rc = getaddrinfo(target.host.c_str(), target.port.c_str(), &hints, &raw);
  if (rc != 0) {
    *error = "failed to resolve '" + target.host + "' (" + gai_strerror(rc) + ")";
    return -1;
  }
  handle::AddrInfo list(raw);
  int timeout_ms = static_cast<int>(timeout_seconds * 1000);
  for (addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    char text[INET6_ADDRSTRLEN] = {0};
    const void* in = ai->ai_family == AF_INET
                         ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr)
                         : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr);
    inet_ntop(ai->ai_family, in, text, sizeof(text));
    *address =
        (ai->ai_family == AF_INET6 ? "[" + std::string(text) + "]" : std::string(text)) + ":" + target.port;
    Fd fd(socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (fd.get() < 0) {
      *error = std::string("failed to create a socket (") + std::strerror(errno) + ")";
      continue;
    }
    int flags = fcntl(fd.get(), F_GETFL, 0);
    fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK);
    int result = connect(fd.get(), ai->ai_addr, ai->ai_addrlen);
    if (result < 0 && errno != EINPROGRESS) {
      *error = "failed to connect to " + *address + " (" + std::strerror(errno) + ")";
      continue;
    }
    if (result < 0) {
      pollfd pfd{fd.get(), POLLOUT, 0};
      int ready = poll(&pfd, 1, timeout_ms);
      if (ready == 0) {
        *error = "failed to connect to " + *address + " (timed out)";
        *timed_out = true;
        continue;
      }
      int so_error = 0;
      socklen_t length = sizeof(so_error);
      getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &length);
      if (ready < 0 || so_error != 0) {
        *error =
            "failed to connect to " + *address + " (" + std::strerror(so_error != 0 ? so_error : errno) + ")";
        continue;
      }
    }
    fcntl(fd.get(), F_SETFL, flags);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout_seconds);
    tv.tv_usec = static_cast<suseconds_t>((timeout_seconds - std::floor(timeout_seconds)) * 1e6);
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    *timed_out = false;
    return fd.release();
  }
  return -1;
}

// Reads one SMTP reply (RFC 5321 4.2: "ddd-" continues, "ddd " ends).
bool read_reply(int fd, std::string* pending, std::string* reply, int* code, bool* timed_out) {
  reply->clear();
  for (;;) {
    size_t nl = pending->find('\n');
    while (nl == std::string::npos) {
      char buffer[2048];
      ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) {
        *timed_out = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
        return false;
      }
      pending->append(buffer, static_cast<size_t>(n));
      if (pending->size() > 64 * 1024) {
        return false;
      }
      nl = pending->find('\n');
    }
    std::string line = pending->substr(0, nl);
    pending->erase(0, nl + 1);
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    *reply += line + "\n";
    if (line.size() < 3) {
      return false;
    }
    if (line.size() == 3 || line[3] == ' ') {
      *code = std::atoi(line.substr(0, 3).c_str());
      return true;
    }
  }
}

bool send_all(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    sent += static_cast<size_t>(n);
  }
  return true;
}

bool offers_starttls(const std::string& ehlo_reply) {
  size_t pos = 0;
  while (pos < ehlo_reply.size()) {
    size_t nl = ehlo_reply.find('\n', pos);
    std::string line = ehlo_reply.substr(pos, nl - pos);
    if (line.size() >= 4) {
      std::string keyword = line.substr(4);
      for (auto& c : keyword) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      if (keyword == "STARTTLS" || keyword.rfind("STARTTLS ", 0) == 0) {
        return true;
      }
    }
    if (nl == std::string::npos) {
      break;
    }
    pos = nl + 1;
  }
  return false;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

SmtpResult probe_smtp(const std::string& host, const SmtpOptions& options,
                      const std::vector<std::string>& addresses) {
  if (options.tls) {
    return probe_smtp(host, options, *options.tls, addresses);
  }
  return probe_smtp(host, options, TlsClient(options.ca_file), addresses);
}

SmtpResult probe_smtp(const std::string& host_in, const SmtpOptions& options, const TlsClient& tls,
                      const std::vector<std::string>& addresses) {
  SmtpResult result;
  result.host = normalize_name(host_in);
  const std::string& host = result.host;

  std::vector<Target> targets;
  const std::string port = std::to_string(options.port);
  auto mapped = options.connect_to.find(host + ":" + port);
  if (mapped == options.connect_to.end()) {
    mapped = options.connect_to.find(host);
  }
  if (mapped == options.connect_to.end()) {
    mapped = options.connect_to.find(":" + port);  // any host, as in curl --connect-to
  }
  if (mapped != options.connect_to.end()) {
    HostPort address;
    if (auto problem = parse_host_port(mapped->second, static_cast<uint16_t>(options.port), &address)) {
      result.error = "failed to parse connect_to '" + mapped->second + "' for '" + host + "' (" + *problem +
                     "); write it as addr:port, like 127.0.0.1:2525 or [::1]:2525";
      return result;
    }
    targets.push_back({address.host, std::to_string(address.port)});
  } else if (!addresses.empty()) {
    for (const auto& address : addresses) {
      targets.push_back({address, port});
    }
  } else {
    targets.push_back({host, port});
  }

  Fd fd;
  for (const auto& target : targets) {
    fd.reset(connect_with_timeout(target, options.timeout_seconds, &result.address, &result.error,
                                  &result.timed_out));
    if (fd.get() >= 0) {
      result.error.clear();
      break;
    }
  }
  if (fd.get() < 0) {
    return result;
  }
  result.connected = true;

  std::string pending;
  std::string reply;
  int code = 0;
  if (!read_reply(fd.get(), &pending, &reply, &code, &result.timed_out) || code != 220) {
    result.error = result.timed_out ? "no SMTP banner within the timeout"
                                    : "bad SMTP banner: '" + first_line(reply) + "'";
    return result;
  }
  result.banner = first_line(reply);
  if (!send_all(fd.get(), "EHLO " + options.ehlo_name + "\r\n") ||
      !read_reply(fd.get(), &pending, &reply, &code, &result.timed_out) || code != 250) {
    result.error = "EHLO failed: '" + first_line(reply) + "'";
    return result;
  }
  result.starttls_offered = offers_starttls(reply);
  if (!result.starttls_offered) {
    send_all(fd.get(), "QUIT\r\n");
    return result;
  }
  if (!send_all(fd.get(), "STARTTLS\r\n") ||
      !read_reply(fd.get(), &pending, &reply, &code, &result.timed_out) || code != 220) {
    result.tls_error = "STARTTLS refused: '" + first_line(reply) + "'";
    return result;
  }

  if (!tls.ok()) {
    result.tls_error = tls.error();
    return result;
  }
  ERR_clear_error();
  // Verification runs anyway; chain and name are judged separately below.
  handle::Ssl ssl = tls.connect_ssl(host, result.address, false);
  if (!ssl) {
    result.tls_error = "failed to start TLS (" + openssl_errors() + ")";
    return result;
  }
  SSL_set_fd(ssl.get(), fd.get());
  if (SSL_connect(ssl.get()) != 1) {
    std::string errors = openssl_errors();
    if (errors.find("version") != std::string::npos || errors.find("protocol") != std::string::npos) {
      result.tls_error = "TLS handshake failed; the server may not offer TLS 1.2 or later (" + errors + ")";
    } else {
      result.tls_error =
          "TLS handshake failed (" + (errors.empty() ? std::string(std::strerror(errno)) : errors) + ")";
    }
    return result;
  }
  result.tls_ok = true;
  result.tls_version = SSL_get_version(ssl.get());
  result.cipher = SSL_get_cipher_name(ssl.get());

  handle::X509Cert cert(SSL_get1_peer_certificate(ssl.get()));
  if (!cert) {
    result.chain_error = "the server sent no certificate";
  } else {
    long verify = SSL_get_verify_result(ssl.get());
    result.chain_valid = verify == X509_V_OK;
    if (!result.chain_valid) {
      result.chain_error = X509_verify_cert_error_string(verify);
    }
    // RFC 8461 4.2 / RFC 6125: wildcard only as the whole leftmost label.
    result.name_valid = X509_check_host(cert.get(), host.c_str(), host.size(),
                                        X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, nullptr) == 1;
    char subject[512] = {0};
    X509_NAME_oneline(X509_get_subject_name(cert.get()), subject, sizeof(subject));
    result.subject = subject;
    int days = 0;
    int seconds = 0;
    if (ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(cert.get())) == 1) {
      result.days_to_expiry = days - ((days == 0 && seconds < 0) ? 1 : 0);
    }
  }
  // Close politely; failures here do not matter.
  SSL_write(ssl.get(), "QUIT\r\n", 6);
  SSL_shutdown(ssl.get());
  return result;
}

std::vector<SmtpResult> probe_smtp_many(const std::vector<std::string>& hosts, const SmtpOptions& options,
                                        int parallel,
                                        const std::vector<std::vector<std::string>>& addresses) {
  // One TLS context (and so one CA store) for every probe: building it reads
  // the whole system bundle.
  std::shared_ptr<const TlsClient> tls =
      options.tls ? options.tls : std::make_shared<TlsClient>(options.ca_file);
  // One host per batch: each probe is a network round trip or several.
  return parallel_map<SmtpResult>(
      hosts.size(),
      [&](size_t index) {
        return probe_smtp(hosts[index], options, *tls,
                          index < addresses.size() ? addresses[index] : std::vector<std::string>{});
      },
      1, static_cast<unsigned>(std::max(1, parallel)));
}

}  // namespace stsctl
