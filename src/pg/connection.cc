#include "pg/connection.h"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <utility>

#include "pg/conninfo.h"

namespace pgm::pg {
namespace {

const std::optional<std::string> kNull;

std::string one_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (auto& c : s)
    if (c == '\n' || c == '\t') c = ' ';
  return s;
}

void notice_to_log(void* arg, const char* message) {
  (void)arg;
  spdlog::debug("server notice: {}", one_line(message));
}

// PQconnectdbParams with the user's conninfo expanded last, so that everything it says wins.
pg_conn* connect_with_defaults(const std::string& conninfo) {
  const char* keywords[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
  const char* values[] = {"10", "pgmigrate", conninfo.c_str(), nullptr};
  return PQconnectdbParams(keywords, values, 1);
}

}  // namespace

const std::optional<std::string>& QueryResult::get(std::size_t row, std::size_t col) const {
  if (row >= rows_.size() || col >= rows_[row].size()) return kNull;
  return rows_[row][col];
}

const std::optional<std::string>& QueryResult::get(std::size_t row, const std::string& name) const {
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    if (columns_[c] == name) return get(row, c);
  }
  return kNull;
}

Result<Connection> Connection::connect(const std::string& conninfo, const std::string& role) {
  // Before any socket: libpq's reason, not "<unparseable conninfo>" and then a connection error.
  if (Status valid = validate_conninfo(conninfo); !valid.ok())
    return Status(valid.code(), "the " + role + "'s " + valid.message() + "; check --" + role);
  Connection c;
  c.conn_ = connect_with_defaults(conninfo);
  const std::string who = role + " (" + describe_conninfo(conninfo) + ")";
  if (c.conn_ == nullptr) return Status(Errc::postgres, "cannot connect to the " + who + ": out of memory");
  if (PQstatus(c.conn_) != CONNECTION_OK) {
    return Status(Errc::postgres, "cannot connect to the " + who + ": " + one_line(PQerrorMessage(c.conn_)) + "; check --" + role +
                                      " (host, port, user, dbname) and that the server runs");
  }
  PQsetNoticeProcessor(c.conn_, notice_to_log, nullptr);
  c.server_version_ = PQserverVersion(c.conn_);
  c.label_ = role + " " + c.host() + ":" + c.port();
  if (c.server_version_ < kMinServerVersion) {
    return Status(Errc::unsupported, "the " + c.label_ + " runs Postgres " + std::to_string(c.server_version_ / 10000) +
                                         "; pgmigrate supports Postgres 12 to " + std::to_string(kMaxServerMajor) +
                                         ": upgrade it first or migrate it by other means");
  }
  if (c.server_major() > kMaxServerMajor) {
    spdlog::warn("the {} runs Postgres {}, newer than the newest pgmigrate was tested with ({})", c.label_, c.server_major(),
                 kMaxServerMajor);
  }
  return c;
}

Connection::Connection(Connection&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)),
      server_version_(other.server_version_),
      label_(std::move(other.label_)),
      last_sqlstate_(std::move(other.last_sqlstate_)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = std::exchange(other.conn_, nullptr);
    server_version_ = other.server_version_;
    label_ = std::move(other.label_);
    last_sqlstate_ = std::move(other.last_sqlstate_);
  }
  return *this;
}

Connection::~Connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

std::string Connection::host() const {
  const char* h = conn_ != nullptr ? PQhost(conn_) : nullptr;
  return h != nullptr ? h : "";
}

std::string Connection::port() const {
  const char* p = conn_ != nullptr ? PQport(conn_) : nullptr;
  return p != nullptr ? p : "";
}

bool Connection::alive() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }

std::string Connection::quote_ident(const std::string& name) const {
  if (conn_ == nullptr) return "\"" + name + "\"";
  char* q = PQescapeIdentifier(conn_, name.c_str(), name.size());
  if (q == nullptr) return "\"" + name + "\"";
  std::string s(q);
  PQfreemem(q);
  return s;
}

Result<QueryResult> Connection::exec(const std::string& sql, const Params& params) {
  last_sqlstate_.clear();
  if (conn_ == nullptr) return Status(Errc::internal, "query on a closed connection");
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* res = PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(), nullptr, nullptr, 0);
  std::unique_ptr<PGresult, decltype(&PQclear)> guard(res, &PQclear);
  ExecStatusType st = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    if (state != nullptr) last_sqlstate_ = state;
    std::string msg = res != nullptr ? one_line(PQresultErrorMessage(res)) : "";
    if (msg.empty()) msg = one_line(PQerrorMessage(conn_));
    if (PQstatus(conn_) != CONNECTION_OK) msg += " (connection lost)";
    return Status(Errc::postgres, label_ + ": " + msg);
  }
  std::vector<std::string> cols;
  const int ncols = PQnfields(res);
  cols.reserve(static_cast<std::size_t>(ncols));
  for (int c = 0; c < ncols; ++c) cols.emplace_back(PQfname(res, c));
  std::vector<std::vector<std::optional<std::string>>> rows;
  const int nrows = PQntuples(res);
  rows.reserve(static_cast<std::size_t>(nrows));
  for (int r = 0; r < nrows; ++r) {
    auto& row = rows.emplace_back();
    for (int c = 0; c < ncols; ++c) {
      if (PQgetisnull(res, r, c) != 0) row.emplace_back(std::nullopt);
      else row.emplace_back(std::string(PQgetvalue(res, r, c), static_cast<std::size_t>(PQgetlength(res, r, c))));
    }
  }
  return QueryResult(std::move(cols), std::move(rows));
}

Result<std::string> Connection::scalar(const std::string& sql, const Params& params) {
  auto r = exec(sql, params);
  if (!r) return r.status();
  if (r->rows() == 0 || r->is_null(0, 0)) return Status(Errc::postgres, label_ + ": no value from '" + sql + "'");
  return *r->get(0, 0);
}

Result<Lsn> Connection::scalar_lsn(const std::string& sql, const Params& params) {
  auto s = scalar(sql, params);
  if (!s) return s.status();
  auto lsn = Lsn::parse(*s);
  if (!lsn) return Status(Errc::postgres, label_ + ": '" + *s + "' is not a WAL position");
  return *lsn;
}

bool server_answers(const std::string& conninfo) {
  const char* keywords[] = {"connect_timeout", "dbname", nullptr};
  const char* values[] = {"5", conninfo.c_str(), nullptr};
  PGPing p = PQpingParams(keywords, values, 1);
  return p == PQPING_OK || p == PQPING_REJECT;
}

bool server_accepts(const std::string& conninfo) {
  const char* keywords[] = {"connect_timeout", "dbname", nullptr};
  const char* values[] = {"5", conninfo.c_str(), nullptr};
  return PQpingParams(keywords, values, 1) == PQPING_OK;
}

Status check_replication_connection(const std::string& conninfo) {
  const std::string full = conninfo_with(conninfo_with(conninfo, "replication", "true"), "connect_timeout", "10");
  PGconn* c = PQconnectdb(full.c_str());
  Status s;
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    for (auto& ch : msg)
      if (ch == '\n') ch = ' ';
    s = Status(Errc::postgres, "a replication connection to " + describe_conninfo(conninfo) + " failed: " + msg);
  } else {
    PGresult* r = PQexec(c, "IDENTIFY_SYSTEM");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
      s = Status(Errc::postgres, "IDENTIFY_SYSTEM on " + describe_conninfo(conninfo) + " failed: " + PQresultErrorMessage(r));
    PQclear(r);
  }
  PQfinish(c);
  return s;
}

}  // namespace pgm::pg
