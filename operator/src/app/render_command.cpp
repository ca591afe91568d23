// `okami-operator render -f stack.yaml`: prints the child objects the operator would apply for an
// OkamiStack, as a multi-document YAML stream, for review and GitOps diffs. Pure: no cluster is
// contacted. Exit 0 with the stream on stdout; 2 with a message naming the field on bad input.
#include <boost/program_options.hpp>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "app/subcommands.h"
#include "common/result.h"
#include "common/version.h"
#include "okami/api/okamistack.h"
#include "okami/api/yaml_io.h"
#include "okami/children/desired_state.h"

namespace okami::app {
namespace {

namespace po = boost::program_options;
using kube::Json;

common::Result<std::vector<Json>> read_documents(const std::string& path) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(path);
    if (!in) return common::fail(common::ErrorCode::kIo, "cannot read " + path);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto docs = v1alpha1::parse_yaml_documents(text);
  if (!docs) return common::fail(common::ErrorCode::kParse, path + ": " + docs.error().message);
  return docs;
}

int render(const std::string& path, const std::string& operator_image,
           const std::string& default_namespace, const std::string& operator_namespace) {
  auto docs = read_documents(path);
  if (!docs) {
    std::cerr << "okami-operator render: " << docs.error().describe() << "\n";
    return 2;
  }
  std::vector<v1alpha1::OkamiStack> stacks;
  for (auto& doc : *docs) {
    const bool is_stack = doc.is_object() && doc.contains("kind") && doc["kind"].is_string() &&
                          doc["kind"] == v1alpha1::kOkamiStackKind;
    if (!is_stack) continue;
    if (!doc.contains("metadata") || !doc["metadata"].is_object()) doc["metadata"] = Json::object();
    if (!doc["metadata"].contains("namespace")) doc["metadata"]["namespace"] = default_namespace;
    auto stack = v1alpha1::OkamiStack::load(doc);
    if (!stack) {
      std::cerr << "okami-operator render: " << path << ": " << stack.error().message << "\n";
      return 2;
    }
    stacks.push_back(std::move(*stack));
  }
  if (stacks.empty()) {
    std::cerr << "okami-operator render: " << path << " holds no OkamiStack (kind: OkamiStack)\n";
    return 2;
  }
  std::ostringstream text;
  for (const auto& stack : stacks) {
    auto inputs = desired::steady_state_inputs(stack, operator_image);
    inputs.operator_namespace = operator_namespace;
    auto objects = desired::desired_objects(stack, inputs);
    if (!objects) {
      std::cerr << "okami-operator render: " << objects.error().describe() << "\n";
      return 2;
    }
    if (desired::chroma_auth_mode(stack, inputs.chroma_version) == "Token") {
      text << "# " << stack.metadata.namespace_ << "/" << stack.metadata.name
           << ": the Chroma token Secret " << inputs.chroma_token_secret
           << " is generated in the cluster and not rendered.\n";
    }
    for (const auto& object : *objects) text << "---\n" << v1alpha1::to_yaml(object) << "\n";
  }
  std::cout << text.str();
  return 0;
}

}  // namespace

Subcommand render_command() {
  return {"print the objects the operator would create for an OkamiStack, as YAML",
          [](const std::vector<std::string>& args) {
            po::options_description desc("okami-operator render");
            std::string file;
            std::string image = std::string("okami-operator:") + common::version();
            std::string ns = "default";
            std::string operator_ns;
            desc.add_options()("help,h", "show this help")(
                "file,f", po::value(&file)->required(),
                "OkamiStack YAML or JSON file ('-' for stdin)")(
                "operator-image", po::value(&image), "image of the guard init container")(
                "namespace,n", po::value(&ns), "namespace for a stack that names none")(
                "operator-namespace", po::value(&operator_ns),
                "namespace of the operator, admitted to Chroma 1.x by the NetworkPolicy");
            po::variables_map vm;
            if (auto done = parse_or_help(desc, args, vm)) return *done;
            return render(file, image, ns, operator_ns);
          }};
}

}  // namespace okami::app
