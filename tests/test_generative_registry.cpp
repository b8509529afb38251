// Tests of src/models/generative_registry: every generative network is listed,
// builds at each of its sizes, runs its probe with the expected output shape,
// and an unknown name is refused naming the known ones.
#include <torch/torch.h>

#include <string>

#include "core/errors.h"
#include "models/autoencoder.h"
#include "models/classifier.h"
#include "models/generative_registry.h"
#include "test_support.h"

using namespace pneumoscan;

TEST(GenerativeRegistry, ListsTheAutoencoderAndBothDcganNetworksAtTheirSizes) {
  std::vector<std::string> names;
  for (const auto& info : generative_networks()) names.push_back(info.name);
  EXPECT_EQ(names, (std::vector<std::string>{"autoencoder", "dcgan-generator", "dcgan-discriminator"}));
  EXPECT_EQ(find_generative_network("autoencoder").sizes, (std::vector<int64_t>{224}));
  EXPECT_EQ(find_generative_network("dcgan-generator").sizes, (std::vector<int64_t>{64, 128}));

  torch::NoGradGuard no_grad;
  const torch::Tensor reconstruction =
      find_generative_network("autoencoder")
          .forward_probe(*find_generative_network("autoencoder").create(224), 224);
  EXPECT_EQ(reconstruction.sizes(), (torch::IntArrayRef{1, 1, 224, 224}));
  for (const int64_t size : {64, 128}) {
    const auto& generator = find_generative_network("dcgan-generator");
    const auto& discriminator = find_generative_network("dcgan-discriminator");
    const auto g = generator.create(size);
    const auto d = discriminator.create(size);
    EXPECT_EQ(generator.forward_probe(*g, size).sizes(), (torch::IntArrayRef{1, 1, size, size}));
    EXPECT_EQ(discriminator.forward_probe(*d, size).sizes(), (torch::IntArrayRef{1}));
    EXPECT_GT(count_parameters(*g), count_parameters(*d) / 10);  // both really built
  }
}

TEST(GenerativeRegistry, UnknownNamesAndSizesAreRefused) {
  try {
    find_generative_network("vae");
    FAIL() << "an unknown name was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("known: autoencoder, dcgan-generator, dcgan-discriminator"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(find_generative_network("dcgan-generator").create(100), UsageError);  // not a power of two
}
