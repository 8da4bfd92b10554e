// The `archetype` command line: subcommands live in their own files (list.cpp,
// describe.cpp, …) and register themselves on the app here.
#include "commands.hpp"

#include <archetype/cli.hpp>

#include <archetype/architectures/registry.hpp>

#include <exception>
#include <iostream>
#include <string>
#include <vector>

namespace archetype::cli {

const ModelEntry* model_or_report(std::string_view name) {
  if (const ModelEntry* m = find_model(name)) return m;
  std::cerr << "archetype: unknown model '" << name << "'.";
  const auto close = close_model_names(name);
  if (!close.empty()) {
    std::cerr << " Did you mean: ";
    for (std::size_t i = 0; i < close.size(); ++i) std::cerr << (i > 0 ? ", " : "") << close[i];
    std::cerr << "?";
  }
  std::cerr << "  (archetype list shows all)\n";
  return nullptr;
}

int run(int argc, char** argv) {
  CLI::App app{
      "archetype: neural-network architectures as C++ types.\n"
      "Figures are computed at compile time from each model's definition.",
      "archetype"};
  app.set_help_all_flag("--help-all", "Print help for every subcommand and exit");

  std::vector<Command> commands = {add_list(app), add_describe(app), add_docs(app)};
#ifdef ARCHETYPE_HAVE_TRAIN
  commands.push_back(add_train(app));
  commands.push_back(add_bench(app));
#endif
#ifdef ARCHETYPE_HAVE_ONNX_EXPORT
  commands.push_back(add_export(app));
#endif
#ifdef ARCHETYPE_HAVE_EXPERIMENT
  commands.push_back(add_experiment(app));
#endif
  app.require_subcommand(0, 1);
  // "archetype describe: --batch: Value 0 not in range 1 to 1000000" and where to look.
  app.failure_message([&commands](const CLI::App* root, const CLI::Error& e) {
    std::string where = root->get_name();
    for (const Command& command : commands) {
      if (command.app->parsed()) where += " " + command.app->get_name();
    }
    return where + ": " + e.what() + "\nRun '" + where + " --help' for more information.\n";
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help (rc 0) or the error (rc != 0)
    return rc == 0 ? 0 : exit_usage;
  }

  for (const Command& command : commands) {
    if (command.app->parsed()) {
      try {
        return command.run();
      } catch (const std::exception& e) {
        std::cerr << "archetype: " << e.what() << '\n';
        return 1;
      }
    }
  }
  std::cerr << app.help() << "archetype: a subcommand is required\n";
  return exit_usage;
}

}  // namespace archetype::cli
