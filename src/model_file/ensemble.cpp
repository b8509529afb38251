#include "model_file/ensemble.h"

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "models/ensemble.h"

namespace pneumoscan {
namespace {

// One network of the new ensemble, with where it came from.
struct FlatMember {
  EnsembleMember described;
  Classifier net;
  nlohmann::json record;
  const ModelMetadata* file;
  std::string source;
};

// The networks of one file: itself, or the members of the ensemble it holds.
void add_networks(const LoadedModel& model, const std::string& source, std::vector<FlatMember>& flat) {
  const ModelMetadata& m = model.metadata;
  if (m.ensemble_size == 1) {
    nlohmann::json record = {
        {"source", source}, {"name", m.name}, {"threshold", m.threshold}, {"training", m.training}};
    flat.push_back({{m.spec, m.preprocess}, model.net, std::move(record), &m, source});
    return;
  }
  auto* ensemble = dynamic_cast<EnsembleImpl*>(model.net.get());
  if (ensemble == nullptr || ensemble->size() != static_cast<size_t>(m.ensemble_size))
    throw ModelFileError(source, "describes an ensemble but holds no ensemble network");
  const nlohmann::json records = m.training.value("members", nlohmann::json::array());
  for (size_t i = 0; i < ensemble->size(); ++i) {
    const std::string member_source = source + " member " + std::to_string(i);
    nlohmann::json record = i < records.size() ? records[i] : nlohmann::json::object();
    record["source"] = member_source;
    flat.push_back({m.members.empty() ? EnsembleMember{m.spec, m.preprocess} : m.members[i],
                    ensemble->member_network(i), std::move(record), &m, member_source});
  }
}

bool same_member(const EnsembleMember& a, const EnsembleMember& b) {
  return a.spec.architecture == b.spec.architecture && a.spec.input_size == b.spec.input_size &&
         a.spec.in_channels == b.spec.in_channels && a.spec.num_outputs == b.spec.num_outputs &&
         to_json(a.preprocess) == to_json(b.preprocess);
}

}  // namespace

LoadedModel make_ensemble(std::vector<LoadedModel> members, const std::vector<std::string>& sources,
                          const std::string& name) {
  if (sources.size() != members.size()) throw UsageError("make_ensemble: one source name per member");
  std::vector<FlatMember> flat;
  for (size_t i = 0; i < members.size(); ++i) add_networks(members[i], sources[i], flat);
  if (flat.size() < 2) throw UsageError("an ensemble needs at least two networks");
  if (flat.size() > 64)
    throw UsageError("an ensemble holds at most 64 networks, not " + std::to_string(flat.size()));
  const FlatMember& first = flat.front();
  LoadedModel ensemble;
  ensemble.metadata.name = name;
  ensemble.metadata.spec = first.described.spec;
  ensemble.metadata.preprocess = first.described.preprocess;
  ensemble.metadata.class_names = first.file->class_names;
  ensemble.metadata.ensemble_size = static_cast<int>(flat.size());
  nlohmann::json records = nlohmann::json::array();
  double threshold_sum = 0;
  bool differ = false;
  std::vector<Classifier> nets;
  std::vector<InputAdapter> adapters;
  for (FlatMember& member : flat) {
    const ModelSpec& spec = member.described.spec;
    if (member.file->class_names != first.file->class_names)
      throw ModelFileError(member.source, "class list differs from the first member's");
    if (spec.num_outputs != first.described.spec.num_outputs)
      throw ModelFileError(member.source, spec.architecture + " has " + std::to_string(spec.num_outputs) +
                                              " outputs, the first member " +
                                              std::to_string(first.described.spec.num_outputs));
    try {
      adapters.push_back(member_input_adapter(ensemble.metadata.preprocess, member.described.preprocess));
    } catch (const UsageError& e) {
      throw ModelFileError(member.source,
                           std::string("cannot join the first member's ensemble: ") + e.what());
    }
    differ = differ || !same_member(member.described, first.described);
    threshold_sum += member.file->threshold;
    records.push_back(member.record);
    member.net->set_temperature(1.0);
    member.net->set_class_bias({});
    nets.push_back(member.net);
  }
  if (differ)
    for (const FlatMember& member : flat) ensemble.metadata.members.push_back(member.described);
  ensemble.metadata.threshold = threshold_sum / static_cast<double>(flat.size());
  ensemble.metadata.training = {{"members", records}};
  ensemble.net = Ensemble(std::move(nets), first.described.spec.in_channels, first.described.spec.input_size,
                          std::move(adapters))
                     .ptr();
  ensemble.net->eval();
  return ensemble;
}

}  // namespace pneumoscan
