// A libpq session: RAII over PGconn, parameterized queries, results as plain strings.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pg/lsn.h"
#include "pgmigrate/status.h"

struct pg_conn;

namespace pgm::pg {

// Oldest and newest major versions pgmigrate drives (server_version_num / 10000).
inline constexpr int kMinServerVersion = 120000;
inline constexpr int kMaxServerMajor = 18;

using Params = std::vector<std::optional<std::string>>;  // nullopt is SQL NULL

class QueryResult {
 public:
  QueryResult() = default;
  QueryResult(std::vector<std::string> columns, std::vector<std::vector<std::optional<std::string>>> rows)
      : columns_(std::move(columns)), rows_(std::move(rows)) {}

  std::size_t rows() const { return rows_.size(); }
  std::size_t columns() const { return columns_.size(); }
  const std::vector<std::string>& column_names() const { return columns_; }
  // The value at (row, col); nullopt for NULL or out of range.
  const std::optional<std::string>& get(std::size_t row, std::size_t col) const;
  // The value at (row, column named `name`); nullopt for NULL or unknown column.
  const std::optional<std::string>& get(std::size_t row, const std::string& name) const;
  bool is_null(std::size_t row, std::size_t col) const { return !get(row, col).has_value(); }

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<std::optional<std::string>>> rows_;
};

class Connection {
 public:
  // Connects with the user's conninfo (a key=value string or a URI) exactly as libpq reads it,
  // plus fallback_application_name=pgmigrate and a 10 s connect_timeout unless the conninfo
  // says otherwise. `role` ("primary", "standby") only words the error message, which never
  // contains the password. Refuses servers older than PG 12.
  static Result<Connection> connect(const std::string& conninfo, const std::string& role);

  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Runs one statement with $1.. parameters (text format). A server error becomes
  // Errc::postgres with the server's message and SQLSTATE.
  Result<QueryResult> exec(const std::string& sql, const Params& params = {});
  // First column of the first row; Errc::postgres if the query returned no row or NULL.
  Result<std::string> scalar(const std::string& sql, const Params& params = {});
  // Like scalar but for a pg_lsn column.
  Result<Lsn> scalar_lsn(const std::string& sql, const Params& params = {});

  int server_version_num() const { return server_version_; }
  int server_major() const { return server_version_ / 10000; }
  // "primary 127.0.0.1:5432" for messages.
  const std::string& label() const { return label_; }
  // Where libpq actually connected (first host that answered) and its port.
  std::string host() const;
  std::string port() const;
  // The last SQLSTATE seen by exec(), "" if none.
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  bool alive() const;
  // Quotes an identifier for SQL ("my db" -> "\"my db\"").
  std::string quote_ident(const std::string& name) const;

 private:
  Connection() = default;
  pg_conn* conn_ = nullptr;
  int server_version_ = 0;
  std::string label_;
  std::string last_sqlstate_;
};

// true if a server answers at this conninfo (PQping: accepting or rejecting connections),
// false if nothing answers at all.
bool server_answers(const std::string& conninfo);
// true only if the server accepts connections now.
bool server_accepts(const std::string& conninfo);
// Opens a physical replication connection (replication=true) as a standby would and runs
// IDENTIFY_SYSTEM. Errc::postgres with the server's reason (pg_hba, max_wal_senders, ...).
Status check_replication_connection(const std::string& conninfo);

}  // namespace pgm::pg
