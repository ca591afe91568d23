// `okami-operator check -f stack.yaml [--matrix file]`: the compatibility gate, offline, for CI and
// Argo CD pre-sync hooks. Reads an OkamiStack manifest (only the fields the gate needs, read with
// yaml-cpp directly), evaluates it against the built-in or a given matrix and prints every rule.
// Exit codes: 0 the gate passes, 1 it fails, 2 unreadable input or usage error.
#include <yaml-cpp/yaml.h>

#include <boost/program_options.hpp>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include "app/subcommands.h"
#include "common/result.h"
#include "okami/gate/compatibility_gate.h"
#include "okami/names.h"

namespace okami::app {
namespace {

namespace po = boost::program_options;
using common::ErrorCode;
using common::fail;

common::Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kIo, "cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return fail(ErrorCode::kIo, "cannot read " + path);
  return text.str();
}

// The scalar at `path` under `node`, or "" when any part is missing or not a scalar. Reads only:
// yaml-cpp Node assignment would write through to the document, so this recurses on const nodes.
std::string scalar_at(const YAML::Node& node, const std::vector<const char*>& path,
                      std::size_t i = 0) {
  if (i == path.size()) return node.IsScalar() ? node.as<std::string>() : "";
  if (!node.IsMap()) return "";
  const YAML::Node child = node[path[i]];
  if (!child) return "";
  return scalar_at(child, path, i + 1);
}

struct Stack {
  std::string name;
  gate::CompatInput input;
};

// The first OkamiStack document in `text`. Errors: kParse for YAML syntax or a document that is
// not an OkamiStack manifest.
common::Result<Stack> read_stack(const std::string& text) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    return fail(ErrorCode::kParse, "YAML error at line " + std::to_string(e.mark.line + 1) +
                                       ", column " + std::to_string(e.mark.column + 1) + ": " +
                                       e.msg);
  }
  try {
    const YAML::Node* found = nullptr;
    for (const auto& d : docs) {
      if (d.IsMap() && scalar_at(d, {"kind"}) == "OkamiStack") {
        found = &d;
        break;
      }
    }
    if (!found)
      return fail(ErrorCode::kParse, "no OkamiStack document (kind: OkamiStack) in the input");
    const YAML::Node& doc = *found;
    if (!doc["spec"] || !doc["spec"].IsMap())
      return fail(ErrorCode::kParse, "the OkamiStack has no spec");
    Stack s;
    const std::string ns = scalar_at(doc, {"metadata", "namespace"});
    s.name = (ns.empty() ? "" : ns + "/") + scalar_at(doc, {"metadata", "name"});
    gate::CompatInput& in = s.input;
    in.desired_chroma = scalar_at(doc, {"spec", "chroma", "version"});
    in.desired_ollama = scalar_at(doc, {"spec", "ollama", "version"});
    in.embedding_model = scalar_at(doc, {"spec", "ollama", "embeddingModel"});
    const YAML::Node packages =
        doc["spec"]["client"] ? doc["spec"]["client"]["packages"] : YAML::Node();
    if (packages && packages.IsMap()) {
      for (const auto& kv : packages) {
        if (!kv.second.IsScalar()) {
          return fail(ErrorCode::kParse,
                      "spec.client.packages." + kv.first.as<std::string>() + " is not a string");
        }
        in.client_packages[kv.first.as<std::string>()] = kv.second.as<std::string>();
      }
    } else if (packages && !packages.IsNull()) {
      return fail(ErrorCode::kParse, "spec.client.packages is not a map of package: pin");
    }
    in.running_chroma = scalar_at(doc, {"status", "chroma", "runningVersion"});
    in.data_format = scalar_at(doc, {"status", "chroma", "dataFormat"});
    in.running_ollama = scalar_at(doc, {"status", "ollama", "runningVersion"});
    const std::string dim = scalar_at(doc, {"status", "ollama", "embeddingDimension"});
    if (!dim.empty()) {
      try {
        in.observed_model_dimension = std::stoi(dim);
      } catch (const std::exception&) {
        return fail(ErrorCode::kParse,
                    "status.ollama.embeddingDimension '" + dim + "' is not a number");
      }
    }
    in.memory_reset_approved =
        !scalar_at(doc, {"metadata", "annotations", names::kResetMemoriesAnnotation}).empty();
    return s;
  } catch (const YAML::Exception& e) {
    return fail(ErrorCode::kParse, "unexpected manifest shape: " + e.msg);
  }
}

void print_header(const Stack& s, const std::string& matrix_source, std::ostream& out) {
  const gate::CompatInput& in = s.input;
  out << "okami-operator check: OkamiStack " << (s.name.empty() ? "(unnamed)" : s.name)
      << " against the " << matrix_source << "\n";
  out << "  Chroma " << (in.desired_chroma.empty() ? "(unset)" : in.desired_chroma);
  if (!in.running_chroma.empty()) out << " (running " << in.running_chroma << ")";
  if (!in.data_format.empty()) out << ", data " << in.data_format;
  out << "; Ollama " << (in.desired_ollama.empty() ? "(unset)" : in.desired_ollama);
  if (!in.running_ollama.empty()) out << " (running " << in.running_ollama << ")";
  if (!in.embedding_model.empty()) out << ", model " << in.embedding_model;
  out << "\n  client:";
  if (in.client_packages.empty()) out << " (no packages declared)";
  for (const auto& [pkg, pin] : in.client_packages) out << " " << pkg << pin;
  out << "\n\n";
}

int check(const std::string& stack_file, const std::string& matrix_file, std::ostream& out,
          std::ostream& err) {
  auto text = read_file(stack_file);
  if (!text) {
    err << "okami-operator check: " << text.error().message << "\n";
    return 2;
  }
  auto stack = read_stack(*text);
  if (!stack) {
    err << "okami-operator check: " << stack_file << ": " << stack.error().message << "\n";
    return 2;
  }
  std::string override_text;
  if (!matrix_file.empty()) {
    auto m = read_file(matrix_file);
    if (!m) {
      err << "okami-operator check: " << m.error().message << "\n";
      return 2;
    }
    override_text = *m;
  }
  auto base = gate::CompatMatrix::builtin();
  if (!base) {
    err << "okami-operator check: built-in matrix: " << base.error().message << "\n";
    return 2;
  }
  auto matrix = override_text.empty() ? base : gate::CompatMatrix::parse(override_text, &*base);
  if (!matrix) {
    err << "okami-operator check: " << matrix_file << ": " << matrix.error().message << "\n";
    return 2;
  }
  print_header(*stack, matrix_file.empty() ? "built-in matrix" : "matrix " + matrix_file, out);
  const gate::GateResult result = gate::evaluate(stack->input, *matrix);
  for (const auto& o : result.outcomes) {
    out << gate::to_string(o.outcome) << "  " << o.rule_id << ": " << o.message << "\n";
  }
  out << "\n"
      << (result.passed ? "PASS" : "FAIL") << ": " << result.violations.size() << " violation(s), "
      << result.warnings.size() << " warning(s)\n";
  return result.passed ? 0 : 1;
}

}  // namespace

Subcommand check_command() {
  return {"evaluate an OkamiStack manifest against the compatibility matrix (offline)",
          [](const std::vector<std::string>& args) {
            po::options_description desc("okami-operator check -f stack.yaml [--matrix file]");
            desc.add_options()("help,h", "show this help")("filename,f", po::value<std::string>(),
                                                           "OkamiStack manifest (YAML)")(
                "matrix", po::value<std::string>(),
                "compatibility matrix document replacing or extending (extends: builtin) the "
                "built-in one");
            po::variables_map vm;
            try {
              po::store(po::command_line_parser(args).options(desc).run(), vm);
            } catch (const po::error& e) {
              std::cerr << "okami-operator check: " << e.what() << "\n" << desc << "\n";
              return 2;
            }
            if (vm.count("help")) {
              std::cout << desc << "\n"
                        << "Exit codes: 0 the gate passes, 1 it fails, 2 unreadable input.\n";
              return 0;
            }
            if (!vm.count("filename")) {
              std::cerr << "okami-operator check: -f stack.yaml is required\n" << desc << "\n";
              return 2;
            }
            const std::string matrix = vm.count("matrix") ? vm["matrix"].as<std::string>() : "";
            return check(vm["filename"].as<std::string>(), matrix, std::cout, std::cerr);
          }};
}

}  // namespace okami::app
