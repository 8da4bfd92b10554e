// `archetype`: the command line on the zoo's models (tools/cli.cpp).
#include <archetype/cli.hpp>

int main(int argc, char** argv) { return archetype::cli::run(argc, argv); }
