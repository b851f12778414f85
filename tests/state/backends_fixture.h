#pragma once
// Every state test runs against both backends: a SQLite file in a TempDir,
// and a fresh database on this executable's PostgreSQL (support/postgres_server.h).

#include "state/sql_db.h"
#include "support/support.h"

#include <memory>
#include <string>

namespace stsctl::test {

enum class Backend { Sqlite, Postgres };

const char* backend_name(Backend backend);

/// A new, empty state location: "<dir>/stsctl.db" or a new PostgreSQL database URL.
std::string fresh_state(Backend backend, const TempDir& dir);

/// A raw connection for looking under the store (schema, triggers, torn
/// transactions), through the same SqlDb the store uses.
class RawDb {
 public:
  explicit RawDb(const std::string& location);
  /// False when the statement failed.
  bool exec(const std::string& sql);
  /// The first column of the first row ("" when none or on error).
  std::string scalar(const std::string& sql);
  SqlDb& db() { return *m_db; }

 private:
  std::unique_ptr<SqlDb> m_db;
};

}  // namespace stsctl::test
