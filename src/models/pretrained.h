#pragma once
// Transfer learning: importing ImageNet weights saved by Python
// (torchvision-layout state dicts, `torch.save(model.state_dict(), f)`),
// freezing the feature extractor, and exporting our weights the other way.
//
// Preprocessing: the shared MobileNetV2 file (../shared/pretrained) expects
// RGB scaled to [-1, 1]. Our training normalises each image by default
// (image_zscore); fine-tuning adapts the network to that, since the first
// convolutions see the same kind of zero-centred input at a different scale.
// To reproduce the [-1, 1] scaling exactly, train with `--norm inception`
// (= `--normalization fixed --norm-mean 0.5 --norm-std 0.5`): (x - 0.5) / 0.5
// maps [0, 1] pixels onto [-1, 1].
//
// The shared ResNet-50 (architecture "resnet50-v1", float16 weights) expects
// RGB x/255 normalised per channel with ImageNet's mean/std: train with
// `--norm imagenet`, which also selects 3 input channels. The gray image is
// repeated into R = G = B and channel c gets (x - mean_c) / std_c, exactly the
// ImageNet input of that gray picture, and the RGB stem loads unchanged.
//
// Why not 1 channel with per-channel constants: summing the RGB filters (the
// rule below) is exact when every channel shares one mean m and std s. With
// per-channel constants, folding 1/std_c into the summed kernel,
// w = sum_c w_c * s / std_c for a 1-channel input (x - m) / s, leaves a
// per-filter offset sum_c w_c * (m - mean_c) / std_c that zero padding turns
// into a position-dependent error along the border (where the stem's window
// reaches into the padding). It could be moved into the following BatchNorm's mean, exact only in
// the interior, so the product refuses per-channel constants with 1 channel
// (PreprocessConfig) rather than run an approximation.
#include <string>
#include <utility>
#include <vector>

#include "models/classifier.h"

namespace pneumoscan {

struct ImportReport {
  std::vector<std::string> matched;          // copied as is
  std::vector<std::string> adapted;          // RGB stem summed to one input channel
  std::vector<std::string> missing_in_file;  // network entries the file lacks (left as initialised)
  std::vector<std::string> unused_in_file;   // file entries the network has no use for
  std::vector<std::string> shape_mismatch;   // same name, other shape (e.g. the head): left as initialised
};

// Reads a state dict written by Python's torch.save (a dict of name -> tensor).
// Throws ModelFileError(path, ...) when the file is unreadable or not a dict of tensors.
std::vector<std::pair<std::string, torch::Tensor>> read_state_dict_file(const std::string& path);

// Copies the tensors of `state_dict_path` into `net` by name where the shapes
// match. The stem (the network's first convolution weight) is adapted when the
// file's has 3 input channels and the network's 1: the RGB filters are summed
// over the input-channel dimension, so a gray image x gives exactly what the
// RGB network gives for (x, x, x). Differently shaped entries (the classifier
// head of another class count) keep their fresh initialisation. Throws
// ModelFileError when the file is unreadable or shares no weight with `net`.
// Tensors of any floating type (float16 in the shared ResNet-50 file) are cast
// to the network's float32; a non-floating tensor for a floating entry (or the
// reverse, e.g. num_batches_tracked) is a ModelFileError naming the entry.
ImportReport import_pretrained(ClassifierImpl& net, const std::string& state_dict_path);

// "imported N tensors (...)" plus the names that were not matched, one line each.
std::string format(const ImportReport& report);

// Freezing: parameters outside head_parameters() get requires_grad(false), or
// everything trainable again.
void freeze_features(ClassifierImpl& net);
void unfreeze_all(ClassifierImpl& net);
// The parameters with requires_grad (what an optimizer should update).
std::vector<torch::Tensor> trainable_parameters(torch::nn::Module& net);
// Puts every BatchNorm layer in eval mode (call after module.train()), so
// that training leaves their running statistics unchanged.
void freeze_batchnorm_statistics(torch::nn::Module& net);

// Writes the parameters and buffers of `net` as a torchvision-layout state
// dict that Python's torch.load + load_state_dict(strict=True) accepts
// (contiguous float32/int64 CPU tensors), atomically. Returns the number of tensors.
size_t export_state_dict(torch::nn::Module& net, const std::string& path);

}  // namespace pneumoscan
