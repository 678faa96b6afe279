#pragma once

namespace pgm::cli {
int run(int argc, char** argv);
}
