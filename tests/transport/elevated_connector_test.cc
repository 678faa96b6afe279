// ElevatedConnector: the far command runs under the wrapper, with $SSH_CONNECTION handed over as
// an argument (sudo's env_reset drops it). Run for real through a local shell, with `env` as a
// stand-in wrapper that, like sudo, clears the environment.
#include <gtest/gtest.h>

#include <array>

#include "transport/elevated_connector.h"

namespace pgm::transport {
namespace {

TEST(ElevatedCommand, PutsTheWrapperFirstAndCarriesSshConnection) {
  EXPECT_EQ(elevated_command("sudo -n", "'pgmigrate'", "'pgmigrate' _serve recv --target 'tank/x'"),
            "sudo -n 'pgmigrate' --ssh-connection \"$SSH_CONNECTION\" _serve recv --target 'tank/x'");
  // Secrets' --options-stdin follows: the far side strips --ssh-connection first.
  EXPECT_EQ(elevated_command("doas", "'/opt/pgm'", "'/opt/pgm' --options-stdin pg standby"),
            "doas '/opt/pgm' --ssh-connection \"$SSH_CONNECTION\" --options-stdin pg standby");
  // Something that is not a pgmigrate command is only wrapped.
  EXPECT_EQ(elevated_command("sudo -n", "'pgmigrate'", "true"), "sudo -n true");
}

TEST(ElevatedConnector, TheWrappedCommandSeesTheAddressThroughItsArguments) {
  // The far shell has the variable (as sshd sets it); `env -i` clears it, as sudo would.
  ElevatedConnector c(std::make_unique<LocalConnector>(), "export SSH_CONNECTION='10.0.0.1 5000 10.0.0.2 22'; env -i", "'/bin/echo'");
  CancelToken cancel;
  auto ch = c.exec("'/bin/echo' _serve recv", cancel);
  ASSERT_TRUE(ch.ok()) << ch.status().message();
  std::string out;
  std::array<std::uint8_t, 256> buf{};
  while (!(*ch)->eof()) {
    auto n = (*ch)->read_some(buf, std::chrono::milliseconds(1000));
    ASSERT_TRUE(n.ok());
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  auto code = (*ch)->wait_exit();
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(out, "--ssh-connection 10.0.0.1 5000 10.0.0.2 22 _serve recv\n");
}

}  // namespace
}  // namespace pgm::transport
