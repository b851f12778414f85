#pragma once
// SMTP STARTTLS probe of one MX host the way an MTA-STS sender connects
// (RFC 8461 section 4.2, RFC 3207): banner, EHLO, STARTTLS, TLS 1.2+ with
// SNI = MX host, then chain and name verification. Edge module (sockets, OpenSSL).

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace stsctl {

class TlsClient;

struct SmtpOptions {
  int port = 25;
  std::string ca_file;  // extra trust anchor (PEM); empty: system store
  // "host:port", "host" or ":port" (any host) -> "addr:port" or "addr"
  std::map<std::string, std::string> connect_to;
  double timeout_seconds = 30;
  std::string ehlo_name = "stsctl.invalid";
  // The run's TLS context, shared with the HTTPS fetches; when empty, each
  // call makes one from ca_file.
  std::shared_ptr<const TlsClient> tls;
};

struct SmtpResult {
  std::string host;     // MX host as given (normalised)
  std::string address;  // address connected to, "addr:port"
  bool connected = false;
  bool timed_out = false;
  std::string error;  // human text of the first failure before TLS (connect, banner, EHLO)
  std::string banner;
  bool starttls_offered = false;
  bool tls_ok = false;  // handshake done (TLS >= 1.2)
  std::string tls_error;
  std::string tls_version;  // e.g. "TLSv1.3"
  std::string cipher;
  bool chain_valid = false;
  std::string chain_error;  // X509 verify error text when !chain_valid
  bool name_valid = false;  // X509_check_host(MX host)
  std::string subject;      // leaf subject (one line)
  long days_to_expiry = 0;  // negative when expired
};

/// Probes one host with `tls`.
SmtpResult probe_smtp(const std::string& host, const SmtpOptions& options, const TlsClient& tls,
                      const std::vector<std::string>& addresses = {});

/// Probes one host with options.tls (or a context of its own). Connects to connect_to's mapping when there is
/// one, else to `addresses` (IP literals, e.g. from the checker's resolver) in order, else to what
/// getaddrinfo() returns. Never throws for network failures: see SmtpResult.
SmtpResult probe_smtp(const std::string& host, const SmtpOptions& options,
                      const std::vector<std::string>& addresses = {});

/// Probes many hosts with at most `parallel` connections at once; results in
/// the order of `hosts`. `addresses`, when not empty, is parallel to `hosts`.
std::vector<SmtpResult> probe_smtp_many(const std::vector<std::string>& hosts, const SmtpOptions& options,
                                        int parallel = 16,
                                        const std::vector<std::vector<std::string>>& addresses = {});

}  // namespace stsctl
