#include "generative/checkpoint.h"

#include <torch/serialize/output-archive.h>

#include "core/errors.h"
#include "core/json_text.h"
#include "model_file/archive.h"
#include "models/torch_archive.h"
#include "train/checkpoint.h"
#include "train/optimizer_state.h"

namespace pneumoscan {
namespace {

NamedTensors read_tensors(const c10::IValue& archive, const std::string& key, const std::string& path) {
  const c10::IValue value = archive_attribute(archive, key);
  if (!value.isGenericDict())
    throw ModelFileError(path, "checkpoint lacks " + key + "; train without --resume");
  return from_dict(value, path);
}

}  // namespace

void save_parts(const std::string& path, const nlohmann::json& state, const CheckpointParts& parts) {
  torch::serialize::OutputArchive archive;
  archive.write("state", c10::IValue(json_text(state)));
  for (const auto& [name, net] : parts.networks)
    archive.write("net." + name, c10::IValue(to_dict(snapshot(*net))));
  for (const auto& [name, tensors] : parts.snapshots)
    archive.write("snapshot." + name, c10::IValue(to_dict(*tensors)));
  for (const auto& [name, optimizer] : parts.optimizers) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    archive.write("optimizer." + name, optimizer_archive);
  }
  save_archive(archive, path);
}

nlohmann::json load_parts(const std::string& path, const nlohmann::json& settings,
                          const CheckpointParts& parts) {
  c10::IValue archive;
  const nlohmann::json state = open_checkpoint(path, archive);
  const nlohmann::json saved = state.value("settings", nlohmann::json::object());
  for (const auto& [key, wanted] : settings.items())
    if (saved.value(key, nlohmann::json()) != wanted)
      throw UsageError(path + ": checkpoint was made with " + key + " = " +
                       json_text(saved.value(key, nlohmann::json())) + ", not " + json_text(wanted) +
                       "; use the same settings to resume");
  for (const auto& [name, net] : parts.networks)
    load_state_dict(*net, read_tensors(archive, "net." + name, path), path);
  for (const auto& [name, tensors] : parts.snapshots)
    *tensors = read_tensors(archive, "snapshot." + name, path);
  for (const auto& [name, optimizer] : parts.optimizers) {
    const c10::IValue saved = archive_attribute(archive, "optimizer." + name);
    if (saved.isNone())
      throw ModelFileError(path, "checkpoint lacks optimizer." + name + "; train without --resume");
    restore_optimizer_state(saved, *optimizer, path);
  }
  return state;
}

}  // namespace pneumoscan
