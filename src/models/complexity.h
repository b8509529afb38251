#pragma once
// How expensive a network is: multiply-adds of one forward pass, counted from
// the convolutions and matrix products that actually run, and its measured
// forward time.
#include <cstdint>
#include <functional>

#include "models/classifier.h"

namespace pneumoscan {

// Multiply-adds of one forward pass of `net` on one [in_channels, size, size]
// image. Counts aten::convolution (output elements x in_channels/groups x
// kernel area; transposed: input elements x out_channels/groups x kernel
// area) and the matrix products (linear, addmm, matmul, mm, bmm); an
// operator called inside another counted one is not counted again. Element-wise
// work (BatchNorm, activations, pooling, additions) is left out, as published
// figures (torchvision's "GFLOPS") leave it out.
int64_t count_multiply_adds(ClassifierImpl& net, int64_t in_channels, int64_t input_size);

// The same for any network: `run` is one forward pass of `net` (put in eval
// mode without gradients for it) on a probe input the caller chose, such as a
// generator's noise.
int64_t count_multiply_adds(torch::nn::Module& net, const std::function<void()>& run);

// Median wall time in seconds of `runs` forward passes (batch 1, eval mode,
// no gradients) after one warm-up pass, on the CPU.
double measure_forward_seconds(ClassifierImpl& net, int64_t in_channels, int64_t input_size, int runs = 5);
double measure_forward_seconds(torch::nn::Module& net, const std::function<void()>& run, int runs = 5);

}  // namespace pneumoscan
