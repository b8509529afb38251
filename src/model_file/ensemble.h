#pragma once
// Several trained model files as one ensemble model file.
#include <string>
#include <vector>

#include "model_file/model_file.h"

namespace pneumoscan {

// Combines the members (at least two, loaded on the CPU) into one model whose
// network is an Ensemble of theirs: same architecture, input, outputs,
// preprocessing and class list, none of them an ensemble itself, else
// ModelFileError naming the first member that differs (`sources[i]` names
// member i). Threshold and temperature start at the members' means, to be
// replaced by calibrate_model; training records are kept per member.
LoadedModel make_ensemble(std::vector<LoadedModel> members, const std::vector<std::string>& sources,
                          const std::string& name);

}  // namespace pneumoscan
