#include "plan/plan.h"

#include "records/desired.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <stdexcept>

namespace stsctl {

namespace {

std::string describe_key(const RRsetKey& key) { return key.owner + " " + to_string(key.type); }

// Foreign values: TXT strings at an owned name that another tool put there
// (other TXT strings at _mta-sts are not "v=STSv1" records, RFC 8461 section 3.1);
// they must survive stsctl's REPLACE of the RRset.
std::vector<std::string> foreign_txt_values(const RRset& live) {
  std::vector<std::string> foreign;
  if (live.type != RRType::TXT) {
    return foreign;
  }
  for (const auto& value : live.values) {
    if (!is_owned_txt(live.owner, value)) {
      foreign.push_back(value);
    }
  }
  return foreign;
}

// Presentation form of a TXT logical string: quoted, with '"' and '\'
// escaped and non-printable octets as \DDD (RFC 1035 section 5.1).
std::string quote_txt(const std::string& value) {
  std::string out = "\"";
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03u", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

std::string show_value(RRType type, const std::string& value) {
  return type == RRType::TXT ? quote_txt(value) : value;
}

bool contains(const std::vector<std::string>& values, const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

}  // namespace

const char* to_string(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::Create:
      return "create";
    case ChangeKind::Update:
      return "update";
    case ChangeKind::Delete:
      return "delete";
  }
  return "unknown";
}

ZonePlan make_zone_plan(const std::string& zone, const std::string& provider,
                        const std::vector<RRset>& desired, const ZoneSnapshot& live,
                        const std::vector<RRsetKey>& owned_keys) {
  const std::set<RRsetKey> owned(owned_keys.begin(), owned_keys.end());

  std::map<RRsetKey, RRset> want;
  for (const auto& rrset : desired) {
    RRsetKey key{rrset.owner, rrset.type};
    if (owned.count(key) == 0) {
      throw std::logic_error("desired RRset " + describe_key(key) + " in zone " + zone +
                             " is not owned by stsctl");
    }
    RRset copy = rrset;
    copy.normalize();
    if (!want.emplace(key, std::move(copy)).second) {
      throw std::logic_error("desired RRset " + describe_key(key) + " in zone " + zone + " appears twice");
    }
  }

  // Providers read only owned RRsets; anything else they return is ignored
  // here rather than touched.
  std::map<RRsetKey, RRset> have;
  for (const auto& rrset : live.owned) {
    RRsetKey key{rrset.owner, rrset.type};
    if (owned.count(key) == 0) {
      continue;
    }
    RRset copy = rrset;
    copy.normalize();
    have[key] = std::move(copy);
  }

  ZonePlan plan;
  plan.zone = zone;
  plan.provider = provider;
  std::vector<Change> deletes;
  std::vector<Change> writes;

  // std::set<RRsetKey> iterates in canonical order (RRsetKey::operator<).
  for (const auto& key : owned) {
    const auto w = want.find(key);
    const auto h = have.find(key);
    const bool has_live = h != have.end() && !h->second.values.empty();
    const bool has_want = w != want.end() && !w->second.values.empty();

    std::vector<std::string> foreign;
    if (has_live) {
      foreign = foreign_txt_values(h->second);
    }

    if (!has_want) {
      if (!has_live) {
        continue;
      }
      if (foreign.empty()) {
        deletes.push_back(Change{ChangeKind::Delete, key, h->second, std::nullopt});
        continue;
      }
      // Only our values go; the foreign ones stay at their current TTL.
      RRset keep{key.owner, key.type, h->second.ttl, foreign};
      keep.normalize();
      if (keep != h->second) {
        writes.push_back(Change{ChangeKind::Update, key, h->second, keep});
      }
      continue;
    }

    RRset after = w->second;
    after.values.insert(after.values.end(), foreign.begin(), foreign.end());
    after.normalize();
    if (!has_live) {
      writes.push_back(Change{ChangeKind::Create, key, std::nullopt, after});
    } else if (after != h->second) {
      writes.push_back(Change{ChangeKind::Update, key, h->second, after});
    }
  }

  plan.changes = std::move(deletes);
  plan.changes.insert(plan.changes.end(), std::make_move_iterator(writes.begin()),
                      std::make_move_iterator(writes.end()));
  return plan;
}

void assert_only_owned(const ZonePlan& plan, const std::vector<RRsetKey>& owned_keys) {
  const std::set<RRsetKey> owned(owned_keys.begin(), owned_keys.end());
  for (const auto& change : plan.changes) {
    if (owned.count(change.key) == 0) {
      throw std::logic_error("plan for zone " + plan.zone + " would " + to_string(change.kind) + " " +
                             describe_key(change.key) + ", which stsctl does not own");
    }
    for (const auto* rrset : {&change.before, &change.after}) {
      if (*rrset && !(RRsetKey{(*rrset)->owner, (*rrset)->type} == change.key)) {
        throw std::logic_error("plan for zone " + plan.zone + " has a change for " +
                               describe_key(change.key) + " carrying RRset " + (*rrset)->owner + " " +
                               to_string((*rrset)->type));
      }
    }
  }
}

std::string describe_change(const Change& change) {
  const std::string type = to_string(change.key.type);
  std::string out;
  switch (change.kind) {
    case ChangeKind::Create:
    case ChangeKind::Delete: {
      const char* sign = change.kind == ChangeKind::Create ? "+" : "-";
      const auto& rrset = change.kind == ChangeKind::Create ? change.after : change.before;
      if (!rrset || rrset->values.empty()) {
        out += std::string("  ") + sign + " " + change.key.owner + " " + type + "\n";
        break;
      }
      for (const auto& value : rrset->values) {
        out += std::string("  ") + sign + " " + change.key.owner + " " + std::to_string(rrset->ttl) + " " +
               type + " " + show_value(change.key.type, value) + "\n";
      }
      break;
    }
    case ChangeKind::Update: {
      out += "  ~ " + change.key.owner + " " + type + "\n";
      const RRset before = change.before.value_or(RRset{change.key.owner, change.key.type, 0, {}});
      const RRset after = change.after.value_or(RRset{change.key.owner, change.key.type, 0, {}});
      const bool ttl_changed = before.ttl != after.ttl;
      // Unchanged values are shown without a sign, so kept foreign TXT
      // strings are visible; a TTL change rewrites every value.
      for (const auto& value : before.values) {
        if (ttl_changed || !contains(after.values, value)) {
          out += "      - " + std::to_string(before.ttl) + " " + show_value(change.key.type, value) + "\n";
        }
      }
      for (const auto& value : after.values) {
        if (ttl_changed || !contains(before.values, value)) {
          out += "      + " + std::to_string(after.ttl) + " " + show_value(change.key.type, value) + "\n";
        } else {
          out += "        " + std::to_string(after.ttl) + " " + show_value(change.key.type, value) + "\n";
        }
      }
      break;
    }
  }
  return out;
}

}  // namespace stsctl
