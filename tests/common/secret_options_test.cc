// Secrets on a far pgmigrate's stdin instead of its argv (common/secret_options.h).
#include "common/secret_options.h"

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

namespace pgm {
namespace {

TEST(SecretOptions, LineRoundTrips) {
  const std::vector<std::pair<std::string, std::string>> in{{"--primary", "host=db1 password='x y\"z'"}, {"--standby", "port=5433"}};
  auto line = options_line(in);
  ASSERT_EQ(line.back(), '\n');
  auto out = parse_options_line(line.substr(0, line.size() - 1));
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->size(), 2u);
  for (const auto& kv : in) EXPECT_NE(std::find(out->begin(), out->end(), kv), out->end());
}

TEST(SecretOptions, RefusesWhatIsNotAnOption) {
  EXPECT_FALSE(parse_options_line("[1,2]").ok());
  EXPECT_FALSE(parse_options_line("{\"primary\":\"x\"}").ok());    // not --name
  EXPECT_FALSE(parse_options_line("{\"--Primary\":\"x\"}").ok());  // not lowercase
  EXPECT_FALSE(parse_options_line("{\"--primary\":5}").ok());      // not a string
  EXPECT_FALSE(parse_options_line("{\"--a b\":\"x\"}").ok());      // not one word
  EXPECT_TRUE(parse_options_line("{}").ok());
}

TEST(SecretOptions, ExpandsOnlyWhenAskedFirst) {
  char a0[] = "pgmigrate", a1[] = "pg", a2[] = "standby";
  char* argv[] = {a0, a1, a2};
  auto same = expand_options_stdin(3, argv);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->size(), 3u);
}

TEST(SecretOptions, ReadsTheLineFromStdin) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string line = options_line({{"--primary", "host=db1 password=secret"}});
  ASSERT_EQ(::write(fds[1], line.data(), line.size()), static_cast<ssize_t>(line.size()));
  ::close(fds[1]);
  const int saved = ::dup(0);
  ::dup2(fds[0], 0);
  char a0[] = "pgmigrate", a1[] = "--options-stdin", a2[] = "pg", a3[] = "standby";
  char* argv[] = {a0, a1, a2, a3};
  auto args = expand_options_stdin(4, argv);
  ::dup2(saved, 0);
  ::close(saved);
  ::close(fds[0]);
  ASSERT_TRUE(args.ok()) << args.status().message();
  const std::vector<std::string> want{"pgmigrate", "pg", "standby", "--primary", "host=db1 password=secret"};
  EXPECT_EQ(*args, want);
}

// Feeds `data` to expand_options_stdin through a pipe on fd 0 (a writer thread: it is larger
// than a pipe holds).
Result<std::vector<std::string>> expand_from(const std::string& data) {
  int fds[2];
  if (::pipe(fds) != 0) return Status(Errc::io, "pipe");
  ::signal(SIGPIPE, SIG_IGN);  // the reader may stop early (a refused line)
  std::thread writer([&] {
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::write(fds[1], data.data() + off, data.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ::close(fds[1]);
  });
  const int saved = ::dup(0);
  ::dup2(fds[0], 0);
  char a0[] = "pgmigrate", a1[] = "--options-stdin", a2[] = "pg", a3[] = "standby";
  char* argv[] = {a0, a1, a2, a3};
  auto args = expand_options_stdin(4, argv);
  ::dup2(saved, 0);
  ::close(saved);
  ::close(fds[0]);  // unblocks a writer the reader left behind
  writer.join();
  return args;
}

// migrate sends a Debian cluster's config bundle (up to 4 MiB of files) on this line.
TEST(SecretOptions, TakesABundleSizedLine) {
  const std::string big(std::size_t{6} << 20, 'x');
  auto args = expand_from(options_line({{"--config-bundle-json", big}, {"--primary", "host=db1"}}));
  ASSERT_TRUE(args.ok()) << args.status().message();
  ASSERT_EQ(args->size(), 7u);
  EXPECT_EQ(std::find(args->begin(), args->end(), big) - args->begin() > 0, true);
}

TEST(SecretOptions, RefusesALineOverTheBound) {
  auto args = expand_from(options_line({{"--config-bundle-json", std::string(kMaxOptionsLine, 'x')}}));
  ASSERT_FALSE(args.ok());
  EXPECT_NE(args.status().message().find("line longer than 16 MiB"), std::string::npos) << args.status().message();
}

}  // namespace
}  // namespace pgm
