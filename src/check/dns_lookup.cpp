#include "check/dns_lookup.h"

#include "dns/name.h"
#include "util/fd.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <stdexcept>
#include <unordered_map>

namespace stsctl {

namespace {

using Clock = std::chrono::steady_clock;

std::string rdf_to_string(const ldns_rdf* rdf) {
  handle::CString text(ldns_rdf2str(rdf));
  return text ? std::string(text.get()) : std::string();
}

ldns_rr_type parse_type(const std::string& type) {
  if (type == "TXT") {
    return LDNS_RR_TYPE_TXT;
  }
  if (type == "MX") {
    return LDNS_RR_TYPE_MX;
  }
  if (type == "A") {
    return LDNS_RR_TYPE_A;
  }
  if (type == "AAAA") {
    return LDNS_RR_TYPE_AAAA;
  }
  if (type == "CNAME") {
    return LDNS_RR_TYPE_CNAME;
  }
  if (type == "CAA") {
    return LDNS_RR_TYPE_CAA;
  }
  throw std::invalid_argument("unsupported DNS type '" + type + "'");
}

std::string record_text(const ldns_rr* rr, ldns_rr_type type) {
  switch (type) {
    case LDNS_RR_TYPE_TXT: {
      // RFC 8461 3.1: strings are concatenated without separators.
      std::string joined;
      for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
        const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
        const uint8_t* data = ldns_rdf_data(rdf);
        size_t size = ldns_rdf_size(rdf);
        if (size >= 1) {
          size_t length = std::min<size_t>(data[0], size - 1);
          joined.append(reinterpret_cast<const char*>(data + 1), length);
        }
      }
      return joined;
    }
    case LDNS_RR_TYPE_MX:
      return std::to_string(ldns_rdf2native_int16(ldns_rr_rdf(rr, 0))) + " " +
             normalize_name(rdf_to_string(ldns_rr_rdf(rr, 1)));
    case LDNS_RR_TYPE_CNAME:
      return normalize_name(rdf_to_string(ldns_rr_rdf(rr, 0)));
    case LDNS_RR_TYPE_CAA: {
      // RFC 8659 4.1: flags, tag (length-prefixed), value (rest of the RDATA).
      if (ldns_rr_rd_count(rr) < 3) {
        return "";
      }
      const ldns_rdf* tag = ldns_rr_rdf(rr, 1);
      const ldns_rdf* value = ldns_rr_rdf(rr, 2);
      const uint8_t* tag_data = ldns_rdf_data(tag);
      size_t tag_size = ldns_rdf_size(tag);
      std::string tag_text = tag_size >= 1 && tag_data[0] == tag_size - 1
                                 ? std::string(reinterpret_cast<const char*>(tag_data + 1), tag_size - 1)
                                 : std::string(reinterpret_cast<const char*>(tag_data), tag_size);
      return std::to_string(ldns_rdf2native_int8(ldns_rr_rdf(rr, 0))) + " " + tag_text + " " +
             std::string(reinterpret_cast<const char*>(ldns_rdf_data(value)), ldns_rdf_size(value));
    }
    default:
      return rdf_to_string(ldns_rr_rdf(rr, 0));
  }
}

handle::LdnsResolver make_resolver(const DnsOptions& options, std::string* description) {
  ldns_resolver* raw = nullptr;
  if (options.resolver.empty()) {
    ldns_status status = ldns_resolver_new_frm_file(&raw, nullptr);
    if (status != LDNS_STATUS_OK || raw == nullptr) {
      throw std::runtime_error(std::string("failed to read the system resolver from /etc/resolv.conf (") +
                               ldns_get_errorstr_by_id(status) + "); pass --resolver IP[:port]");
    }
    *description = "the system resolver";
  } else {
    auto [address, port] = parse_resolver_address(options.resolver);
    raw = ldns_resolver_new();
    if (raw == nullptr) {
      throw std::runtime_error("failed to create a DNS resolver (out of memory)");
    }
    handle::LdnsResolver holder(raw);
    bool v6 = address.find(':') != std::string::npos;
    handle::LdnsRdf rdf(ldns_rdf_new_frm_str(v6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, address.c_str()));
    if (!rdf || ldns_resolver_push_nameserver(raw, rdf.get()) != LDNS_STATUS_OK) {
      throw std::runtime_error("failed to use resolver '" + options.resolver + "' (not an IP address)");
    }
    ldns_resolver_set_port(raw, port);
    static_cast<void>(holder.release());  // set up: the caller owns `raw` from here
    *description = "resolver " + options.resolver;
  }
  timeval timeout{};
  double seconds = std::max(0.05, options.timeout_seconds);
  timeout.tv_sec = static_cast<time_t>(seconds);
  timeout.tv_usec = static_cast<suseconds_t>((seconds - std::floor(seconds)) * 1e6);
  ldns_resolver_set_timeout(raw, timeout);
  ldns_resolver_set_retry(raw, static_cast<uint8_t>(std::max(1, options.retries)));
  ldns_resolver_set_recursive(raw, true);
  ldns_resolver_set_dnsrch(raw, false);
  ldns_resolver_set_defnames(raw, false);
  ldns_resolver_set_fallback(raw, true);  // TCP when truncated
  ldns_resolver_set_usevc(raw, true);     // this resolver only asks again after a truncated UDP answer
  return handle::LdnsResolver(raw);
}

// Reads the answer chain starting at `name` from a response. Sets the name
// the chain ended at (for a re-query when the answer stops at a CNAME).
DnsAnswer interpret(const ldns_pkt* packet, const std::string& name, ldns_rr_type type,
                    const std::string& description, std::string* chain_end, bool* dangling_cname) {
  DnsAnswer answer;
  *dangling_cname = false;
  ldns_pkt_rcode rcode = ldns_pkt_get_rcode(packet);
  std::string current = normalize_name(name);
  const ldns_rr_list* rrs = ldns_pkt_answer(packet);
  for (int hop = 0; hop < 16; ++hop) {
    bool found = false;
    std::string next;
    for (size_t i = 0; rrs != nullptr && i < ldns_rr_list_rr_count(rrs); ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(rrs, i);
      if (normalize_name(rdf_to_string(ldns_rr_owner(rr))) != current) {
        continue;
      }
      if (ldns_rr_get_type(rr) == type) {
        answer.records.push_back(record_text(rr, type));
        found = true;
      } else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && type != LDNS_RR_TYPE_CNAME) {
        next = record_text(rr, LDNS_RR_TYPE_CNAME);
      }
    }
    if (found || next.empty()) {
      break;
    }
    answer.cname_chain.push_back(next);
    current = next;
  }
  *chain_end = current;
  if (rcode == LDNS_RCODE_NOERROR) {
    answer.status = answer.records.empty() ? DnsStatus::NoData : DnsStatus::Ok;
    *dangling_cname = answer.records.empty() && !answer.cname_chain.empty();
  } else if (rcode == LDNS_RCODE_NXDOMAIN) {
    answer.status = DnsStatus::NxDomain;
  } else if (rcode == LDNS_RCODE_SERVFAIL) {
    answer.status = DnsStatus::ServFail;
    answer.error = "SERVFAIL from " + description;
  } else if (rcode == LDNS_RCODE_REFUSED) {
    answer.status = DnsStatus::Refused;
    answer.error = "REFUSED by " + description;
  } else {
    answer.status = DnsStatus::Error;
    answer.error = "rcode " + std::to_string(static_cast<int>(rcode)) + " from " + description;
  }
  return answer;
}

DnsAnswer timeout_answer(const std::string& description) {
  DnsAnswer answer;
  answer.status = DnsStatus::Timeout;
  answer.error = "no answer from " + description + " (timeout or unreachable)";
  return answer;
}

// Blocking query over TCP, used only after a truncated UDP answer.
handle::LdnsPkt query_tcp(ldns_resolver* resolver, const std::string& name, ldns_rr_type type) {
  handle::LdnsRdf qname(ldns_dname_new_frm_str(absolute(name).c_str()));
  if (!qname) {
    return nullptr;
  }
  // ldns marks a server that once timed out as unreachable for good; every
  // query here should try again and report its own timeout.
  for (size_t i = 0; i < ldns_resolver_nameserver_count(resolver); ++i) {
    ldns_resolver_set_nameserver_rtt(resolver, i, LDNS_RESOLV_RTT_MIN);
  }
  ldns_pkt* raw = nullptr;
  ldns_resolver_query_status(&raw, resolver, qname.get(), type, LDNS_RR_CLASS_IN, LDNS_RD);
  return handle::LdnsPkt(raw);
}

bool same_address(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) {
    return false;
  }
  if (a.ss_family == AF_INET) {
    const auto& x = reinterpret_cast<const sockaddr_in&>(a);
    const auto& y = reinterpret_cast<const sockaddr_in&>(b);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  const auto& x = reinterpret_cast<const sockaddr_in6&>(a);
  const auto& y = reinterpret_cast<const sockaddr_in6&>(b);
  return x.sin6_port == y.sin6_port && std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof(x.sin6_addr)) == 0;
}

}  // namespace

const char* to_string(DnsStatus status) {
  switch (status) {
    case DnsStatus::Ok:
      return "ok";
    case DnsStatus::NxDomain:
      return "NXDOMAIN";
    case DnsStatus::NoData:
      return "NODATA";
    case DnsStatus::ServFail:
      return "SERVFAIL";
    case DnsStatus::Refused:
      return "REFUSED";
    case DnsStatus::Timeout:
      return "timeout";
    case DnsStatus::Error:
      return "error";
  }
  return "error";
}

std::pair<std::string, uint16_t> parse_resolver_address(const std::string& text) {
  std::string address = text;
  uint16_t port = 53;
  auto parse_port = [&](const std::string& digits) {
    if (digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(digits) == 0 || std::stoi(digits) > 65535) {
      throw std::invalid_argument("bad port in resolver '" + text + "'");
    }
    port = static_cast<uint16_t>(std::stoi(digits));
  };
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos) {
      throw std::invalid_argument("resolver '" + text + "' has no closing ']'");
    }
    address = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') {
        throw std::invalid_argument("resolver '" + text + "' must be [IPv6]:port");
      }
      parse_port(text.substr(close + 2));
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    size_t colon = text.find(':');
    address = text.substr(0, colon);
    parse_port(text.substr(colon + 1));
  }
  unsigned char buffer[16];
  if (inet_pton(AF_INET, address.c_str(), buffer) != 1 && inet_pton(AF_INET6, address.c_str(), buffer) != 1) {
    throw std::invalid_argument("resolver '" + text + "' is not IP[:port]");
  }
  return {address, port};
}

// The UDP side of lookup_many: sockets, ids in flight, and the servers.
struct DnsLookup::Pipeline {
  struct Slot {
    size_t index = 0;  // into the caller's queries
    std::string name;  // asked now (after CNAMEs the chain's end)
    ldns_rr_type type = LDNS_RR_TYPE_A;
    std::vector<std::string> chain;
    int rounds = 0;  // CNAME continuations
    int tries = 0;
    uint16_t id = 0;
    Clock::time_point deadline;
  };

  std::vector<sockaddr_storage> servers;
  Fd v4;
  Fd v6;
  std::mt19937 random{std::random_device{}()};
  std::unordered_map<uint16_t, Slot> in_flight;

  int socket_for(int family) {
    Fd& fd = family == AF_INET6 ? v6 : v4;
    if (fd.get() < 0) {
      fd.reset(socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      int size = 1 << 20;  // room for hundreds of answers between two polls
      setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
      setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    }
    return fd.get();
  }

  // A question built but not yet handed to the kernel: send() queues,
  // flush() sends every queued one with one sendmmsg per family (one syscall
  // for hundreds of queries instead of one each).
  struct Outgoing {
    uint16_t id = 0;
    size_t server = 0;
    std::vector<uint8_t> wire;
  };
  std::vector<Outgoing> outgoing;

  // Queues the slot's question under a fresh id; false with `error` set when
  // it cannot be built.
  bool send(Slot slot, double timeout_seconds, std::string* error) {
    do {
      slot.id = static_cast<uint16_t>(random());
    } while (in_flight.count(slot.id) > 0);
    handle::LdnsRdf qname(ldns_dname_new_frm_str(absolute(slot.name).c_str()));
    if (!qname) {
      *error = "'" + slot.name + "' is not a valid DNS name";
      return false;
    }
    handle::LdnsPkt query(ldns_pkt_query_new(qname.release(), slot.type, LDNS_RR_CLASS_IN, LDNS_RD));
    ldns_pkt_set_id(query.get(), slot.id);
    ldns_pkt_set_edns_udp_size(query.get(), 1232);  // fewer truncated TXT answers (RFC 6891)
    uint8_t* wire = nullptr;
    size_t size = 0;
    if (!query || ldns_pkt2wire(&wire, query.get(), &size) != LDNS_STATUS_OK) {
      *error = "failed to build a DNS query for '" + slot.name + "'";
      return false;
    }
    handle::CString owned(reinterpret_cast<char*>(wire));
    outgoing.push_back(
        {slot.id, static_cast<size_t>(slot.tries) % servers.size(), std::vector<uint8_t>(wire, wire + size)});
    ++slot.tries;
    slot.deadline = Clock::now() + std::chrono::microseconds(static_cast<long>(timeout_seconds * 1e6));
    in_flight.emplace(slot.id, std::move(slot));
    return true;
  }

  // Sends every queued question; returns the ids that cannot be sent at all,
  // each with its error. A full send buffer is treated like a lost datagram:
  // the retry resends it.
  std::vector<std::pair<uint16_t, std::string>> flush() {
    std::vector<std::pair<uint16_t, std::string>> failed;
    for (int family : {AF_INET, AF_INET6}) {
      std::vector<mmsghdr> messages;
      std::vector<iovec> parts;
      std::vector<uint16_t> ids;
      parts.reserve(outgoing.size());
      for (Outgoing& query : outgoing) {
        const sockaddr_storage& server = servers[query.server];
        if (server.ss_family != family) {
          continue;
        }
        parts.push_back({query.wire.data(), query.wire.size()});
        mmsghdr message{};
        message.msg_hdr.msg_name = const_cast<sockaddr_storage*>(&server);
        message.msg_hdr.msg_namelen = family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
        message.msg_hdr.msg_iov = &parts.back();
        message.msg_hdr.msg_iovlen = 1;
        messages.push_back(message);
        ids.push_back(query.id);
      }
      if (messages.empty()) {
        continue;
      }
      int fd = socket_for(family);
      for (size_t next = 0; next < messages.size();) {
        unsigned int count = static_cast<unsigned int>(std::min<size_t>(messages.size() - next, 1024));
        int sent = sendmmsg(fd, &messages[next], count, 0);
        if (sent > 0) {
          next += static_cast<size_t>(sent);
          continue;
        }
        if (errno == EAGAIN || errno == ENOBUFS) {
          break;  // the rest wait for their retry
        }
        failed.emplace_back(ids[next],
                            std::string("failed to send a DNS query (") + std::strerror(errno) + ")");
        ++next;
      }
    }
    outgoing.clear();
    return failed;
  }
};

DnsLookup::DnsLookup(const DnsOptions& options) : m_options(options) {
  m_tcp = make_resolver(options, &m_description);
}

DnsLookup::~DnsLookup() = default;

DnsAnswer DnsLookup::lookup(const std::string& name, const std::string& type) {
  return lookup_many({{name, type}}).front();
}

std::vector<DnsAnswer> DnsLookup::lookup_many(const std::vector<DnsQuery>& queries,
                                              const std::function<void(size_t, size_t)>& progress) {
  std::vector<DnsAnswer> answers(queries.size());
  Pipeline pipe;
  for (size_t i = 0; i < ldns_resolver_nameserver_count(m_tcp.get()); ++i) {
    size_t size = 0;
    std::unique_ptr<sockaddr_storage, decltype(&free)> address(
        ldns_rdf2native_sockaddr_storage(ldns_resolver_nameservers(m_tcp.get())[i],
                                         ldns_resolver_port(m_tcp.get()), &size),
        free);
    if (address) {
      pipe.servers.push_back(*address);
    }
  }
  std::deque<Pipeline::Slot> waiting;
  for (size_t i = 0; i < queries.size(); ++i) {
    Pipeline::Slot slot;
    slot.index = i;
    slot.name = queries[i].name;
    try {
      slot.type = parse_type(queries[i].type);
    } catch (const std::exception& e) {
      answers[i].error = e.what();
      continue;
    }
    waiting.push_back(std::move(slot));
  }
  if (pipe.servers.empty()) {
    for (const auto& slot : waiting) {
      answers[slot.index].error = "no usable name server in " + m_description;
    }
    waiting.clear();
  }
  const size_t limit = static_cast<size_t>(std::clamp(m_options.max_in_flight, 1, 30000));
  const int tries = std::max(1, m_options.retries);
  size_t done = queries.size() - waiting.size();

  // Records a final answer, or asks again from where a CNAME chain stopped:
  // an authoritative server answers a CNAME to a name outside its data with
  // the CNAME alone.
  auto settle = [&](Pipeline::Slot& slot, const ldns_pkt* packet) {
    std::string end;
    bool dangling = false;
    DnsAnswer answer = interpret(packet, slot.name, slot.type, m_description, &end, &dangling);
    slot.chain.insert(slot.chain.end(), answer.cname_chain.begin(), answer.cname_chain.end());
    if (dangling && end != normalize_name(slot.name)) {
      if (++slot.rounds >= 8) {
        answer = DnsAnswer{};
        answer.status = DnsStatus::Error;
        answer.error = "CNAME chain from '" + queries[slot.index].name + "' is too long (loop?)";
      } else {
        slot.name = end;
        slot.tries = 0;
        waiting.push_front(std::move(slot));
        return;
      }
    }
    answer.cname_chain = slot.chain;
    answers[slot.index] = std::move(answer);
    ++done;
    if (progress) {
      progress(done, queries.size());
    }
  };
  auto fail = [&](const Pipeline::Slot& slot, DnsAnswer answer) {
    answer.cname_chain = slot.chain;
    answers[slot.index] = std::move(answer);
    ++done;
    if (progress) {
      progress(done, queries.size());
    }
  };

  // Answers are read `batch` at a time (a single lookup takes one buffer);
  // a buffer holds the largest UDP datagram, so nothing is cut short
  // whatever a server sends.
  const size_t batch = std::clamp<size_t>(queries.size(), 1, 32);
  constexpr size_t k_answer_bytes = 65535;
  std::unique_ptr<uint8_t[]> buffer(new uint8_t[batch * k_answer_bytes]);
  std::vector<mmsghdr> messages(batch);
  std::vector<iovec> parts(batch);
  std::vector<sockaddr_storage> senders(batch);
  auto handle_answer = [&](const sockaddr_storage& from, const uint8_t* data, size_t n) {
    bool known = std::any_of(pipe.servers.begin(), pipe.servers.end(),
                             [&](const sockaddr_storage& s) { return same_address(s, from); });
    ldns_pkt* raw = nullptr;
    if (!known || ldns_wire2pkt(&raw, data, n) != LDNS_STATUS_OK) {
      return;  // not from our server or not DNS: ignore, as a resolver must
    }
    handle::LdnsPkt packet(raw);
    auto found = pipe.in_flight.find(ldns_pkt_id(packet.get()));
    const ldns_rr_list* question = ldns_pkt_question(packet.get());
    if (found == pipe.in_flight.end() || question == nullptr || ldns_rr_list_rr_count(question) != 1) {
      return;
    }
    // RFC 5452 9.1: the answer must repeat the question (name and type).
    const ldns_rr* asked = ldns_rr_list_rr(question, 0);
    if (ldns_rr_get_type(asked) != found->second.type ||
        normalize_name(rdf_to_string(ldns_rr_owner(asked))) != normalize_name(found->second.name)) {
      return;
    }
    Pipeline::Slot slot = std::move(found->second);
    pipe.in_flight.erase(found);
    if (ldns_pkt_tc(packet.get())) {
      handle::LdnsPkt full = query_tcp(m_tcp.get(), slot.name, slot.type);
      if (!full) {
        fail(slot, timeout_answer(m_description));
        return;
      }
      settle(slot, full.get());
    } else {
      settle(slot, packet.get());
    }
  };
  while (!waiting.empty() || !pipe.in_flight.empty()) {
    while (!waiting.empty() && pipe.in_flight.size() < limit) {
      Pipeline::Slot slot = std::move(waiting.front());
      waiting.pop_front();
      std::string error;
      if (!pipe.send(slot, m_options.timeout_seconds / tries, &error)) {
        DnsAnswer answer;
        answer.error = error;
        fail(slot, answer);
      }
    }
    for (auto& [id, error] : pipe.flush()) {
      auto found = pipe.in_flight.find(id);
      Pipeline::Slot slot = std::move(found->second);
      pipe.in_flight.erase(found);
      DnsAnswer answer;
      answer.error = error;
      fail(slot, answer);
    }
    if (pipe.in_flight.empty()) {
      continue;
    }
    auto now = Clock::now();
    auto nearest = now + std::chrono::hours(1);
    for (const auto& [id, slot] : pipe.in_flight) {
      nearest = std::min(nearest, slot.deadline);
    }
    int wait_ms = static_cast<int>(
        std::max<long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(nearest - now).count() + 1));
    pollfd fds[2] = {{pipe.v4.get(), POLLIN, 0}, {pipe.v6.get(), POLLIN, 0}};
    poll(fds, 2, wait_ms);
    for (const pollfd& entry : fds) {
      if (entry.fd < 0 || (entry.revents & POLLIN) == 0) {
        continue;
      }
      for (;;) {
        // Up to `batch` answers per syscall.
        for (size_t i = 0; i < batch; ++i) {
          parts[i] = {buffer.get() + i * k_answer_bytes, k_answer_bytes};
          messages[i] = mmsghdr{};
          messages[i].msg_hdr.msg_name = &senders[i];
          messages[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
          messages[i].msg_hdr.msg_iov = &parts[i];
          messages[i].msg_hdr.msg_iovlen = 1;
        }
        int received = recvmmsg(entry.fd, messages.data(), static_cast<unsigned int>(batch), 0, nullptr);
        if (received <= 0) {
          break;
        }
        for (size_t i = 0; i < static_cast<size_t>(received); ++i) {
          handle_answer(senders[i], buffer.get() + i * k_answer_bytes, messages[i].msg_len);
        }
        if (static_cast<size_t>(received) < batch) {
          break;  // the socket is drained
        }
      }
    }
    now = Clock::now();
    for (auto it = pipe.in_flight.begin(); it != pipe.in_flight.end();) {
      if (it->second.deadline > now) {
        ++it;
        continue;
      }
      Pipeline::Slot slot = std::move(it->second);
      it = pipe.in_flight.erase(it);
      if (slot.tries < tries) {
        waiting.push_front(std::move(slot));
      } else {
        fail(slot, timeout_answer(m_description));
      }
    }
  }
  return answers;
}

std::vector<HostAddresses> resolve_addresses(DnsLookup& dns, const std::vector<std::string>& hosts) {
  std::vector<DnsQuery> queries;
  for (const auto& host : hosts) {
    queries.push_back({host, "A"});
    queries.push_back({host, "AAAA"});
  }
  std::vector<DnsAnswer> answers = dns.lookup_many(queries);
  std::vector<HostAddresses> out;
  for (size_t i = 0; i < hosts.size(); ++i) {
    HostAddresses host;
    host.addresses = answers[2 * i].records;
    host.a_status = answers[2 * i].status;
    const auto& v6 = answers[2 * i + 1].records;
    host.addresses.insert(host.addresses.end(), v6.begin(), v6.end());
    out.push_back(std::move(host));
  }
  return out;
}

}  // namespace stsctl
