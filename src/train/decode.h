#pragma once
// Decoding a trainer's images into the in-memory cache (data/loader.h), with
// progress and the outcome reported to its observer: the classifier trainer
// and the generative trainers report it alike.
#include <vector>

#include "data/loader.h"
#include "train/observer.h"

namespace pneumoscan {

// `what`: "train" or "validation" (the observer's names). Unreadable files are skipped and reported.
ImageCache decode_for_training(const std::vector<Sample>& samples, const PreprocessConfig& preprocess,
                               int threads, const char* what, TrainObserver& observer);

}  // namespace pneumoscan
