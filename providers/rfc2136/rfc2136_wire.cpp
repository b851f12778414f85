#include "rfc2136/rfc2136_wire.h"

#include "dns/name.h"
#include "util/secret.h"
#include "util/text.h"

#include <arpa/inet.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

namespace stsctl::rfc2136 {

namespace {

constexpr size_t k_max_character_string = 255;
constexpr uint16_t k_tsig_fudge = 300;  // RFC 8945 section 5.2.3: the usual 300 s

std::string dname_text(const ldns_rdf* rdf) {
  handle::CString text(ldns_rdf2str(rdf));
  return text ? ascii_lower(text.get()) : std::string();
}

std::string raw_bytes(const ldns_rdf* rdf, size_t skip) {
  const auto* data = ldns_rdf_data(rdf);
  size_t size = ldns_rdf_size(rdf);
  return size > skip ? std::string(reinterpret_cast<const char*>(data) + skip, size - skip) : std::string();
}

bool all_digits(const std::string& text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

/// Parses `flags tag "value"` (records/rrset.h canonical CAA) into its parts.
bool parse_caa(const std::string& text, uint8_t& flags, std::string& tag, std::string& value) {
  size_t space1 = text.find(' ');
  size_t space2 = space1 == std::string::npos ? space1 : text.find(' ', space1 + 1);
  if (space2 == std::string::npos) {
    return false;
  }
  std::string flag_text = text.substr(0, space1);
  if (flag_text.size() > 3 || !all_digits(flag_text) || std::stoi(flag_text) > 255) {
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

handle::LdnsRdf make_dname(const std::string& name) {
  return handle::LdnsRdf(ldns_dname_new_frm_str(absolute(name).c_str()));
}

handle::LdnsRr make_rr(const std::string& owner, RRType type, ldns_rr_class cls, uint32_t ttl) {
  handle::LdnsRr rr(ldns_rr_new());
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

bool same_name(const ldns_rdf* a, const ldns_rdf* b) { return ldns_dname_compare(a, b) == 0; }

}  // namespace

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
      return caa_value(ldns_rdf2native_int8(ldns_rr_rdf(rr, 0)),
                       ascii_lower(raw_bytes(ldns_rr_rdf(rr, 1), 1)), raw_bytes(ldns_rr_rdf(rr, 2), 0));
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
        if (!push_rdf(rr, length_prefixed(LDNS_RDF_TYPE_STR, value.substr(pos, k_max_character_string)))) {
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
      std::string pref = value.substr(0, space);
      if (space > 5 || !all_digits(pref) || std::stoi(pref) > 65535) {  // npos > 5: no space
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

handle::LdnsPkt build_query(const std::string& owner, ldns_rr_type type) {
  return handle::LdnsPkt(ldns_pkt_query_new(make_dname(owner).release(), type, LDNS_RR_CLASS_IN, 0));
}

handle::LdnsPkt build_update(const std::string& zone, const std::vector<Change>& changes,
                             std::string* error) {
  handle::LdnsRrList prereqs(ldns_rr_list_new());
  handle::LdnsRrList deletes(ldns_rr_list_new());
  handle::LdnsRrList adds(ldns_rr_list_new());
  auto push = [&](ldns_rr_list* list, const RRsetKey& key, ldns_rr_class cls, uint32_t ttl,
                  const std::string* value) {
    handle::LdnsRr rr = make_rr(key.owner, key.type, cls, ttl);
    if (value && !push_value(rr.get(), key.type, *value)) {
      *error =
          std::string("cannot encode ") + to_string(key.type) + " value '" + *value + "' at " + key.owner;
      return false;
    }
    ldns_rr_list_push_rr(list, rr.release());
    return true;
  };
  for (const auto& change : changes) {
    const RRsetKey& key = change.key;
    if (!is_in_zone(normalize_name(key.owner), zone)) {
      *error = key.owner + " lies outside zone " + zone;
      return nullptr;
    }
    // RFC 2136 section 2.4: lock what plan read. Existing RRset: "RRset exists
    // (value dependent)", class IN, TTL 0, every old value. None: "RRset does
    // not exist", class NONE, no RDATA.
    if (change.before && !change.before->values.empty()) {
      for (const auto& value : change.before->values) {
        if (!push(prereqs.get(), key, LDNS_RR_CLASS_IN, 0, &value)) {
          return nullptr;
        }
      }
    } else {
      push(prereqs.get(), key, LDNS_RR_CLASS_NONE, 0, nullptr);
    }
    // RFC 2136 section 2.5.2: delete the RRset (class ANY); adds append, so
    // every write deletes first.
    push(deletes.get(), key, LDNS_RR_CLASS_ANY, 0, nullptr);
    if (change.kind != ChangeKind::Delete && change.after) {
      for (const auto& value : change.after->values) {
        if (!push(adds.get(), key, LDNS_RR_CLASS_IN, change.after->ttl, &value)) {
          return nullptr;
        }
      }
    }
  }
  // All deletes precede all adds, so an A -> CNAME swap never has both at once.
  for (size_t i = 0; i < ldns_rr_list_rr_count(adds.get()); ++i) {
    ldns_rr_list_push_rr(deletes.get(), ldns_rr_clone(ldns_rr_list_rr(adds.get(), i)));
  }
  handle::LdnsPkt update(ldns_update_pkt_new(make_dname(zone).release(), LDNS_RR_CLASS_IN, prereqs.get(),
                                             deletes.get(), nullptr));
  if (!update) {
    *error = "cannot build the UPDATE message";
    return nullptr;
  }
  ldns_pkt_set_rd(update.get(), false);
  return update;
}

std::optional<WireMessage> to_wire(ldns_pkt* packet, uint16_t id, const TsigKey* key, ldns_status* status) {
  ldns_pkt_set_id(packet, id);
  WireMessage message;
  if (key) {
    *status = ldns_pkt_tsig_sign(packet, key->name.c_str(), key->secret, k_tsig_fudge, key->algorithm.c_str(),
                                 nullptr);
    if (*status != LDNS_STATUS_OK) {
      return std::nullopt;
    }
    // RFC 8945 section 4.2: rdata field 3 is the MAC.
    message.request_mac.reset(ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(packet), 3)));
  }
  uint8_t* data = nullptr;
  size_t size = 0;
  *status = ldns_pkt2wire(&data, packet, &size);
  if (*status != LDNS_STATUS_OK) {
    return std::nullopt;
  }
  message.wire.assign(data, data + size);
  std::free(data);
  return message;
}

std::optional<Answer> parse_answer(const std::vector<uint8_t>& wire, const TsigKey* key,
                                   const ldns_rdf* request_mac) {
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, wire.data(), wire.size()) != LDNS_STATUS_OK || !raw) {
    return std::nullopt;
  }
  Answer answer;
  answer.packet.reset(raw);
  if (const ldns_rr* tsig = ldns_pkt_tsig(raw)) {
    if (ldns_rr_rd_count(tsig) > 5) {
      answer.tsig_error = ldns_rdf2native_int16(ldns_rr_rdf(tsig, 5));
    }
  }
  if (key) {
    answer.verified =
        ldns_pkt_tsig(raw) != nullptr &&
        ldns_pkt_tsig_verify(raw, wire.data(), wire.size(), key->name.c_str(), key->secret, request_mac);
  }
  return answer;
}

std::optional<RRset> answer_rrset(const ldns_pkt* answer, const std::string& owner, RRType type,
                                  bool* malformed) {
  handle::LdnsRdf qname = make_dname(owner);
  RRset rrset;
  rrset.owner = absolute(normalize_name(owner));
  rrset.type = type;
  bool first = true;
  const ldns_rr_list* list = ldns_pkt_answer(answer);
  for (size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(list, i);
    if (ldns_rr_get_type(rr) != to_ldns(type) || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
        !same_name(ldns_rr_owner(rr), qname.get())) {
      continue;
    }
    auto value = canonical_value(rr, type);
    if (!value) {
      *malformed = true;
      return std::nullopt;
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

bool has_apex_soa(const ldns_pkt* answer, const std::string& zone) {
  handle::LdnsRdf apex = make_dname(zone);
  const ldns_rr_list* list = ldns_pkt_answer(answer);
  for (size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(list, i);
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && same_name(ldns_rr_owner(rr), apex.get())) {
      return ldns_pkt_aa(answer);
    }
  }
  return false;
}

}  // namespace stsctl::rfc2136
