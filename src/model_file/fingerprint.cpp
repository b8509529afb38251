#include "model_file/fingerprint.h"

#include <nlohmann/json.hpp>

#include "core/hash.h"
#include "image/preprocess.h"
#include "models/weights_hash.h"

namespace pneumoscan {

std::string model_fingerprint(const ModelMetadata& metadata, torch::nn::Module& net) {
  nlohmann::json described = {{"architecture", metadata.spec.architecture},
                              {"input_size", metadata.spec.input_size},
                              {"in_channels", metadata.spec.in_channels},
                              {"num_outputs", metadata.spec.num_outputs},
                              {"preprocess", to_json(metadata.preprocess)}};
  // Only where the members differ, so that other models keep their fingerprints.
  if (!metadata.members.empty()) described["members"] = to_json(metadata)["members"];
  const std::string text = described.dump();
  return hex64(hash_weights(net, fnv1a64(text.data(), text.size())));
}

}  // namespace pneumoscan
