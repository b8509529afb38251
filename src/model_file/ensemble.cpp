#include "model_file/ensemble.h"

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "models/ensemble.h"

namespace pneumoscan {

LoadedModel make_ensemble(std::vector<LoadedModel> members, const std::vector<std::string>& sources,
                          const std::string& name) {
  if (members.size() < 2) throw UsageError("an ensemble needs at least two model files");
  if (sources.size() != members.size()) throw UsageError("make_ensemble: one source name per member");
  const ModelMetadata& first = members.front().metadata;
  const nlohmann::json first_preprocess = to_json(first.preprocess);
  LoadedModel ensemble;
  ensemble.metadata.name = name;
  ensemble.metadata.spec = first.spec;
  ensemble.metadata.preprocess = first.preprocess;
  ensemble.metadata.class_names = first.class_names;
  ensemble.metadata.ensemble_size = static_cast<int>(members.size());
  nlohmann::json records = nlohmann::json::array();
  double threshold_sum = 0;
  std::vector<Classifier> nets;
  for (size_t i = 0; i < members.size(); ++i) {
    const ModelMetadata& m = members[i].metadata;
    const std::string& source = sources[i];
    if (m.ensemble_size != 1) throw ModelFileError(source, "is an ensemble already; give its members");
    if (m.spec.architecture != first.spec.architecture || m.spec.input_size != first.spec.input_size ||
        m.spec.in_channels != first.spec.in_channels || m.spec.num_outputs != first.spec.num_outputs)
      throw ModelFileError(
          source, "architecture " + m.spec.architecture + " at " + std::to_string(m.spec.input_size) +
                      " px differs from the first member's " + first.spec.architecture + " at " +
                      std::to_string(first.spec.input_size) + " px; ensemble members share one architecture");
    if (to_json(m.preprocess) != first_preprocess)
      throw ModelFileError(source, "preprocessing differs from the first member's");
    if (m.class_names != first.class_names)
      throw ModelFileError(source, "class list differs from the first member's");
    threshold_sum += m.threshold;
    records.push_back(
        {{"source", source}, {"name", m.name}, {"threshold", m.threshold}, {"training", m.training}});
    members[i].net->set_temperature(1.0);
    members[i].net->set_class_bias({});
    nets.push_back(members[i].net);
  }
  ensemble.metadata.threshold = threshold_sum / static_cast<double>(members.size());
  ensemble.metadata.training = {{"members", records}};
  ensemble.net = Ensemble(std::move(nets), first.spec.in_channels, first.spec.input_size).ptr();
  ensemble.net->eval();
  return ensemble;
}

}  // namespace pneumoscan
