// pgmigrate: parse the command line, run the chosen command, map its Status to an exit code.
#include "cli/app.h"

int main(int argc, char** argv) { return pgm::cli::run(argc, argv); }
