#include "rfc2136/rfc2136_provider.h"

#include "config/values.h"

#include "dns/name.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <netdb.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace stsctl {

namespace {

using Kind = ProviderError::Kind;

// RFC 2845 section 4.3 / RFC 8945 section 5.2: TSIG error codes (ldns has no constants).
constexpr uint16_t k_tsig_badsig = 16;
constexpr uint16_t k_tsig_badkey = 17;
constexpr uint16_t k_tsig_badtime = 18;
constexpr uint16_t k_tsig_fudge = 300;
constexpr size_t k_max_character_string = 255;
// Zones are read and updated by a few workers at once: each exchange is a
// round trip (a TCP connection by default), so one at a time leaves both the
// client and the server idle most of the time. Each zone is still one UPDATE.
constexpr size_t k_max_workers = 4;

struct PktDeleter {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct RrDeleter {
  void operator()(ldns_rr* rr) const { ldns_rr_free(rr); }
};
struct RrListDeleter {
  void operator()(ldns_rr_list* list) const { ldns_rr_list_deep_free(list); }
};
struct RdfDeleter {
  void operator()(ldns_rdf* rdf) const { ldns_rdf_deep_free(rdf); }
};
struct ResolverDeleter {
  void operator()(ldns_resolver* r) const {
    // The resolver holds its own copy of the TSIG secret: wipe it before ldns frees it.
    if (const char* key = ldns_resolver_tsig_keydata(r)) {
      OPENSSL_cleanse(const_cast<char*>(key), std::strlen(key));
    }
    ldns_resolver_deep_free(r);
  }
};
struct CharDeleter {
  void operator()(char* s) const { std::free(s); }
};

using PktPtr = std::unique_ptr<ldns_pkt, PktDeleter>;
using RrPtr = std::unique_ptr<ldns_rr, RrDeleter>;
using RrListPtr = std::unique_ptr<ldns_rr_list, RrListDeleter>;
using RdfPtr = std::unique_ptr<ldns_rdf, RdfDeleter>;
using ResolverPtr = std::unique_ptr<ldns_resolver, ResolverDeleter>;

/// A TSIG secret (base64 text). Not copyable; wiped when destroyed.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : m_value(std::move(value)) {}
  ~Secret() { wipe(); }
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  Secret& operator=(Secret&& other) noexcept {
    wipe();
    m_value.swap(other.m_value);
    return *this;
  }
  const char* c_str() const { return m_value.c_str(); }
  bool empty() const { return m_value.empty(); }

 private:
  void wipe() {
    if (!m_value.empty()) {
      OPENSSL_cleanse(&m_value[0], m_value.size());
    }
    m_value.clear();
  }
  std::string m_value;
};

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

void trim_in_place(std::string& text) {
  size_t end = text.size();
  while (end > 0 && std::isspace(static_cast<unsigned char>(text[end - 1]))) {
    --end;
  }
  size_t start = 0;
  while (start < end && std::isspace(static_cast<unsigned char>(text[start]))) {
    ++start;
  }
  std::string trimmed = text.substr(start, end - start);
  OPENSSL_cleanse(&text[0], text.size());
  text.swap(trimmed);
}

ldns_rr_type to_ldns(RRType type) {
  switch (type) {
    case RRType::A:
      return LDNS_RR_TYPE_A;
    case RRType::AAAA:
      return LDNS_RR_TYPE_AAAA;
    case RRType::CNAME:
      return LDNS_RR_TYPE_CNAME;
    case RRType::TXT:
      return LDNS_RR_TYPE_TXT;
    case RRType::CAA:
      return LDNS_RR_TYPE_CAA;
    case RRType::MX:
      return LDNS_RR_TYPE_MX;
    case RRType::NS:
      return LDNS_RR_TYPE_NS;
    case RRType::SOA:
      return LDNS_RR_TYPE_SOA;
  }
  return LDNS_RR_TYPE_TXT;
}

const char* rcode_name(unsigned rcode) {
  static const char* const k_names[] = {"NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                                        "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE"};
  return rcode < sizeof(k_names) / sizeof(k_names[0]) ? k_names[rcode] : "unknown rcode";
}

std::string dname_text(const ldns_rdf* rdf) {
  std::unique_ptr<char, CharDeleter> text(ldns_rdf2str(rdf));
  return text ? lowercase(text.get()) : std::string();
}

std::string raw_bytes(const ldns_rdf* rdf, size_t skip) {
  const auto* data = ldns_rdf_data(rdf);
  size_t size = ldns_rdf_size(rdf);
  return size > skip ? std::string(reinterpret_cast<const char*>(data) + skip, size - skip) : std::string();
}

/// The canonical value (see records/rrset.h) of one RR; nullopt if malformed.
std::optional<std::string> canonical_value(const ldns_rr* rr, RRType type) {
  size_t count = ldns_rr_rd_count(rr);
  switch (type) {
    case RRType::A:
    case RRType::AAAA: {
      if (count != 1) {
        return std::nullopt;
      }
      const ldns_rdf* rdf = ldns_rr_rdf(rr, 0);
      int family = type == RRType::A ? AF_INET : AF_INET6;
      size_t want = type == RRType::A ? 4 : 16;
      if (ldns_rdf_size(rdf) != want) {
        return std::nullopt;
      }
      char text[INET6_ADDRSTRLEN] = {};
      inet_ntop(family, ldns_rdf_data(rdf), text, sizeof text);
      return std::string(text);
    }
    case RRType::CNAME:
    case RRType::NS:
      return count == 1 ? std::optional<std::string>(dname_text(ldns_rr_rdf(rr, 0))) : std::nullopt;
    case RRType::TXT: {
      // RFC 8461 section 3.1: the character-strings are joined without spaces.
      std::string joined;
      for (size_t i = 0; i < count; ++i) {
        const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
        if (ldns_rdf_size(rdf) < 1) {
          return std::nullopt;
        }
        joined += raw_bytes(rdf, 1);
      }
      return joined;
    }
    case RRType::CAA: {
      // ldns: flags INT8, tag as a length-prefixed string, value as raw bytes.
      if (count != 3 || ldns_rdf_size(ldns_rr_rdf(rr, 1)) < 1) {
        return std::nullopt;
      }
      return caa_value(ldns_rdf2native_int8(ldns_rr_rdf(rr, 0)), lowercase(raw_bytes(ldns_rr_rdf(rr, 1), 1)),
                       raw_bytes(ldns_rr_rdf(rr, 2), 0));
    }
    case RRType::MX:
      if (count != 2) {
        return std::nullopt;
      }
      return std::to_string(ldns_rdf2native_int16(ldns_rr_rdf(rr, 0))) + " " + dname_text(ldns_rr_rdf(rr, 1));
    case RRType::SOA:
      return std::nullopt;
  }
  return std::nullopt;
}

/// Parses `flags tag "value"` (records/rrset.h canonical CAA) into its parts.
bool parse_caa(const std::string& text, uint8_t& flags, std::string& tag, std::string& value) {
  size_t space1 = text.find(' ');
  if (space1 == std::string::npos) {
    return false;
  }
  size_t space2 = text.find(' ', space1 + 1);
  if (space2 == std::string::npos) {
    return false;
  }
  std::string flag_text = text.substr(0, space1);
  if (flag_text.empty() || flag_text.size() > 3 ||
      !std::all_of(flag_text.begin(), flag_text.end(), [](unsigned char c) { return std::isdigit(c); }) ||
      std::stoi(flag_text) > 255) {
    return false;
  }
  flags = static_cast<uint8_t>(std::stoi(flag_text));
  tag = text.substr(space1 + 1, space2 - space1 - 1);
  std::string quoted = text.substr(space2 + 1);
  if (tag.empty() || quoted.size() < 2 || quoted.front() != '"' || quoted.back() != '"') {
    return false;
  }
  value.clear();
  for (size_t i = 1; i + 1 < quoted.size(); ++i) {
    if (quoted[i] == '\\' && i + 2 < quoted.size()) {
      ++i;
    }
    value += quoted[i];
  }
  return true;
}

RdfPtr make_dname(const std::string& name) { return RdfPtr(ldns_dname_new_frm_str(absolute(name).c_str())); }

RrPtr make_rr(const std::string& owner, RRType type, ldns_rr_class cls, uint32_t ttl) {
  RrPtr rr(ldns_rr_new());
  ldns_rr_set_owner(rr.get(), make_dname(owner).release());
  ldns_rr_set_type(rr.get(), to_ldns(type));
  ldns_rr_set_class(rr.get(), cls);
  ldns_rr_set_ttl(rr.get(), ttl);
  return rr;
}

bool push_rdf(ldns_rr* rr, ldns_rdf* rdf) {
  if (!rdf) {
    return false;
  }
  ldns_rr_push_rdf(rr, rdf);
  return true;
}

ldns_rdf* length_prefixed(ldns_rdf_type type, const std::string& bytes) {
  std::string data(1, static_cast<char>(bytes.size()));
  data += bytes;
  return ldns_rdf_new_frm_data(type, data.size(), data.data());
}

/// Adds the RDATA for a canonical `value`; false when it does not parse.
bool push_value(ldns_rr* rr, RRType type, const std::string& value) {
  switch (type) {
    case RRType::A:
      return push_rdf(rr, ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, value.c_str()));
    case RRType::AAAA:
      return push_rdf(rr, ldns_rdf_new_frm_str(LDNS_RDF_TYPE_AAAA, value.c_str()));
    case RRType::CNAME:
    case RRType::NS:
      return push_rdf(rr, make_dname(value).release());
    case RRType::TXT: {
      // RFC 1035 section 3.3: character-strings hold at most 255 octets.
      size_t pos = 0;
      do {
        std::string chunk = value.substr(pos, k_max_character_string);
        if (!push_rdf(rr, length_prefixed(LDNS_RDF_TYPE_STR, chunk))) {
          return false;
        }
        pos += k_max_character_string;
      } while (pos < value.size());
      return true;
    }
    case RRType::CAA: {
      uint8_t flags = 0;
      std::string tag;
      std::string caa;
      if (!parse_caa(value, flags, tag, caa) || tag.size() > 255) {
        return false;
      }
      return push_rdf(rr, ldns_native2rdf_int8(LDNS_RDF_TYPE_INT8, flags)) &&
             push_rdf(rr, length_prefixed(LDNS_RDF_TYPE_TAG, tag)) &&
             push_rdf(rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_LONG_STR, caa.size(), caa.data()));
    }
    case RRType::MX: {
      size_t space = value.find(' ');
      if (space == std::string::npos || space == 0 || space > 5) {
        return false;
      }
      std::string pref = value.substr(0, space);
      if (!std::all_of(pref.begin(), pref.end(), [](unsigned char c) { return std::isdigit(c); }) ||
          std::stoi(pref) > 65535) {
        return false;
      }
      return push_rdf(rr,
                      ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, static_cast<uint16_t>(std::stoi(pref)))) &&
             push_rdf(rr, make_dname(value.substr(space + 1)).release());
    }
    case RRType::SOA:
      return false;
  }
  return false;
}

bool same_name(const ldns_rdf* a, const ldns_rdf* b) { return ldns_dname_compare(a, b) == 0; }

class Rfc2136Provider : public Provider {
 public:
  explicit Rfc2136Provider(const Rfc2136Config& config);

  std::vector<ZoneReadResult> read_zones(const std::vector<ZoneQuery>& queries) override;
  std::vector<ZoneApplyResult> apply_zones(const std::vector<ZonePlan>& plans) override;

 private:
  std::string server() const;
  std::string where(const std::string& zone) const;
  ProviderError error(Kind kind, const std::string& zone, const std::string& cause) const;
  ResolverPtr make_resolver() const;
  PktPtr exchange(ldns_resolver* resolver, ldns_pkt* query, const std::string& zone, bool is_update) const;
  ProviderError rcode_error(unsigned rcode, const std::string& zone, bool is_update) const;
  ZoneSnapshot read_zone(ldns_resolver* resolver, const ZoneQuery& query) const;
  std::optional<RRset> query_rrset(ldns_resolver* resolver, const std::string& zone, const std::string& owner,
                                   RRType type, bool& name_exists) const;
  void apply_zone(ldns_resolver* resolver, const ZonePlan& plan) const;
  /// Calls `work(i, resolver)` for every i in [0, count) on up to
  /// k_max_workers threads, each with its own resolver (created lazily).
  /// Once one zone finds the server unreachable or timing out, zones not yet
  /// started are not tried: `work` is skipped and `skipped(i, cause)` is
  /// called instead. ProviderErrors from `work` are passed to `failed(i, e)`.
  template <typename Work, typename Failed>
  void for_each_zone(size_t count, const Work& work, const Failed& failed,
                     const std::function<std::string(size_t)>& zone_of, const std::string& not_done) const;

  Rfc2136Config m_config;
  std::string m_key_name;   // as configured, no trailing dot (for messages)
  std::string m_algorithm;  // ldns spelling, with trailing dot
  Secret m_secret;
};

Rfc2136Provider::Rfc2136Provider(const Rfc2136Config& config) : m_config(config) {
  const std::string who = "provider '" + config.name + "' (rfc2136)";
  if (m_config.server_host.empty()) {
    throw ProviderError(Kind::Other, who + ": no server host configured");
  }
  if (m_config.transport != "tcp" && m_config.transport != "udp") {
    throw ProviderError(Kind::Other, who + ": transport '" + m_config.transport + "' is not tcp or udp");
  }
  m_key_name = normalize_name(config.tsig.name);
  if (m_key_name.empty()) {
    return;  // unsigned: only for servers that allow updates by address
  }
  std::string alg = normalize_name(config.tsig.algorithm.empty() ? "hmac-sha256" : config.tsig.algorithm);
  if (alg == "hmac-sha256" || alg == "hmac-sha512" || alg == "hmac-sha1") {
    m_algorithm = alg + ".";
  } else if (alg == "hmac-md5" || alg == "hmac-md5.sig-alg.reg.int") {
    if (!config.allow_hmac_md5) {
      throw ProviderError(Kind::Other,
                          who + ": TSIG algorithm hmac-md5 for key '" + m_key_name +
                              "' is weak and disabled; use hmac-sha256, or set allow_hmac_md5: true");
    }
    m_algorithm = "hmac-md5.sig-alg.reg.int.";
  } else {
    throw ProviderError(Kind::Other, who + ": TSIG algorithm '" + config.tsig.algorithm + "' for key '" +
                                         m_key_name +
                                         "' is not supported (use hmac-sha256, hmac-sha512 or hmac-sha1)");
  }

  std::string value;
  std::string source;
  if (!config.tsig.secret_file.empty()) {
    source = "file '" + config.tsig.secret_file + "'";
    std::ifstream in(config.tsig.secret_file, std::ios::binary);
    if (!in) {
      throw ProviderError(Kind::Other, who + ": cannot read the TSIG secret for key '" + m_key_name +
                                           "' from " + source + " (" + std::strerror(errno) + ")");
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    value = buffer.str();
  } else if (!config.tsig.secret_env.empty()) {
    source = "environment variable " + config.tsig.secret_env;
    const char* env = std::getenv(config.tsig.secret_env.c_str());
    if (!env || !*env) {
      throw ProviderError(Kind::Other,
                          who + ": " + source + " (TSIG secret for key '" + m_key_name + "') is not set");
    }
    value = env;
  } else {
    throw ProviderError(Kind::Other, who + ": key '" + m_key_name + "' has no secret_file or secret_env");
  }
  trim_in_place(value);
  bool valid = is_base64(value);
  register_secret(value);
  m_secret = Secret(std::move(value));
  if (!valid) {
    throw ProviderError(
        Kind::Other, who + ": the TSIG secret for key '" + m_key_name + "' in " + source + " is not base64");
  }
}

std::string Rfc2136Provider::server() const {
  bool v6 = m_config.server_host.find(':') != std::string::npos;
  return (v6 ? "[" + m_config.server_host + "]" : m_config.server_host) + ":" +
         std::to_string(m_config.server_port);
}

std::string Rfc2136Provider::where(const std::string& zone) const {
  return "provider '" + m_config.name + "' (rfc2136): zone " + zone + " on " + server();
}

ProviderError Rfc2136Provider::error(Kind kind, const std::string& zone, const std::string& cause) const {
  return ProviderError(kind, where(zone) + ": " + cause);
}

ResolverPtr Rfc2136Provider::make_resolver() const {
  ResolverPtr resolver(ldns_resolver_new());
  // Resolve the host name once per call; IP literals need no lookup.
  RdfPtr address(ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, m_config.server_host.c_str()));
  if (!address) {
    address.reset(ldns_rdf_new_frm_str(LDNS_RDF_TYPE_AAAA, m_config.server_host.c_str()));
  }
  if (!address) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(m_config.server_host.c_str(), nullptr, &hints, &found) != 0 || !found) {
      throw ProviderError(
          Kind::Unreachable,
          "provider '" + m_config.name + "' (rfc2136): cannot resolve server '" + m_config.server_host + "'");
    }
    char text[INET6_ADDRSTRLEN] = {};
    if (found->ai_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr, text, sizeof text);
      address.reset(ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, text));
    } else {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(found->ai_addr)->sin6_addr, text, sizeof text);
      address.reset(ldns_rdf_new_frm_str(LDNS_RDF_TYPE_AAAA, text));
    }
    freeaddrinfo(found);
  }
  ldns_resolver_push_nameserver(resolver.get(), address.get());
  ldns_resolver_set_port(resolver.get(), m_config.server_port);
  ldns_resolver_set_recursive(resolver.get(), false);
  ldns_resolver_set_usevc(resolver.get(), m_config.transport != "udp");
  ldns_resolver_set_retry(resolver.get(), 1);
  ldns_resolver_set_retrans(resolver.get(), 0);
  double seconds = m_config.timeout_seconds > 0 ? m_config.timeout_seconds : 10;
  timeval timeout{};
  timeout.tv_sec = static_cast<time_t>(seconds);
  timeout.tv_usec = static_cast<suseconds_t>((seconds - static_cast<double>(timeout.tv_sec)) * 1e6);
  ldns_resolver_set_timeout(resolver.get(), timeout);
  if (!m_key_name.empty()) {
    // ldns_send verifies the reply with these.
    ldns_resolver_set_tsig_keyname(resolver.get(), (m_key_name + ".").c_str());
    ldns_resolver_set_tsig_algorithm(resolver.get(), m_algorithm.c_str());
    ldns_resolver_set_tsig_keydata(resolver.get(), m_secret.c_str());
  }
  return resolver;
}

ProviderError Rfc2136Provider::rcode_error(unsigned rcode, const std::string& zone, bool is_update) const {
  std::string name = rcode_name(rcode);
  std::string key = m_key_name.empty() ? std::string("(no TSIG key)") : "'" + m_key_name + "'";
  switch (rcode) {
    case LDNS_RCODE_REFUSED:
      if (is_update) {
        return error(Kind::Auth, zone,
                     "update REFUSED: the key " + key +
                         " may not update this name: check update-policy / allow-update for zone " + zone);
      }
      return error(Kind::ZoneMissing, zone,
                   "query REFUSED: zone " + zone + " is not served there, or allow-query excludes this host");
    case LDNS_RCODE_NOTAUTH:
      return error(
          Kind::ZoneMissing, zone,
          "NOTAUTH: server is not authoritative for zone " + zone + ": check the zone name and server");
    case LDNS_RCODE_NOTZONE:
      return error(
          Kind::ZoneMissing, zone,
          "NOTZONE: zone not served there, or a name lies outside zone " + zone + ": check the zone name");
    case LDNS_RCODE_YXRRSET:
    case LDNS_RCODE_NXRRSET:
    case LDNS_RCODE_YXDOMAIN:
    case LDNS_RCODE_NXDOMAIN:
      if (is_update) {
        return error(
            Kind::Conflict, zone,
            "zone " + zone + " changed on " + server() + " since plan; run plan again (" + name + ")");
      }
      return error(Kind::ZoneMissing, zone, "zone " + zone + " does not exist there (" + name + ")");
    case LDNS_RCODE_NOTIMPL:
      return error(
          Kind::Rejected, zone,
          "server does not implement " + std::string(is_update ? "UPDATE" : "this query") + " (NOTIMP)");
    case LDNS_RCODE_FORMERR:
      return error(Kind::Rejected, zone, "server rejected the message as malformed (FORMERR)");
    default:
      return error(Kind::Other, zone,
                   "server answered " + name + (is_update ? "; nothing was applied" : "") + ": see its logs");
  }
}

PktPtr Rfc2136Provider::exchange(ldns_resolver* resolver, ldns_pkt* query, const std::string& zone,
                                 bool is_update) const {
  ldns_pkt_set_random_id(query);
  if (!m_key_name.empty()) {
    ldns_status signed_status = ldns_pkt_tsig_sign(query, (m_key_name + ".").c_str(), m_secret.c_str(),
                                                   k_tsig_fudge, m_algorithm.c_str(), nullptr);
    if (signed_status != LDNS_STATUS_OK) {
      // ldns decodes the secret only here; a bad one shows up as a conversion error.
      throw error(Kind::Auth, zone,
                  "cannot sign with TSIG key '" + m_key_name + "' (" +
                      ldns_get_errorstr_by_id(signed_status) + "): check its secret and algorithm");
    }
  }
  auto send = [&](ldns_pkt** raw) {
    // A failed exchange marks the server unreachable inside ldns; start afresh.
    ldns_resolver_set_nameserver_rtt(resolver, 0, LDNS_RESOLV_RTT_MIN);
    return ldns_send(raw, resolver, query);
  };
  auto started = std::chrono::steady_clock::now();
  ldns_pkt* raw = nullptr;
  ldns_status status = send(&raw);
  PktPtr answer(raw);
  if (answer && ldns_pkt_tc(answer.get()) && !ldns_resolver_usevc(resolver)) {
    // Truncated over UDP: retry over TCP (RFC 7766).
    ldns_resolver_set_usevc(resolver, true);
    raw = nullptr;
    status = send(&raw);
    answer.reset(raw);
    ldns_resolver_set_usevc(resolver, false);
  }
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::string maybe = is_update ? "; the update may or may not have been applied: run plan again" : "";
  if (!answer) {
    double limit = m_config.timeout_seconds > 0 ? m_config.timeout_seconds : 10;
    if (elapsed >= limit * 0.9) {
      throw error(Kind::Timeout, zone,
                  "no answer within " + std::to_string(static_cast<int>(limit + 0.5)) + " s (providers." +
                      m_config.name + ".timeout)" + maybe);
    }
    throw error(Kind::Unreachable, zone,
                std::string("cannot reach the server (connection refused or network error: ") +
                    ldns_get_errorstr_by_id(status) +
                    "): is it running and listening on that address and port?");
  }
  uint16_t tsig_error = 0;
  if (const ldns_rr* tsig = ldns_pkt_tsig(answer.get())) {
    if (ldns_rr_rd_count(tsig) > 5) {
      tsig_error = ldns_rdf2native_int16(ldns_rr_rdf(tsig, 5));
    }
  }
  const std::string key = "key '" + m_key_name + "'";
  switch (tsig_error) {
    case 0:
      break;
    case k_tsig_badsig:
      throw error(Kind::Auth, zone,
                  "TSIG BADSIG: wrong secret for " + key + ": check secret_file / secret_env");
    case k_tsig_badkey:
      throw error(Kind::Auth, zone,
                  "TSIG BADKEY: server does not know " + key + " (or not with algorithm " +
                      m_algorithm.substr(0, m_algorithm.size() - 1) + ")");
    case k_tsig_badtime:
      throw error(
          Kind::Auth, zone,
          "TSIG BADTIME for " + key + ": clocks differ between this host and the server by more than 300 s");
    default:
      throw error(Kind::Auth, zone, "TSIG error " + std::to_string(tsig_error) + " for " + key);
  }
  unsigned rcode = ldns_pkt_get_rcode(answer.get());
  if (status == LDNS_STATUS_CRYPTO_TSIG_BOGUS && rcode == LDNS_RCODE_NOERROR) {
    throw error(Kind::Auth, zone, "the answer's TSIG signature does not verify with " + key + maybe);
  }
  if (status != LDNS_STATUS_OK && status != LDNS_STATUS_CRYPTO_TSIG_BOGUS) {
    throw error(Kind::Other, zone,
                std::string("exchange failed: ") + ldns_get_errorstr_by_id(status) + maybe);
  }
  return answer;
}

std::optional<RRset> Rfc2136Provider::query_rrset(ldns_resolver* resolver, const std::string& zone,
                                                  const std::string& owner, RRType type,
                                                  bool& name_exists) const {
  RdfPtr qname = make_dname(owner);
  PktPtr query(ldns_pkt_query_new(ldns_rdf_clone(qname.get()), to_ldns(type), LDNS_RR_CLASS_IN, 0));
  PktPtr answer = exchange(resolver, query.get(), zone, false);
  unsigned rcode = ldns_pkt_get_rcode(answer.get());
  if (rcode == LDNS_RCODE_NXDOMAIN) {
    name_exists = false;
    return std::nullopt;
  }
  if (rcode != LDNS_RCODE_NOERROR) {
    throw rcode_error(rcode, zone, false);
  }
  // Keep only RRs of the asked type at the asked name: a TXT query at a CNAME
  // returns the CNAME (and maybe its target), which is not a TXT RRset here.
  RRset rrset;
  rrset.owner = absolute(normalize_name(owner));
  rrset.type = type;
  bool first = true;
  const ldns_rr_list* list = ldns_pkt_answer(answer.get());
  for (size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(list, i);
    if (ldns_rr_get_type(rr) != to_ldns(type) || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
        !same_name(ldns_rr_owner(rr), qname.get())) {
      continue;
    }
    auto value = canonical_value(rr, type);
    if (!value) {
      throw error(Kind::Other, zone,
                  std::string("malformed ") + to_string(type) + " record at " + rrset.owner);
    }
    rrset.values.push_back(*value);
    rrset.ttl = first ? ldns_rr_ttl(rr) : std::min(rrset.ttl, ldns_rr_ttl(rr));
    first = false;
  }
  if (rrset.values.empty()) {
    return std::nullopt;
  }
  rrset.normalize();
  return rrset;
}

ZoneSnapshot Rfc2136Provider::read_zone(ldns_resolver* resolver, const ZoneQuery& query) const {
  const std::string zone = normalize_name(query.zone);
  ZoneSnapshot snapshot;
  snapshot.zone = zone;

  // The apex SOA proves the server is authoritative for the zone.
  {
    RdfPtr qname = make_dname(zone);
    PktPtr packet(ldns_pkt_query_new(ldns_rdf_clone(qname.get()), LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0));
    PktPtr answer = exchange(resolver, packet.get(), query.zone, false);
    unsigned rcode = ldns_pkt_get_rcode(answer.get());
    if (rcode != LDNS_RCODE_NOERROR) {
      throw rcode_error(rcode, zone, false);
    }
    bool has_soa = false;
    const ldns_rr_list* list = ldns_pkt_answer(answer.get());
    for (size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(list, i);
      has_soa =
          has_soa || (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && same_name(ldns_rr_owner(rr), qname.get()));
    }
    if (!ldns_pkt_aa(answer.get()) || !has_soa) {
      throw error(
          Kind::ZoneMissing, zone,
          "server is not authoritative for zone " + zone + " (no SOA at the apex): check the zone name");
    }
  }

  // Group the owned keys by name; query CNAME first, since a CNAME excludes
  // every other type at its name (RFC 1034 section 3.6.2).
  std::map<std::string, std::set<RRType>> by_owner;
  for (const auto& key : query.owned_keys) {
    by_owner[absolute(normalize_name(key.owner))].insert(key.type);
  }
  for (const auto& [owner, types] : by_owner) {
    std::vector<RRType> order(types.begin(), types.end());
    std::stable_partition(order.begin(), order.end(), [](RRType t) { return t == RRType::CNAME; });
    bool name_exists = true;
    for (RRType type : order) {
      auto rrset = query_rrset(resolver, zone, owner, type, name_exists);
      if (!name_exists) {
        break;
      }
      if (rrset) {
        snapshot.owned.push_back(*rrset);
        if (type == RRType::CNAME) {
          break;
        }
      }
    }
  }
  std::sort(snapshot.owned.begin(), snapshot.owned.end(), canonical_less);

  bool apex_exists = true;
  if (auto mx = query_rrset(resolver, zone, zone, RRType::MX, apex_exists)) {
    snapshot.mx.push_back(*mx);
  }
  if (auto ns = query_rrset(resolver, zone, zone, RRType::NS, apex_exists)) {
    snapshot.nameservers = ns->values;
  }
  return snapshot;
}

template <typename Work, typename Failed>
void Rfc2136Provider::for_each_zone(size_t count, const Work& work, const Failed& failed,
                                    const std::function<std::string(size_t)>& zone_of,
                                    const std::string& not_done) const {
  std::mutex mutex;
  size_t next = 0;
  std::optional<ProviderError> server_down;
  std::exception_ptr unexpected;  // anything but ProviderError: rethrown on the calling thread
  ZoneBreaker breaker(m_limits, m_config.name);
  auto worker = [&]() {
    ResolverPtr resolver;
    for (;;) {
      size_t index = 0;
      std::optional<ProviderError> down;
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (next >= count || unexpected) {
          return;
        }
        index = next++;
        down = server_down;
      }
      if (auto skip = breaker.before(zone_of(index))) {
        failed(index, *skip);
        continue;
      }
      try {
        if (down) {
          throw error(down->kind(), zone_of(index),
                      not_done + ": the server did not answer for an earlier zone (" +
                          std::string(down->what()) + ")");
        }
        if (!resolver) {
          resolver = make_resolver();
        }
        work(index, resolver.get());
      } catch (const ProviderError& e) {
        failed(index, e);
        if (!down && (e.kind() == Kind::Unreachable || e.kind() == Kind::Timeout)) {
          std::lock_guard<std::mutex> lock(mutex);
          if (!server_down) {
            server_down = e;
          }
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!unexpected) {
          unexpected = std::current_exception();
        }
      }
    }
  };
  size_t workers = std::min(count, k_max_workers);
  std::vector<std::thread> threads;
  // The calling thread works too; threads are only for the rest.
  for (size_t i = 1; i < workers; ++i) {
    threads.emplace_back(worker);
  }
  worker();
  for (auto& thread : threads) {
    thread.join();
  }
  if (unexpected) {
    std::rethrow_exception(unexpected);
  }
}

std::vector<ZoneReadResult> Rfc2136Provider::read_zones(const std::vector<ZoneQuery>& queries) {
  std::vector<ZoneReadResult> results(queries.size());
  for (size_t i = 0; i < queries.size(); ++i) {
    results[i].zone = queries[i].zone;
    results[i].snapshot.zone = normalize_name(queries[i].zone);
  }
  // Each worker writes only its own slots of `results`.
  for_each_zone(
      queries.size(),
      [&](size_t i, ldns_resolver* resolver) { results[i].snapshot = read_zone(resolver, queries[i]); },
      [&](size_t i, const ProviderError& e) { results[i].error = e; },
      [&](size_t i) { return queries[i].zone; }, "not read");
  return results;
}

void Rfc2136Provider::apply_zone(ldns_resolver* resolver, const ZonePlan& plan) const {
  const std::string zone = normalize_name(plan.zone);
  RrListPtr prereqs(ldns_rr_list_new());
  RrListPtr deletes(ldns_rr_list_new());
  RrListPtr adds(ldns_rr_list_new());
  auto bad_value = [&](const RRsetKey& key, const std::string& value) {
    return error(
        Kind::Rejected, zone,
        std::string("cannot encode ") + to_string(key.type) + " value '" + value + "' at " + key.owner);
  };
  for (const auto& change : plan.changes) {
    const RRsetKey& key = change.key;
    if (!is_in_zone(normalize_name(key.owner), zone)) {
      throw error(Kind::Rejected, zone, key.owner + " lies outside zone " + zone);
    }
    // RFC 2136 section 2.4: lock what plan read. Existing RRset: "RRset exists
    // (value dependent)", class IN, TTL 0, every old value. None: "RRset does
    // not exist", class NONE, no RDATA.
    if (change.before && !change.before->values.empty()) {
      for (const auto& value : change.before->values) {
        RrPtr rr = make_rr(key.owner, key.type, LDNS_RR_CLASS_IN, 0);
        if (!push_value(rr.get(), key.type, value)) {
          throw bad_value(key, value);
        }
        ldns_rr_list_push_rr(prereqs.get(), rr.release());
      }
    } else {
      ldns_rr_list_push_rr(prereqs.get(), make_rr(key.owner, key.type, LDNS_RR_CLASS_NONE, 0).release());
    }
    // RFC 2136 section 2.5.2: delete the RRset (class ANY); adds append, so
    // every write deletes first.
    ldns_rr_list_push_rr(deletes.get(), make_rr(key.owner, key.type, LDNS_RR_CLASS_ANY, 0).release());
    if (change.kind != ChangeKind::Delete && change.after) {
      for (const auto& value : change.after->values) {
        RrPtr rr = make_rr(key.owner, key.type, LDNS_RR_CLASS_IN, change.after->ttl);
        if (!push_value(rr.get(), key.type, value)) {
          throw bad_value(key, value);
        }
        ldns_rr_list_push_rr(adds.get(), rr.release());
      }
    }
  }
  // All deletes precede all adds, so an A -> CNAME swap never has both at once.
  for (size_t i = 0; i < ldns_rr_list_rr_count(adds.get()); ++i) {
    ldns_rr_list_push_rr(deletes.get(), ldns_rr_clone(ldns_rr_list_rr(adds.get(), i)));
  }
  PktPtr update(ldns_update_pkt_new(make_dname(zone).release(), LDNS_RR_CLASS_IN, prereqs.get(),
                                    deletes.get(), nullptr));
  if (!update) {
    throw error(Kind::Other, zone, "cannot build the UPDATE message");
  }
  ldns_pkt_set_rd(update.get(), false);
  PktPtr answer = exchange(resolver, update.get(), zone, true);
  unsigned rcode = ldns_pkt_get_rcode(answer.get());
  if (rcode != LDNS_RCODE_NOERROR) {
    throw rcode_error(rcode, zone, true);
  }
}

std::vector<ZoneApplyResult> Rfc2136Provider::apply_zones(const std::vector<ZonePlan>& plans) {
  std::vector<ZoneApplyResult> results(plans.size());
  std::vector<size_t> work;  // indexes of the non-empty plans
  for (size_t i = 0; i < plans.size(); ++i) {
    results[i].zone = plans[i].zone;
    if (!plans[i].empty()) {
      work.push_back(i);
    }
  }
  for_each_zone(
      work.size(), [&](size_t i, ldns_resolver* resolver) { apply_zone(resolver, plans[work[i]]); },
      [&](size_t i, const ProviderError& e) { results[work[i]].error = e; },
      [&](size_t i) { return plans[work[i]].zone; }, "not applied");
  return results;
}

}  // namespace

std::unique_ptr<Provider> make_rfc2136_provider(const Rfc2136Config& config) {
  return std::make_unique<Rfc2136Provider>(config);
}

}  // namespace stsctl
