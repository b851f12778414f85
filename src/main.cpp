#include "cli/app.h"

int main(int argc, char** argv) { return stsctl::run_cli(argc, argv); }
