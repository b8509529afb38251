#pragma once
// Several trained model files as one ensemble model file.
#include <string>
#include <vector>

#include "model_file/model_file.h"

namespace pneumoscan {

// Combines the members (at least two networks, loaded on the CPU) into one
// model whose network is an Ensemble of theirs. A member file that is an
// ensemble itself gives its members (so networks can join a shipped
// ensemble). The networks must share the class list and outputs, and each
// must be reachable from the first's input: the same preprocessing, or
// another fixed normalisation of the same size (member_input_adapter); their
// architectures may differ, and the file then describes every member
// (format 4). Else ModelFileError naming the first file that differs
// (`sources[i]` names file i). Threshold and temperature start at the files'
// means, to be replaced by calibrate_model; training records are kept per
// member.
LoadedModel make_ensemble(std::vector<LoadedModel> members, const std::vector<std::string>& sources,
                          const std::string& name);

}  // namespace pneumoscan
