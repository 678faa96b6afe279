// strerror() for code that runs on many threads at once (sessions connect in parallel).
#pragma once

#include <string.h>  // NOLINT(modernize-deprecated-headers): strerror_r's GNU form is declared here

#include <string>

namespace pgm {

inline std::string errno_text(int err) {
  char buf[256];
  return ::strerror_r(err, buf, sizeof buf);  // the GNU variant returns the text, not an int
}

}  // namespace pgm
