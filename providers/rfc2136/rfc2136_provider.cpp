#include "rfc2136/rfc2136_provider.h"

#include "rfc2136/rfc2136_pipeline.h"
#include "rfc2136/rfc2136_wire.h"

#include "dns/name.h"
#include "util/handles.h"
#include "util/secret.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

namespace stsctl {

namespace {

using Kind = ProviderError::Kind;
using Failure = rfc2136::Reply::Failure;

// Few sockets, many messages in flight on each (RFC 7766 section 6.2.1.1):
// a round trip per message would leave both ends idle most of the time.
constexpr size_t k_connections = 4;
constexpr size_t k_window = 32;

/// What a message asks: the apex SOA, an owned RRset, the apex MX or NS, or an UPDATE.
enum class Role { Soa, Owned, Mx, Ns, Update };

/// One message of a batch: a query (owner/type) or a zone's UPDATE.
struct Message {
  size_t zone = 0;  // index into the call's zones
  Role role = Role::Owned;
  std::string owner;
  RRType type = RRType::SOA;
  handle::LdnsRdf request_mac;
  rfc2136::Reply reply;
};

/// What a batch of reads found for one zone.
struct ZoneRead {
  std::string zone;  // normalized
  std::optional<ProviderError> error;
  bool started = false;
  size_t unanswered = 0;
  std::vector<size_t> messages;  // indexes into the phase's messages
};

class Rfc2136Provider : public Provider {
 public:
  explicit Rfc2136Provider(const Rfc2136Config& config);

  std::vector<ZoneReadResult> read_zones(const std::vector<ZoneQuery>& queries) override;
  std::vector<ZoneApplyResult> apply_zones(const std::vector<ZonePlan>& plans) override;

 private:
  std::string server() const;
  ProviderError error(Kind kind, const std::string& zone, bool is_update, const std::string& cause,
                      const std::string& next) const;
  std::string setup_error(const std::string& what, const std::string& cause, const std::string& next) const;
  /// The server's address and the pipeline settings; nullopt and *failure when the host does not resolve.
  std::optional<rfc2136::PipelineOptions> pipeline_options(std::optional<ProviderError>* failure) const;
  ProviderError transport_error(const rfc2136::Reply& reply, const std::string& zone, bool is_update) const;
  ProviderError rcode_error(unsigned rcode, const std::string& zone, bool is_update) const;
  /// The answer to `message`, or the error it stands for (transport, TSIG).
  std::optional<rfc2136::Answer> check_reply(const Message& message, const std::string& zone, bool is_update,
                                             std::optional<ProviderError>* failure) const;
  /// Sends `messages` (those of a zone whose `before` check fails are skipped).
  void send(std::vector<Message>& messages, std::vector<ZoneRead>& zones, bool is_update,
            const std::function<handle::LdnsPkt(Message&, std::optional<ProviderError>*)>& build,
            const std::function<void(ZoneRead&)>& zone_done, ZoneBreaker* breaker) const;

  Rfc2136Config m_config;
  std::string m_key_name;  // as configured, no trailing dot (for messages)
  rfc2136::TsigKey m_key;
  Secret m_secret;
};

Rfc2136Provider::Rfc2136Provider(const Rfc2136Config& config) : m_config(config) {
  if (m_config.server_host.empty()) {
    throw ProviderError(Kind::Other,
                        setup_error("set up", "no server host",
                                    "set providers." + config.name + ".server to host or host:port"));
  }
  if (m_config.transport != "tcp" && m_config.transport != "udp") {
    throw ProviderError(Kind::Other, setup_error("set up", "transport '" + m_config.transport + "'",
                                                 "use transport tcp or udp"));
  }
  m_key_name = normalize_name(config.tsig.name);
  if (m_key_name.empty()) {
    return;  // unsigned: only for servers that allow updates by address
  }
  const std::string key = "TSIG key '" + m_key_name + "'";
  // The one algorithm rule (also applied when the config is loaded).
  std::string reason;
  std::optional<std::string> algorithm = tsig_algorithm(
      config.tsig.algorithm.empty() ? "hmac-sha256" : config.tsig.algorithm, config.allow_hmac_md5, &reason);
  if (!algorithm) {
    throw ProviderError(Kind::Other, setup_error("use " + key, reason, "fix tsig.algorithm in the config"));
  }
  // ldns signs with the RFC 8945 section 6 names, absolute.
  m_key.algorithm = *algorithm == "hmac-md5" ? "hmac-md5.sig-alg.reg.int." : *algorithm + ".";
  if (config.tsig.secret_file.empty() && config.tsig.secret_env.empty()) {
    throw ProviderError(Kind::Other, setup_error("read the secret of " + key, "no secret_file or secret_env",
                                                 "set tsig.secret_file or tsig.secret_env"));
  }
  std::string why;
  m_secret = read_secret({config.tsig.secret_file, config.tsig.secret_env}, &why);
  if (m_secret.empty()) {
    throw ProviderError(Kind::Other,
                        setup_error("read the secret of " + key, why,
                                    "tsig.secret_file or tsig.secret_env must hold its base64 secret"));
  }
  // RFC 8945 section 4.2: the key is raw octets, configured as base64.
  if (!is_base64(m_secret.reveal())) {
    const std::string source = config.tsig.secret_file.empty()
                                   ? "environment variable '" + config.tsig.secret_env + "'"
                                   : "file '" + config.tsig.secret_file + "'";
    throw ProviderError(Kind::Other, setup_error("read the secret of " + key, "not base64 in " + source,
                                                 "write the secret as tsig-keygen prints it"));
  }
  m_key.name = m_key_name + ".";
  m_key.secret = m_secret.c_str();
}

std::string Rfc2136Provider::server() const {
  bool v6 = m_config.server_host.find(':') != std::string::npos;
  return (v6 ? "[" + m_config.server_host + "]" : m_config.server_host) + ":" +
         std::to_string(m_config.server_port);
}

std::string Rfc2136Provider::setup_error(const std::string& what, const std::string& cause,
                                         const std::string& next) const {
  return "provider '" + m_config.name + "' (rfc2136): failed to " + what + " (" + cause + "): " + next;
}

ProviderError Rfc2136Provider::error(Kind kind, const std::string& zone, bool is_update,
                                     const std::string& cause, const std::string& next) const {
  return ProviderError(kind, "provider '" + m_config.name + "' (rfc2136): failed to " +
                                 (is_update ? "update" : "read") + " zone '" + zone + "' on " + server() +
                                 " (" + cause + ")" + (next.empty() ? "" : ": " + next));
}

std::optional<rfc2136::PipelineOptions> Rfc2136Provider::pipeline_options(
    std::optional<ProviderError>* failure) const {
  rfc2136::PipelineOptions options;
  options.udp = m_config.transport == "udp";
  options.timeout_seconds = m_config.timeout_seconds > 0 ? m_config.timeout_seconds : 10;
  options.connections = k_connections;
  options.window = k_window;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int status = getaddrinfo(m_config.server_host.c_str(), nullptr, &hints, &found);
  handle::AddrInfo owned(found);
  if (status != 0 || !found) {
    *failure = ProviderError(
        Kind::Unreachable, setup_error("resolve server '" + m_config.server_host + "'", gai_strerror(status),
                                       "check providers." + m_config.name + ".server"));
    return std::nullopt;
  }
  std::memcpy(&options.address, found->ai_addr, found->ai_addrlen);
  options.address_length = found->ai_addrlen;
  uint16_t port = htons(m_config.server_port);
  if (found->ai_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&options.address)->sin6_port = port;
  } else {
    reinterpret_cast<sockaddr_in*>(&options.address)->sin_port = port;
  }
  return options;
}

ProviderError Rfc2136Provider::transport_error(const rfc2136::Reply& reply, const std::string& zone,
                                               bool is_update) const {
  const std::string maybe = is_update ? "the update may or may not have been applied: run plan again" : "";
  const std::string unreachable = "is the server running and listening on that address and port?";
  const std::string limit =
      std::to_string(static_cast<int>(m_config.timeout_seconds > 0 ? m_config.timeout_seconds + 0.5 : 10));
  const std::string slow = "is the server overloaded? raise providers." + m_config.name + ".timeout";
  switch (reply.failure) {
    case Failure::Unreachable:
      return error(Kind::Unreachable, zone, is_update, "cannot connect: " + reply.cause, unreachable);
    case Failure::Timeout:
      return error(Kind::Timeout, zone, is_update,
                   "no answer within " + limit + " s, providers." + m_config.name + ".timeout",
                   is_update ? maybe : slow);
    case Failure::Closed:
      return error(Kind::Unreachable, zone, is_update, "the server closed the connection",
                   is_update ? maybe : "see the server's logs");
    case Failure::NotSent: {
      bool timed_out = reply.earlier == Failure::Timeout;
      return error(timed_out ? Kind::Timeout : Kind::Unreachable, zone, is_update,
                   "not sent: an earlier message found the server down: " + reply.cause,
                   timed_out ? slow : unreachable);
    }
    case Failure::None:
      break;
  }
  return error(Kind::Other, zone, is_update, "no answer", "");
}

ProviderError Rfc2136Provider::rcode_error(unsigned rcode, const std::string& zone, bool is_update) const {
  std::string name = rfc2136::rcode_name(rcode);
  std::string key = m_key_name.empty() ? std::string("no TSIG key") : "key '" + m_key_name + "'";
  switch (rcode) {
    case LDNS_RCODE_REFUSED:
      if (is_update) {
        return error(
            Kind::Auth, zone, true, name,
            key +
                " may not update this name, or its signature was not accepted: check the secret and the "
                "update policy for zone " +
                zone + " (BIND update-policy, Knot acl, PowerDNS TSIG-ALLOW-DNSUPDATE)");
      }
      return error(Kind::ZoneMissing, zone, false, name,
                   "zone " + zone + " is not served there, or allow-query excludes this host");
    case LDNS_RCODE_NOTAUTH:
      // RFC 8945 section 5.3.2: NOTAUTH also answers a signature the server did not accept.
      if (!m_key_name.empty()) {
        return error(Kind::ZoneMissing, zone, is_update, name,
                     "the server is not authoritative for zone " + zone +
                         ", or did not accept the signature of " + key +
                         ": check the zone name, the server and the secret");
      }
      return error(Kind::ZoneMissing, zone, is_update, name,
                   "the server is not authoritative for zone " + zone + ": check the zone name and server");
    case LDNS_RCODE_NOTZONE:
      return error(
          Kind::ZoneMissing, zone, is_update, name,
          "a name lies outside zone " + zone + ", or the zone is not served there: check the zone name");
    case LDNS_RCODE_YXRRSET:
    case LDNS_RCODE_NXRRSET:
    case LDNS_RCODE_YXDOMAIN:
    case LDNS_RCODE_NXDOMAIN:
      if (is_update) {
        return error(Kind::Conflict, zone, true, name, "the zone changed since plan: run plan again");
      }
      return error(Kind::ZoneMissing, zone, false, name, "zone " + zone + " does not exist there");
    case LDNS_RCODE_NOTIMPL:
      return error(Kind::Rejected, zone, is_update, name,
                   std::string("the server does not implement ") + (is_update ? "UPDATE" : "this query"));
    case LDNS_RCODE_FORMERR:
      return error(Kind::Rejected, zone, is_update, name,
                   "the server found the message malformed: see its logs");
    default:
      return error(Kind::Other, zone, is_update, name,
                   std::string(is_update ? "nothing was applied; " : "") + "see the server's logs");
  }
}

std::optional<rfc2136::Answer> Rfc2136Provider::check_reply(const Message& message, const std::string& zone,
                                                            bool is_update,
                                                            std::optional<ProviderError>* failure) const {
  if (message.reply.failure != Failure::None) {
    *failure = transport_error(message.reply, zone, is_update);
    return std::nullopt;
  }
  const rfc2136::TsigKey* key = m_key_name.empty() ? nullptr : &m_key;
  auto answer = rfc2136::parse_answer(message.reply.wire, key, message.request_mac.get());
  if (!answer) {
    *failure = error(
        Kind::Other, zone, is_update, "malformed answer",
        is_update ? "the update may or may not have been applied: run plan again" : "see the server's logs");
    return std::nullopt;
  }
  const std::string key_text = "key '" + m_key_name + "'";
  switch (answer->tsig_error) {
    case 0:
      break;
    case rfc2136::k_tsig_badsig:
      *failure = error(Kind::Auth, zone, is_update, "TSIG BADSIG",
                       "wrong secret for " + key_text + ": check tsig.secret_file / secret_env");
      return std::nullopt;
    case rfc2136::k_tsig_badkey:
      *failure =
          error(Kind::Auth, zone, is_update, "TSIG BADKEY",
                "the server does not know " + key_text + " with algorithm " +
                    m_key.algorithm.substr(0, m_key.algorithm.size() - 1) +
                    ", or its acl does not allow the key this: check tsig.name, algorithm and the server's "
                    "keys");
      return std::nullopt;
    case rfc2136::k_tsig_badtime:
      *failure = error(Kind::Auth, zone, is_update, "TSIG BADTIME",
                       "the clocks of this host and the server differ by more than 300 s: sync them");
      return std::nullopt;
    default:
      *failure = error(Kind::Auth, zone, is_update, "TSIG error " + std::to_string(answer->tsig_error),
                       "see the server's logs for " + key_text);
      return std::nullopt;
  }
  if (!answer->verified && ldns_pkt_get_rcode(answer->packet.get()) == LDNS_RCODE_NOERROR) {
    *failure =
        error(Kind::Auth, zone, is_update, "the answer's TSIG signature does not verify with " + key_text,
              is_update ? "the update may or may not have been applied: check the key, then run plan again"
                        : "check the key");
    return std::nullopt;
  }
  return answer;
}

void Rfc2136Provider::send(
    std::vector<Message>& messages, std::vector<ZoneRead>& zones, bool is_update,
    const std::function<handle::LdnsPkt(Message&, std::optional<ProviderError>*)>& build,
    const std::function<void(ZoneRead&)>& zone_done, ZoneBreaker* breaker) const {
  std::optional<ProviderError> unresolved;
  auto options = pipeline_options(&unresolved);
  for (auto& zone : zones) {
    zone.unanswered = zone.messages.size();
  }
  // A zone is done once each of its messages was answered or skipped.
  auto one_less = [&](ZoneRead& zone) {
    if (--zone.unanswered == 0 && zone.started) {
      zone_done(zone);
    }
  };
  auto start = [&](size_t i, uint16_t id) -> std::optional<rfc2136::Outgoing> {
    Message& message = messages[i];
    ZoneRead& zone = zones[message.zone];
    if (!zone.started && !zone.error) {
      zone.error = breaker ? breaker->before(zone.zone) : std::nullopt;
      if (!zone.error && unresolved) {
        zone.error = unresolved;
      }
      zone.started = !zone.error;
    }
    std::optional<ProviderError> failure;
    handle::LdnsPkt packet = zone.error ? nullptr : build(message, &failure);
    std::optional<rfc2136::WireMessage> wire;
    if (packet) {
      ldns_status status = LDNS_STATUS_OK;
      wire = rfc2136::to_wire(packet.get(), id, m_key_name.empty() ? nullptr : &m_key, &status);
      if (!wire) {
        failure = error(Kind::Auth, zone.zone, is_update,
                        "cannot sign with TSIG key '" + m_key_name + "': " + ldns_get_errorstr_by_id(status),
                        "check its secret and algorithm");
      }
    }
    if (failure && !zone.error) {
      zone.error = failure;
    }
    if (!wire) {
      one_less(zone);
      return std::nullopt;
    }
    message.request_mac = std::move(wire->request_mac);
    return rfc2136::Outgoing{std::move(wire->wire), !is_update};
  };
  auto finish = [&](size_t i, rfc2136::Reply&& reply) {
    messages[i].reply = std::move(reply);
    one_less(zones[messages[i].zone]);
  };
  if (options) {
    rfc2136::exchange_pipelined(*options, messages.size(), start, finish);
  } else {
    for (size_t i = 0; i < messages.size(); ++i) {
      start(i, 0);
    }
  }
}

std::vector<ZoneReadResult> Rfc2136Provider::read_zones(const std::vector<ZoneQuery>& queries) {
  ZoneBreaker breaker(m_limits, m_config.name);
  std::vector<ZoneRead> zones(queries.size());
  std::vector<ZoneReadResult> results(queries.size());
  // Per zone and owner: the types still to ask (CNAME first, since a CNAME
  // excludes every other type at its name, RFC 1034 section 3.6.2).
  std::vector<std::map<std::string, std::vector<RRType>>> owners(queries.size());
  std::vector<Message> first;
  for (size_t z = 0; z < queries.size(); ++z) {
    zones[z].zone = normalize_name(queries[z].zone);
    results[z].zone = queries[z].zone;
    results[z].snapshot.zone = zones[z].zone;
    std::map<std::string, std::set<RRType>> types;
    for (const auto& key : queries[z].owned_keys) {
      types[absolute(normalize_name(key.owner))].insert(key.type);
    }
    auto add = [&](Role role, const std::string& owner, RRType type) {
      zones[z].messages.push_back(first.size());
      first.push_back(Message{z, role, owner, type, nullptr, {}});
    };
    // The apex SOA proves the server is authoritative for the zone.
    add(Role::Soa, zones[z].zone, RRType::SOA);
    for (const auto& [owner, set] : types) {
      std::vector<RRType> order(set.begin(), set.end());
      std::stable_partition(order.begin(), order.end(), [](RRType t) { return t == RRType::CNAME; });
      add(Role::Owned, owner, order.front());
      owners[z][owner].assign(order.begin() + 1, order.end());
    }
    if (queries[z].want_mx) {
      add(Role::Mx, zones[z].zone, RRType::MX);
    }
    if (queries[z].want_nameservers) {
      add(Role::Ns, zones[z].zone, RRType::NS);
    }
  }
  auto build = [](Message& message, std::optional<ProviderError>*) {
    return rfc2136::build_query(message.owner, rfc2136::to_ldns(message.type));
  };
  // Folds a zone's answers into its snapshot; the first failure (in message
  // order) is the zone's error.
  std::vector<Message>* phase = &first;
  auto take_answers = [&](ZoneRead& zone) {
    size_t z = static_cast<size_t>(&zone - zones.data());
    ZoneSnapshot& snapshot = results[z].snapshot;
    for (size_t m : zone.messages) {
      if (zone.error) {
        break;
      }
      Message& message = (*phase)[m];
      auto answer = check_reply(message, zone.zone, false, &zone.error);
      if (!answer) {
        break;
      }
      unsigned rcode = ldns_pkt_get_rcode(answer->packet.get());
      if (message.role == Role::Soa) {
        if (rcode != LDNS_RCODE_NOERROR) {
          zone.error = rcode_error(rcode, zone.zone, false);
        } else if (!rfc2136::has_apex_soa(answer->packet.get(), zone.zone)) {
          zone.error =
              error(Kind::ZoneMissing, zone.zone, false, "no SOA at the apex",
                    "the server is not authoritative for zone " + zone.zone + ": check the zone name");
        }
        continue;
      }
      std::vector<RRType> none;
      auto& rest = message.role == Role::Owned ? owners[z][message.owner] : none;
      if (rcode == LDNS_RCODE_NXDOMAIN) {
        rest.clear();  // the name does not exist: nothing else to ask there
        continue;
      }
      if (rcode != LDNS_RCODE_NOERROR) {
        zone.error = rcode_error(rcode, zone.zone, false);
        break;
      }
      bool malformed = false;
      auto rrset = rfc2136::answer_rrset(answer->packet.get(), message.owner, message.type, &malformed);
      if (malformed) {
        zone.error =
            error(Kind::Other, zone.zone, false,
                  std::string("malformed ") + to_string(message.type) + " record at " + message.owner,
                  "fix the record on the server");
        break;
      }
      if (!rrset) {
        continue;
      }
      if (message.role == Role::Mx) {
        snapshot.mx.push_back(*rrset);
      } else if (message.role == Role::Ns) {
        snapshot.nameservers = rrset->values;
      } else {
        snapshot.owned.push_back(*rrset);
        if (message.type == RRType::CNAME) {
          rest.clear();
        }
      }
    }
  };
  send(
      first, zones, false, build,
      [&](ZoneRead& zone) {
        take_answers(zone);
        breaker.after(zone.zone, zone.error);
      },
      &breaker);

  // Second round: the other owned types at names that exist and hold no CNAME.
  std::vector<Message> second;
  for (size_t z = 0; z < zones.size(); ++z) {
    zones[z].messages.clear();
    zones[z].started = false;
    if (zones[z].error) {
      continue;
    }
    for (const auto& [owner, rest] : owners[z]) {
      for (RRType type : rest) {
        zones[z].messages.push_back(second.size());
        second.push_back(Message{z, Role::Owned, owner, type, nullptr, {}});
      }
    }
  }
  phase = &second;
  if (!second.empty()) {
    send(second, zones, false, build, take_answers, nullptr);
  }
  for (size_t z = 0; z < zones.size(); ++z) {
    if (zones[z].error) {
      results[z].error = zones[z].error;
      results[z].snapshot = ZoneSnapshot{};
      results[z].snapshot.zone = zones[z].zone;
    } else {
      std::sort(results[z].snapshot.owned.begin(), results[z].snapshot.owned.end(), canonical_less);
    }
  }
  return results;
}

std::vector<ZoneApplyResult> Rfc2136Provider::apply_zones(const std::vector<ZonePlan>& plans) {
  ZoneBreaker breaker(m_limits, m_config.name);
  std::vector<ZoneApplyResult> results(plans.size());
  std::vector<ZoneRead> zones;  // the non-empty plans, one UPDATE each
  std::vector<size_t> plan_of;
  std::vector<Message> messages;
  for (size_t i = 0; i < plans.size(); ++i) {
    results[i].zone = plans[i].zone;
    if (!plans[i].empty()) {
      ZoneRead zone;
      zone.zone = normalize_name(plans[i].zone);
      zone.messages = {messages.size()};
      messages.push_back(Message{zones.size(), Role::Update, zone.zone, RRType::SOA, nullptr, {}});
      zones.push_back(std::move(zone));
      plan_of.push_back(i);
    }
  }
  auto build = [&](Message& message, std::optional<ProviderError>* failure) {
    std::string why;
    handle::LdnsPkt update = rfc2136::build_update(message.owner, plans[plan_of[message.zone]].changes, &why);
    if (!update) {
      *failure = error(Kind::Rejected, message.owner, true, why, "nothing was sent; fix the plan's records");
    }
    return update;
  };
  auto done = [&](ZoneRead& zone) {
    if (!zone.error) {
      const Message& message = messages[zone.messages.front()];
      if (auto answer = check_reply(message, zone.zone, true, &zone.error)) {
        unsigned rcode = ldns_pkt_get_rcode(answer->packet.get());
        if (rcode != LDNS_RCODE_NOERROR) {
          zone.error = rcode_error(rcode, zone.zone, true);
        }
      }
    }
    breaker.after(zone.zone, zone.error);
  };
  send(messages, zones, true, build, done, &breaker);
  for (size_t z = 0; z < zones.size(); ++z) {
    results[plan_of[z]].error = zones[z].error;
  }
  return results;
}

}  // namespace

std::unique_ptr<Provider> make_rfc2136_provider(const Rfc2136Config& config) {
  return std::make_unique<Rfc2136Provider>(config);
}

}  // namespace stsctl
