// Tests of src/models/pretrained (transfer learning): importing torchvision
// state dicts (the shared ImageNet MobileNetV2), the RGB -> gray stem rule,
// freezing the feature extractor, and exporting our weights for Python.
// Training with frozen features is in test_trainer.cpp.
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "model_file/model_file.h"
#include "models/pretrained.h"
#include "models/registry.h"
#include "test_support.h"
#include "training_support.h"

using namespace pneumoscan;

namespace {

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

TEST(TransferImport, MobileNetV2FromSharedImageNetFile) {
  PNEUMOSCAN_REQUIRE_SHARED(path, "pretrained/mobilenet_v2_imagenet.pt");
  torch::manual_seed(0);
  Classifier net = create_model({"mobilenet-v2", 224, 1, 2});
  const torch::Tensor head_before = net->named_parameters()["classifier.1.weight"].clone();
  const ImportReport report = import_pretrained(*net, path);
  std::cout << "[          ] " << format(report) << "\n";

  const size_t entries = state_dict(*net).size();
  EXPECT_EQ(report.matched.size(), entries - 3);  // all but the adapted stem and the 2 head tensors
  EXPECT_EQ(report.adapted, std::vector<std::string>{"features.0.0.weight"});
  EXPECT_EQ(report.shape_mismatch.size(), 2u);
  EXPECT_TRUE(contains(report.shape_mismatch, "classifier.1.weight"));
  EXPECT_TRUE(contains(report.shape_mismatch, "classifier.1.bias"));
  EXPECT_TRUE(report.missing_in_file.empty());
  EXPECT_TRUE(report.unused_in_file.empty());
  EXPECT_NE(format(report).find("classifier.1.bias"), std::string::npos);

  // Matched tensors are the file's; the head keeps its fresh initialisation.
  const auto file = read_state_dict_file(path);
  std::map<std::string, torch::Tensor> by_name(file.begin(), file.end());
  const auto params = net->named_parameters();
  EXPECT_TRUE(torch::equal(params["features.18.0.weight"], by_name.at("features.18.0.weight")));
  EXPECT_TRUE(torch::equal(params["classifier.1.weight"], head_before));
  EXPECT_TRUE(torch::allclose(params["features.0.0.weight"], by_name.at("features.0.0.weight").sum(1, true)));

  // Into the matching 3-channel 1001-class network everything matches.
  const ImportReport full = import_pretrained(*create_model({"mobilenet-v2", 224, 3, 1001}), path);
  EXPECT_EQ(full.matched.size(), entries);
  EXPECT_TRUE(full.adapted.empty());
  EXPECT_TRUE(full.shape_mismatch.empty());
}

// The sum rule: the 1-channel network on a gray image computes what the RGB
// network computes on that image repeated to 3 channels.
TEST(TransferImport, AdaptedStemOnGrayEqualsRgbNetworkOnRepeatedGray) {
  PNEUMOSCAN_REQUIRE_SHARED(path, "pretrained/mobilenet_v2_imagenet.pt");
  Classifier gray = create_model({"mobilenet-v2", 96, 1, 2});
  import_pretrained(*gray, path);
  Classifier rgb = create_model({"mobilenet-v2", 96, 3, 1001});
  load_state_dict(*rgb, read_state_dict_file(path), path);  // strict: every tensor, every shape
  gray->eval();
  rgb->eval();
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  const torch::Tensor x = torch::rand({2, 1, 96, 96}) * 2 - 1;
  const torch::Tensor a = gray->forward_features(x);
  const torch::Tensor b = rgb->forward_features(x.repeat({1, 3, 1, 1}));
  EXPECT_GT(b.abs().max().item<double>(), 1e-2);
  EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-4)) << "max difference " << (a - b).abs().max().item<double>();
}

TEST(TransferImport, BadFilesGiveModelFileErrorNamingThem) {
  test::TempDir dir;
  Classifier net = create_model({"mobilenet-v2", 64, 1, 2});
  auto expect_error = [&](const std::string& path, const std::string& words) {
    try {
      import_pretrained(*net, path);
      ADD_FAILURE() << "no error for " << path;
    } catch (const ModelFileError& e) {
      const std::string message = e.what();
      EXPECT_TRUE(starts_with(message, path + ": ")) << message;
      EXPECT_NE(message.find(words), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
    }
  };
  expect_error(dir / "absent.pt", "cannot open");
  write_file_atomically(dir / "text.pt", "these are not weights\n");
  expect_error(dir / "text.pt", "not a state dict");
  const std::vector<char> tensor_only = torch::pickle_save(c10::IValue(torch::ones({3})));
  write_file_atomically(dir / "tensor.pt", std::string(tensor_only.begin(), tensor_only.end()));
  expect_error(dir / "tensor.pt", "not a dict of tensors");
  c10::Dict<std::string, int64_t> numbers;
  numbers.insert("features.0.0.weight", 1);
  const std::vector<char> not_tensors = torch::pickle_save(c10::IValue(numbers));
  write_file_atomically(dir / "numbers.pt", std::string(not_tensors.begin(), not_tensors.end()));
  expect_error(dir / "numbers.pt", "features.0.0.weight");
  // A valid state dict of another architecture shares nothing.
  export_state_dict(*create_model({"small-cnn", 64, 1, 1}), dir / "small.pt");
  expect_error(dir / "small.pt", "shares no weight");
}

TEST(TransferFreeze, HeadParametersAreTheFinalLayersOfEveryArchitecture) {
  for (const auto& info : architectures()) {
    Classifier net = create_model({info.name, 64, 1, 2});
    const auto head = net->head_parameters();
    const auto all = net->named_parameters();
    ASSERT_FALSE(head.empty()) << info.name;
    EXPECT_LT(head.size(), all.size()) << info.name;
    // The network's last parameter (the output layer's bias) belongs to the head.
    const torch::Tensor last = all.values().back();
    EXPECT_TRUE(std::any_of(head.begin(), head.end(), [&](const torch::Tensor& p) {
      return p.is_same(last);
    })) << info.name;
    freeze_features(*net);
    EXPECT_EQ(trainable_parameters(*net).size(), head.size()) << info.name;
    unfreeze_all(*net);
    EXPECT_EQ(trainable_parameters(*net).size(), all.size()) << info.name;
  }
}

TEST(TransferFreeze, OptimizerStepChangesOnlyTheHead) {
  torch::manual_seed(1);
  Classifier net = create_model({"mobilenet-v2", 64, 1, 2});
  freeze_features(*net);
  std::map<std::string, torch::Tensor> before;
  for (auto& item : net->named_parameters()) before[item.key()] = item.value().detach().clone();
  torch::optim::AdamW optimizer(trainable_parameters(*net), torch::optim::AdamWOptions(1e-2));
  net->train();
  const torch::Tensor logits = net->forward(torch::randn({4, 1, 64, 64}));
  torch::nn::functional::cross_entropy(logits, torch::tensor({0, 1, 1, 1}, torch::kLong)).backward();
  optimizer.step();
  size_t changed_head = 0;
  for (auto& item : net->named_parameters()) {
    const bool same = torch::equal(item.value(), before.at(item.key()));
    if (starts_with(item.key(), "classifier.")) {
      changed_head += same ? 0 : 1;
    } else {
      EXPECT_TRUE(same) << item.key() << " changed although the features are frozen";
    }
  }
  EXPECT_EQ(changed_head, 2u);  // classifier.1.weight and bias
}

TEST(TransferFreeze, BatchNormStatisticsStayWhenFrozen) {
  torch::manual_seed(4);
  Classifier net = create_model({"mobilenet-v2", 64, 1, 2});
  const auto before = test::copy_of(*net);
  const torch::Tensor x = torch::randn({4, 1, 64, 64}) * 3 + 1;
  torch::NoGradGuard no_grad;
  net->train();
  freeze_batchnorm_statistics(*net);
  net->forward(x);
  for (auto& item : net->named_buffers())
    EXPECT_TRUE(torch::equal(item.value(), before.at(item.key()))) << item.key() << " changed";
  net->train();  // control: in train mode the statistics do move
  net->forward(x);
  EXPECT_FALSE(torch::equal(net->named_buffers()["features.0.1.running_mean"],
                            before.at("features.0.1.running_mean")));
}

TEST(TransferExport, RoundTripGivesTheSameTensorsByName) {
  test::TempDir dir;
  torch::manual_seed(2);
  Classifier net = create_model({"resnet18", 64, 1, 2});
  to_channels_last(*net);  // the export must still write plain contiguous tensors
  const std::string path = dir / "resnet18.pt";
  const size_t count = export_state_dict(*net, path);
  const auto original = state_dict(*net);
  EXPECT_EQ(count, original.size());

  const std::string bytes = read_file(path);
  const c10::IValue value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  ASSERT_TRUE(value.isGenericDict());
  const auto dict = value.toGenericDict();
  ASSERT_EQ(dict.size(), original.size());
  for (const auto& [name, tensor] : original) {
    ASSERT_TRUE(dict.contains(name)) << name;
    const torch::Tensor loaded = dict.at(name).toTensor();
    EXPECT_EQ(loaded.scalar_type(), tensor.scalar_type()) << name;
    EXPECT_TRUE(loaded.is_contiguous()) << name;
    EXPECT_TRUE(torch::equal(loaded, tensor)) << name;
  }
  EXPECT_TRUE(dict.contains("bn1.num_batches_tracked"));
  // And our own import reads it back completely.
  const ImportReport report = import_pretrained(*create_model({"resnet18", 64, 1, 2}), path);
  EXPECT_EQ(report.matched.size(), original.size());
}

// Python's torchvision loads the export with strict=True and computes the same
// logits. Tests must not need Python: this runs only when /usr/bin/python3
// imports torch and torchvision (Debian's python3-torch, python3-torchvision),
// and is skipped under CI=true, where python3-torch is not installed.
TEST(TransferExport, TorchvisionResNet18LoadsExportStrictWithSameLogits) {
  if (test::running_under_ci()) GTEST_SKIP() << "CI does not install python3-torch";
  if (std::system("/usr/bin/python3 -c 'import torch, torchvision' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "/usr/bin/python3 with torch and torchvision not available";
  test::TempDir dir;
  torch::manual_seed(5);
  Classifier net = create_model({"resnet18", 64, 1, 2});
  {
    // Non-trivial BatchNorm statistics, so that buffers matter too.
    torch::NoGradGuard no_grad;
    for (auto& item : net->named_buffers()) {
      if (item.key().find("running_mean") != std::string::npos) item.value().uniform_(-0.2, 0.2);
      if (item.key().find("running_var") != std::string::npos) item.value().uniform_(0.5, 2.0);
    }
  }
  net->eval();
  const torch::Tensor x = torch::randn({2, 1, 64, 64});
  torch::Tensor expected;
  {
    torch::NoGradGuard no_grad;
    expected = net->forward(x).flatten();
  }
  export_state_dict(*net, dir / "sd.pt");
  const std::vector<char> input = torch::pickle_save(c10::IValue(x));
  write_file_atomically(dir / "x.pt", std::string(input.begin(), input.end()));
  write_file_atomically(dir / "check.py",
                        "import sys, torch, torchvision\n"
                        "m = torchvision.models.resnet18(num_classes=2)\n"
                        "m.conv1 = torch.nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)\n"
                        "m.load_state_dict(torch.load(sys.argv[1]), strict=True)\n"
                        "m.eval()\n"
                        "with torch.no_grad():\n"
                        "    y = m(torch.load(sys.argv[2]))\n"
                        "print('LOGITS', ' '.join(repr(v) for v in y.flatten().tolist()))\n");
  const std::string command =
      "/usr/bin/python3 " + (dir / "check.py") + " " + (dir / "sd.pt") + " " + (dir / "x.pt");
  const test::CommandResult python = test::run_command(command);
  ASSERT_EQ(python.exit_code, 0) << python.output;
  const std::string& output = python.output;
  const size_t at = output.find("LOGITS ");
  ASSERT_NE(at, std::string::npos) << output;
  std::istringstream numbers(output.substr(at + 7));
  std::vector<double> logits;
  for (double v; numbers >> v;) logits.push_back(v);
  ASSERT_EQ(logits.size(), 4u) << output;
  for (size_t i = 0; i < logits.size(); ++i)
    EXPECT_NEAR(logits[i], expected[i].item<double>(), 1e-4) << "logit " << i << "; python: " << output;
}
