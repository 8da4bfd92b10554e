#pragma once
/// \file
/// \brief The `archetype` command line as a function, for executables that register models
/// of their own first (`register_models`, what `archetype_add_model` generates): every
/// subcommand (list, describe, train, bench, docs, experiment, as this build has them)
/// then works on those models as on the zoo's. Link `Archetype::cli`.

namespace archetype::cli {

/// Parses `argv` and runs the subcommand; returns the process exit code (0 success, 2 usage
/// error, 1 other failure).
int run(int argc, char** argv);

}  // namespace archetype::cli
