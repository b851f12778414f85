#include "state/state_copy.h"

#include "policy/policy.h"
#include "state/report_store.h"
#include "state/sql_db.h"
#include "state/state.h"
#include "state/state_schema.h"

#include <algorithm>
#include <vector>

namespace stsctl {

namespace {

struct Table {
  const char* name;
  std::vector<const char*> columns;
  const char* identity;  // PostgreSQL identity column whose sequence follows the copy, or nullptr
};

// Parents before children (the report tables reference each other).
const std::vector<Table>& tables() {
  static const std::vector<Table> k_tables = {
      {"domains",
       {"domain", "policy_hash", "policy_id", "mode", "max_age", "stage", "stage_since", "updated_at",
        "retiring_until", "gate_status", "last_check", "zone", "provider", "retired_out_at"},
       nullptr},
      {"history", {"seq", "domain", "published_at", "id", "hash", "mode", "max_age", "policy_text"}, "seq"},
      {"pending", {"domain", "id", "hash", "mode", "max_age", "policy_text", "decided_at"}, nullptr},
      {"meta", {"latest_time"}, nullptr},
      {"tlsrpt_reports",
       {"id", "organization", "report_id", "start_time", "end_time", "contact", "source", "ingested_at"},
       "id"},
      {"tlsrpt_policies",
       {"id", "report", "domain", "policy_type", "policy_string", "policy_norm", "mx_hosts", "successful",
        "failed", "start_time", "end_time"},
       "id"},
      {"tlsrpt_failure_totals", {"policy", "result_type", "sessions"}, nullptr},
      {"tlsrpt_failures",
       {"policy", "result_type", "sending_mta_ip", "receiving_mx_hostname", "receiving_ip",
        "failure_reason_code", "additional_information", "failed_sessions"},
       nullptr},
  };
  return k_tables;
}

std::string column_list(const Table& table) {
  std::string out;
  for (const char* column : table.columns) {
    out += (out.empty() ? "" : ", ") + std::string(column);
  }
  return out;
}

using Row = std::vector<std::optional<std::string>>;

std::vector<Row> read_rows(SqlDb& db, const Table& table) {
  std::vector<Row> rows;
  if (!db.has_table(table.name)) {
    return rows;
  }
  auto q = db.query_once("SELECT " + column_list(table) + " FROM " + table.name);
  while (q->step()) {
    Row row;
    for (size_t i = 0; i < table.columns.size(); ++i) {
      const int col = static_cast<int>(i);
      row.push_back(q->is_null(col) ? std::nullopt : std::optional<std::string>(q->text(col)));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// Inside the caller's transaction: every table's rows, hashed.
StateDigest digest_of(SqlDb& db) {
  StateDigest digest;
  std::string all;
  for (const Table& table : tables()) {
    std::vector<std::string> lines;
    for (const Row& row : read_rows(db, table)) {
      std::string line;
      for (const auto& value : row) {
        // \x1f between fields; NULL as \x00, distinct from every text.
        line += value ? *value + "\x1f" : std::string("\x00\x1f", 2);
      }
      lines.push_back(std::move(line));
    }
    std::sort(lines.begin(), lines.end());  // the backends return rows in their own order
    digest.rows[table.name] = static_cast<int64_t>(lines.size());
    all += std::string(table.name) + "\n";
    for (const auto& line : lines) {
      all += line + "\n";
    }
  }
  digest.hash = sha256_hex(all);
  return digest;
}

bool holds_state(const StateDigest& digest) {
  for (const auto& [table, rows] : digest.rows) {
    if (table != "meta" && rows > 0) {
      return true;
    }
  }
  return false;
}

void drop_tables(SqlDb& db) {
  for (auto it = tables().rbegin(); it != tables().rend(); ++it) {
    db.exec(std::string("DROP TABLE IF EXISTS ") + it->name, "drop a table of");
  }
}

}  // namespace

StateDigest digest_state(const std::string& location) {
  auto db = open_sql_db(location, false);
  ReadTxn txn(*db);
  return digest_of(*db);
}

StateDigest copy_state(const std::string& from, const std::string& to, bool replace) {
  if (from == to) {
    throw StateError("failed to migrate state to '" + to + "' (it is the state being copied)");
  }
  { StateStore migrated(from); }  // an older schema is brought up to date first
  auto source = open_sql_db(from, true);
  auto target = open_sql_db(to, true);
  StateDigest expected;
  {
    ReadTxn txn(*source);
    expected = digest_of(*source);
  }
  {
    ReadTxn txn(*target);
    if (holds_state(digest_of(*target)) && !replace) {
      throw StateError("failed to migrate state to '" + to +
                       "' (it already holds state; pass --force to replace it, or choose an empty database)");
    }
  }
  // One transaction: the old tables dropped (--force), the schema as stsctl
  // creates it, the rows, and the check; a failure anywhere leaves the target
  // as it was.
  WriteTxn fill(*target);
  drop_tables(*target);
  migrate_state_schema(*target);
  create_report_tables(*target);
  ReadTxn read(*source);
  for (const Table& table : tables()) {
    const std::vector<Row> rows = read_rows(*source, table);
    if (std::string(table.name) == "meta") {
      auto q = target->query_once("UPDATE meta SET latest_time = ?1");
      q->bind(1, rows.empty() || !rows[0][0] ? std::string("0") : *rows[0][0]);
      q->step();
      continue;
    }
    std::string placeholders;
    for (size_t i = 1; i <= table.columns.size(); ++i) {
      placeholders += (i > 1 ? ", ?" : "?") + std::to_string(i);
    }
    const std::string sql = "INSERT INTO " + std::string(table.name) + " (" + column_list(table) +
                            ") VALUES (" + placeholders + ")";
    for (const Row& row : rows) {
      auto q = target->query_once(sql);
      for (size_t i = 0; i < row.size(); ++i) {
        if (row[i]) {
          q->bind(static_cast<int>(i + 1), *row[i]);
        } else {
          q->bind_null(static_cast<int>(i + 1));
        }
      }
      q->step();
    }
    if (table.identity != nullptr && target->dialect() == SqlDialect::Postgres) {
      // New rows continue after the copied ids.
      target->exec("SELECT setval(pg_get_serial_sequence('" + std::string(table.name) + "', '" +
                       table.identity + "'), COALESCE(MAX(" + table.identity + "), 0) + 1, false) FROM " +
                       table.name,
                   "migrate the state to");
    }
  }
  const StateDigest copied = digest_of(*target);
  if (copied.rows != expected.rows || copied.hash != expected.hash) {
    throw StateError("failed to migrate state to '" + to + "' (the copy differs from the source: hash " +
                     copied.hash + " instead of " + expected.hash + "); nothing was written");
  }
  fill.commit();
  return copied;
}

}  // namespace stsctl
