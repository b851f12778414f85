#include "state/backends_fixture.h"

#include "state/state.h"
#include "support/postgres_server.h"

namespace stsctl::test {

const char* backend_name(Backend backend) { return backend == Backend::Sqlite ? "SQLite" : "PostgreSQL"; }

std::string fresh_state(Backend backend, const TempDir& dir) {
  return backend == Backend::Sqlite ? dir.file("stsctl.db") : PostgresServer::shared().create_database();
}

RawDb::RawDb(const std::string& location) : m_db(open_sql_db(location, true)) {}

bool RawDb::exec(const std::string& sql) {
  try {
    m_db->exec(sql, "run");
    return true;
  } catch (const StateError&) {
    if (m_db->dialect() == SqlDialect::Postgres) {
      m_db->rollback();  // an error aborts the open transaction
    }
    return false;
  }
}

std::string RawDb::scalar(const std::string& sql) {
  try {
    auto q = m_db->query_once(sql);
    return q->step() ? q->text(0) : std::string();
  } catch (const StateError&) {
    return std::string();
  }
}

}  // namespace stsctl::test
