#include "models/generative_registry.h"

#include <torch/torch.h>

#include "core/named.h"
#include "models/autoencoder.h"
#include "models/dcgan.h"

namespace pneumoscan {
namespace {

torch::Tensor probe_image(int64_t size) { return torch::rand({1, 1, size, size}); }

DcganOptions dcgan_options(int64_t size) {
  DcganOptions options;
  options.image_size = size;
  check_dcgan_options(options);
  return options;
}

// The network behind a registry entry's module (create made it, so the cast holds).
template <typename Net>
Net& as(torch::nn::Module& net) {
  return dynamic_cast<Net&>(net);
}

}  // namespace

const std::vector<GenerativeNetworkInfo>& generative_networks() {
  static const std::vector<GenerativeNetworkInfo> list = {
      {"autoencoder",
       "seed study's convolutional autoencoder (4 stride-2 convs 32-64-128-256, mirrored decoder; MSE)",
       {224},
       "image",
       [](int64_t size) -> std::shared_ptr<torch::nn::Module> {
         AutoencoderOptions options;
         options.input_size = size;
         return std::make_shared<AutoencoderImpl>(options);
       },
       [](torch::nn::Module& net, int64_t size) {
         return as<AutoencoderImpl>(net).forward(probe_image(size));
       }},
      {"dcgan-generator",
       "DCGAN generator: 100-d noise through transposed convs to a gray image (BatchNorm, ReLU, tanh)",
       {64, 128},
       "100-d noise",
       [](int64_t size) -> std::shared_ptr<torch::nn::Module> {
         return std::make_shared<GeneratorImpl>(dcgan_options(size));
       },
       [](torch::nn::Module& net, int64_t) {
         GeneratorImpl& generator = as<GeneratorImpl>(net);
         return generator.forward(torch::randn({1, generator.options.noise_dim}));
       }},
      {"dcgan-discriminator",
       "DCGAN discriminator: strided convs to one real/fake logit (LeakyReLU 0.2, BatchNorm inside)",
       {64, 128},
       "image",
       [](int64_t size) -> std::shared_ptr<torch::nn::Module> {
         return std::make_shared<DiscriminatorImpl>(dcgan_options(size));
       },
       [](torch::nn::Module& net, int64_t size) {
         return as<DiscriminatorImpl>(net).forward(probe_image(size));
       }},
  };
  return list;
}

const GenerativeNetworkInfo& find_generative_network(const std::string& name) {
  return find_named(generative_networks(), name, "generative network");
}

}  // namespace pneumoscan
