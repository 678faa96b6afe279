#include "pg/conninfo.h"

#include <gtest/gtest.h>

namespace pgm::pg {
namespace {

TEST(Conninfo, RedactsKeyValuePassword) {
  std::string r = redact_conninfo("host=db1 port=5433 user=app password=s3cr3t dbname=prod");
  EXPECT_EQ(r.find("s3cr3t"), std::string::npos);
  EXPECT_EQ(r.find("password"), std::string::npos);
  EXPECT_NE(r.find("host=db1"), std::string::npos);
  EXPECT_NE(r.find("port=5433"), std::string::npos);
  EXPECT_NE(r.find("user=app"), std::string::npos);
}

TEST(Conninfo, RedactsQuotedPasswordWithSpaces) {
  std::string r = redact_conninfo("host=db1 password='a b\\'c s3cr3t' user=app");
  EXPECT_EQ(r.find("s3cr3t"), std::string::npos);
  EXPECT_NE(r.find("user=app"), std::string::npos);
}

TEST(Conninfo, RedactsUriPasswords) {
  for (const char* uri : {"postgresql://app:s3cr3t@db1:5433/prod", "postgres://app@db1/prod?password=s3cr3t&sslmode=require",
                          "postgresql://app:s3cr3t@db1,db2:5433/prod"}) {
    std::string r = redact_conninfo(uri);
    EXPECT_EQ(r.find("s3cr3t"), std::string::npos) << uri << " -> " << r;
    EXPECT_NE(r.find("db1"), std::string::npos) << r;
  }
}

TEST(Conninfo, UnparseableIsNeverEchoed) {
  EXPECT_EQ(redact_conninfo("host=db1 password='unterminated s3cr3t"), "<unparseable conninfo>");
  EXPECT_EQ(describe_conninfo("password=s3cr3t nosuchkey=1"), "<unparseable conninfo>");
}

TEST(Conninfo, Describes) {
  EXPECT_EQ(describe_conninfo("host=db1 port=5433 user=app dbname=prod password=x"), "app@db1:5433/prod");
  EXPECT_EQ(describe_conninfo("postgresql://app:x@db1/prod"), "app@db1/prod");
  EXPECT_EQ(describe_conninfo("port=5432"), "localhost:5432");
  EXPECT_EQ(describe_conninfo("hostaddr=10.0.0.1"), "10.0.0.1");
}

TEST(Conninfo, QuotesValues) {
  EXPECT_EQ(quote_conninfo_value("db1"), "db1");
  EXPECT_EQ(quote_conninfo_value(""), "''");
  EXPECT_EQ(quote_conninfo_value("a b"), "'a b'");
  EXPECT_EQ(quote_conninfo_value("it's"), "'it\\'s'");
  EXPECT_EQ(quote_conninfo_value("back\\slash"), "'back\\\\slash'");
  EXPECT_EQ(quote_conninfo_value("a=b"), "'a=b'");
}

TEST(Conninfo, WithReplacesOneKeyAndKeepsPassword) {
  std::string c = conninfo_with("postgresql://app:pw@db1:5433/prod", "dbname", "template1");
  EXPECT_NE(c.find("dbname=template1"), std::string::npos) << c;
  EXPECT_EQ(c.find("prod"), std::string::npos) << c;
  EXPECT_NE(c.find("password=pw"), std::string::npos) << c;  // for libpq, not for display
  EXPECT_NE(c.find("port=5433"), std::string::npos) << c;
  std::string d = conninfo_with("host=x dbname='my db'", "dbname", "other db");
  EXPECT_NE(d.find("dbname='other db'"), std::string::npos) << d;
}

TEST(Conninfo, WithDefaultKeepsWhatTheUserSet) {
  EXPECT_EQ(conninfo_with_default("host=db1 application_name=mine", "application_name", "pgmigrate_x"), "host=db1 application_name=mine");
  EXPECT_EQ(conninfo_with_default("postgresql://rep@db1/?application_name=mine", "application_name", "pgmigrate_x"),
            "postgresql://rep@db1/?application_name=mine");
  const std::string c = conninfo_with_default("host=db1 user=rep", "application_name", "pgmigrate_x");
  EXPECT_NE(c.find("application_name=pgmigrate_x"), std::string::npos) << c;
  EXPECT_NE(c.find("user=rep"), std::string::npos) << c;
}

TEST(Conninfo, ValidatesWithLibpqsReason) {
  EXPECT_TRUE(validate_conninfo("host=db1 port=5433 user=app").ok());
  EXPECT_TRUE(validate_conninfo("postgresql://app:s3cr3t@db1/prod").ok());
  const Status garbage = validate_conninfo("garbage");
  EXPECT_EQ(garbage.code(), Errc::invalid_argument);
  EXPECT_NE(garbage.message().find("missing \"=\" after \"garbage\""), std::string::npos) << garbage.message();
  EXPECT_EQ(garbage.message().find('\n'), std::string::npos);
  const Status unknown = validate_conninfo("host=db1 nosuchkey=1");
  EXPECT_NE(unknown.message().find("nosuchkey"), std::string::npos) << unknown.message();
}

TEST(Conninfo, ValidationNeverEchoesAPassword) {
  for (const char* bad : {"host=db1 password=a s3cr3t", "host=db1 password='unterminated s3cr3t", "postgresql://app:s3cr3t@[::1/prod",
                          "postgresql://app:s3cr3t@db1/prod?x=%zz"}) {
    const Status s = validate_conninfo(bad);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.message().find("s3cr3t"), std::string::npos) << bad << " -> " << s.message();
  }
}

}  // namespace
}  // namespace pgm::pg
