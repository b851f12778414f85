// The state URL: libpq's URL plus password_file=, never a password.

#include "state/postgres_db.h"
#include "state/sql_db.h"

#include <catch2/catch.hpp>

using namespace stsctl;

TEST_CASE("a state URL is split into libpq's part and the password file", "[state][postgres]") {
  std::string error;
  auto url = parse_postgres_url(
      "postgresql://stsctl@db.example:5432/stsctl?sslmode=verify-full&password_file=/etc/stsctl/pg&"
      "application_name=stsctl",
      &error);
  REQUIRE(url);
  CHECK(url->conninfo ==
        "postgresql://stsctl@db.example:5432/stsctl?sslmode=verify-full&application_name=stsctl");
  CHECK(url->password_file == "/etc/stsctl/pg");
  url = parse_postgres_url("postgres://db/stsctl", &error);
  REQUIRE(url);
  CHECK(url->conninfo == "postgres://db/stsctl");
  CHECK(url->password_file.empty());
  CHECK(is_postgres_url("postgresql://x"));
  CHECK_FALSE(is_postgres_url("/var/lib/stsctl/stsctl.db"));
  CHECK_FALSE(is_postgres_url("postgresql.db"));
}

TEST_CASE("a state URL with a password, or a relative password file, is refused", "[state][postgres]") {
  const std::string k_where =
      "; give it in password_file=/absolute/path, in a ~/.pgpass or PGPASSFILE file, or in PGPASSWORD";
  std::string error;
  CHECK_FALSE(parse_postgres_url("postgresql://stsctl:secret@db/stsctl", &error));
  CHECK(error == "a password in the URL is not allowed" + k_where);
  CHECK_FALSE(parse_postgres_url("postgresql://db/stsctl?user=x&password=secret", &error));
  CHECK(error == "a password in the URL is not allowed" + k_where);
  CHECK_FALSE(parse_postgres_url("postgresql://db/stsctl?password_file=", &error));
  CHECK(error == "password_file must be an absolute path, got ''");
  CHECK_FALSE(parse_postgres_url("mysql://db/stsctl", &error));
  CHECK(error == "expected a postgresql://user@host:port/database URL");
  // A user name with '@' in the path part is not a password.
  CHECK(parse_postgres_url("postgresql://stsctl@db:5432/stsctl", &error));
}
