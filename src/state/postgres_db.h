#pragma once
// The PostgreSQL backend of SqlDb (libpq): team state shared by several
// machines. The URL is libpq's (postgresql://user@host:port/db?params) plus
// one parameter of stsctl's own, password_file=ABSOLUTE_PATH; a password in
// the URL itself is refused (it would sit in the config and in messages).

#include "config/values.h"  // parse_postgres_url
#include "state/sql_db.h"

#include <memory>
#include <string>

namespace stsctl {

/// Connects (connect_timeout 10 s unless the URL sets one). Throws
/// StateError "failed to connect to state database '<url>' (<libpq's reason>)".
std::unique_ptr<SqlDb> open_postgres(const std::string& url);

}  // namespace stsctl
