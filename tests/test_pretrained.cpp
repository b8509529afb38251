// Tests of importing the shared ImageNet ResNet-50 (models/pretrained with
// the "resnet50-v1" architecture): v1 stride placement, names and shapes
// against the file, the float16 -> float32 cast, the known top-1 classes of
// the check photos, and `train --norm imagenet` end to end at a toy budget.
// (The MobileNetV2 import and the transfer workflow are in test_transfer.cpp.)
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>

#include <fstream>
#include <map>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "model_file/model_file.h"
#include "models/pretrained.h"
#include "models/registry.h"
#include "models/resnet.h"
#include "test_support.h"

using namespace pneumoscan;

namespace {

// The strides of conv1 and conv2 of the first block of layer2..layer4.
std::vector<std::pair<int64_t, int64_t>> first_block_strides(ClassifierImpl& net) {
  auto* resnet = dynamic_cast<ResNetImpl*>(&net);
  EXPECT_NE(resnet, nullptr);
  std::vector<std::pair<int64_t, int64_t>> strides;
  if (resnet == nullptr) return strides;
  for (torch::nn::Sequential layer : {resnet->layer2, resnet->layer3, resnet->layer4}) {
    auto* block = layer[0]->as<BottleneckImpl>();
    strides.emplace_back(block->conv1->options.stride()[0], block->conv2->options.stride()[0]);
  }
  return strides;
}

void write_state_dict(const std::string& path, const c10::Dict<std::string, at::Tensor>& dict) {
  const std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(dict));
  write_file_atomically(path, std::string(bytes.begin(), bytes.end()));
}

// The README's check preprocessing: RGB, shorter side to 256 (bilinear),
// centre crop 224, x/255, then ImageNet's per-channel mean/std. [1, 3, 224, 224].
torch::Tensor imagenet_check_input(const std::string& path) {
  cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
  if (bgr.empty()) throw std::runtime_error("cannot read " + path);
  cv::Mat rgb, resized;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  const double scale = 256.0 / std::min(rgb.cols, rgb.rows);
  cv::resize(rgb, resized,
             cv::Size(std::max(256, static_cast<int>(std::lround(rgb.cols * scale))),
                      std::max(256, static_cast<int>(std::lround(rgb.rows * scale)))),
             0, 0, cv::INTER_LINEAR);
  cv::Mat crop = resized(cv::Rect((resized.cols - 224) / 2, (resized.rows - 224) / 2, 224, 224)).clone();
  const torch::Tensor x =
      torch::from_blob(crop.data, {1, 224, 224, 3}, torch::kUInt8).permute({0, 3, 1, 2}).to(torch::kFloat32) / 255.0;
  const FixedNormalization imagenet = normalization_preset("imagenet");
  const torch::Tensor mean = torch::tensor(imagenet.mean).view({1, 3, 1, 1});
  const torch::Tensor sd = torch::tensor(imagenet.std).view({1, 3, 1, 1});
  return ((x - mean) / sd).contiguous();
}

// Class i of the 1000 is line i + 1 of imagenet_labels.txt (line 0 is "background").
std::string imagenet_label(const std::string& labels_path, int64_t index) {
  std::ifstream in(labels_path);
  std::string line;
  for (int64_t i = 0; i <= index + 1 && std::getline(in, line); ++i) {
  }
  return line;
}

}  // namespace

TEST(ResNet50V1, StrideSitsOnTheFirst1x1OfLayers2To4) {
  Classifier v1 = create_model({"resnet50-v1", 224, 3, 1000});
  Classifier v15 = create_model({"resnet50", 224, 3, 1000});
  using Strides = std::vector<std::pair<int64_t, int64_t>>;
  EXPECT_EQ(first_block_strides(*v1), (Strides{{2, 1}, {2, 1}, {2, 1}}));
  EXPECT_EQ(first_block_strides(*v15), (Strides{{1, 2}, {1, 2}, {1, 2}}));

  // Intermediate shapes: in v1 conv1 of layer2's first block already halves 56 -> 28.
  auto* resnet = dynamic_cast<ResNetImpl*>(v1.get());
  ASSERT_NE(resnet, nullptr);
  torch::NoGradGuard no_grad;
  v1->eval();
  const torch::Tensor layer1_out = torch::randn({1, 256, 56, 56});
  auto* block = resnet->layer2[0]->as<BottleneckImpl>();
  EXPECT_EQ(block->conv1->forward(layer1_out).sizes(), (std::vector<int64_t>{1, 128, 28, 28}));
  auto* block15 = dynamic_cast<ResNetImpl*>(v15.get())->layer2[0]->as<BottleneckImpl>();
  EXPECT_EQ(block15->conv1->forward(layer1_out).sizes(), (std::vector<int64_t>{1, 128, 56, 56}));
  const torch::Tensor x = torch::randn({1, 3, 224, 224});
  torch::Tensor h = torch::relu(resnet->bn1->forward(resnet->conv1->forward(x)));
  h = torch::max_pool2d(h, 3, 2, 1);
  h = resnet->layer1->forward(h);
  EXPECT_EQ(h.sizes(), (std::vector<int64_t>{1, 256, 56, 56}));
  h = resnet->layer2->forward(h);
  EXPECT_EQ(h.sizes(), (std::vector<int64_t>{1, 512, 28, 28}));
  h = resnet->layer3->forward(h);
  EXPECT_EQ(h.sizes(), (std::vector<int64_t>{1, 1024, 14, 14}));
  EXPECT_EQ(v1->forward_features(x).sizes(), (std::vector<int64_t>{1, 2048, 7, 7}));

  // Same names and shapes as torchvision's ResNet-50: only the architecture
  // name in the model file tells the placements apart.
  const auto a = state_dict(*v1), b = state_dict(*v15);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_EQ(a[i].second.sizes(), b[i].second.sizes()) << a[i].first;
  }
}

TEST(ResNet50V1, ModelFileRebuildsTheV1Placement) {
  test::TempDir dir;
  const std::string path = dir / "v1.psmodel";
  Classifier net = create_model({"resnet50-v1", 64, 1, 2});
  ModelMetadata metadata;
  metadata.spec = {"resnet50-v1", 64, 1, 2};
  metadata.preprocess.input_size = 64;
  save_model(path, metadata, *net);
  EXPECT_EQ(read_model_metadata(path).spec.architecture, "resnet50-v1");
  LoadedModel loaded = load_model(path);
  using Strides = std::vector<std::pair<int64_t, int64_t>>;
  EXPECT_EQ(first_block_strides(*loaded.net), (Strides{{2, 1}, {2, 1}, {2, 1}}));
}

// Any floating type is cast to the network's float32; an integer tensor where
// the network holds real numbers is refused, naming the file and the entry.
TEST(PretrainedImport, CastsFloatingTypesAndRefusesIntegerWeights) {
  test::TempDir dir;
  torch::manual_seed(6);
  Classifier net = create_model({"resnet18", 64, 1, 2});
  c10::Dict<std::string, at::Tensor> dict;
  const torch::Tensor half = torch::randn({64, 1, 7, 7}).to(torch::kHalf);
  const torch::Tensor dbl = torch::randn({64}, torch::kFloat64);
  dict.insert("conv1.weight", half);
  dict.insert("bn1.weight", dbl);
  dict.insert("bn1.num_batches_tracked", torch::tensor(7, torch::kInt64));
  write_state_dict(dir / "mixed.pt", dict);
  const ImportReport report = import_pretrained(*net, dir / "mixed.pt");
  EXPECT_EQ(report.matched.size(), 3u);
  auto params = net->named_parameters();
  EXPECT_EQ(params["conv1.weight"].scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(params["conv1.weight"], half.to(torch::kFloat32)));
  EXPECT_TRUE(torch::allclose(params["bn1.weight"], dbl.to(torch::kFloat32)));
  EXPECT_EQ(net->named_buffers()["bn1.num_batches_tracked"].item<int64_t>(), 7);

  c10::Dict<std::string, at::Tensor> integers;
  integers.insert("conv1.weight", torch::ones({64, 1, 7, 7}, torch::kInt32));
  write_state_dict(dir / "ints.pt", integers);
  try {
    import_pretrained(*net, dir / "ints.pt");
    ADD_FAILURE() << "integer weights imported";
  } catch (const ModelFileError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(dir / "ints.pt" + ": ", 0), 0u) << message;
    EXPECT_NE(message.find("'conv1.weight'"), std::string::npos) << message;
    EXPECT_NE(message.find("Int"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(PretrainedImport, ResNet50FileNamesAndShapesMatchWithFloat16Cast) {
  PNEUMOSCAN_REQUIRE_SHARED(path, "pretrained/resnet50_imagenet.pt");
  const auto file = read_state_dict_file(path);
  std::map<std::string, torch::Tensor> by_name(file.begin(), file.end());
  Classifier net = create_model({"resnet50-v1", 224, 3, 1000});
  const auto entries = state_dict(*net);
  EXPECT_EQ(by_name.size(), entries.size());
  for (const auto& [name, tensor] : entries) {
    auto found = by_name.find(name);
    ASSERT_NE(found, by_name.end()) << "missing in the file: " << name;
    EXPECT_EQ(found->second.sizes(), tensor.sizes()) << name;
  }
  // The file stores convolutions and fc in float16, BatchNorm in float32.
  EXPECT_EQ(by_name.at("conv1.weight").scalar_type(), torch::kHalf);
  EXPECT_EQ(by_name.at("layer4.2.conv3.weight").scalar_type(), torch::kHalf);
  EXPECT_EQ(by_name.at("fc.weight").scalar_type(), torch::kHalf);
  EXPECT_EQ(by_name.at("bn1.running_var").scalar_type(), torch::kFloat32);

  const ImportReport report = import_pretrained(*net, path);
  EXPECT_EQ(report.matched.size(), entries.size()) << format(report);
  EXPECT_TRUE(report.adapted.empty() && report.shape_mismatch.empty() && report.missing_in_file.empty() &&
              report.unused_in_file.empty())
      << format(report);
  auto params = net->named_parameters();
  for (const char* name : {"conv1.weight", "layer2.0.conv1.weight", "fc.weight"}) {
    EXPECT_EQ(params[name].scalar_type(), torch::kFloat32) << name;
    EXPECT_TRUE(torch::equal(params[name], by_name.at(name).to(torch::kFloat32))) << name;
  }
}

// The README's check: Egyptian cat (285) and espresso (967). Under
// torchvision's stride placement the same weights lose most of their
// confidence, so the test also shows that the v1 placement is the one in use.
TEST(PretrainedImport, ResNet50ClassifiesCheckImagesOnlyWithV1Strides) {
  PNEUMOSCAN_REQUIRE_SHARED(weights, "pretrained/resnet50_imagenet.pt");
  PNEUMOSCAN_REQUIRE_SHARED(labels, "pretrained/imagenet_labels.txt");
  PNEUMOSCAN_REQUIRE_SHARED(chelsea, "pretrained/check/chelsea.png");
  PNEUMOSCAN_REQUIRE_SHARED(coffee, "pretrained/check/coffee.png");
  std::map<std::string, Classifier> nets;
  for (const char* arch : {"resnet50-v1", "resnet50"}) {
    nets[arch] = create_model({arch, 224, 3, 1000});
    import_pretrained(*nets[arch], weights);
    nets[arch]->eval();
  }
  torch::NoGradGuard no_grad;
  struct Check {
    std::string path, label;
    int64_t index;
    double p_min;
  };
  for (const Check& check :
       {Check{chelsea, "Egyptian cat", 285, 0.6}, Check{coffee, "espresso", 967, 0.9}}) {
    const torch::Tensor x = imagenet_check_input(check.path);
    const torch::Tensor p = torch::softmax(nets["resnet50-v1"]->forward(x), 1)[0];
    const int64_t top1 = p.argmax().item<int64_t>();
    const double p_top1 = p[top1].item<double>();
    const double p_v15 = torch::softmax(nets["resnet50"]->forward(x), 1)[0][check.index].item<double>();
    std::cout << "[          ] " << check.path << ": top-1 " << top1 << " '" << imagenet_label(labels, top1)
              << "' p=" << p_top1 << " (torchvision strides: p=" << p_v15 << ")\n";
    EXPECT_EQ(top1, check.index) << check.path;
    EXPECT_NE(imagenet_label(labels, top1).find(check.label), std::string::npos) << imagenet_label(labels, top1);
    EXPECT_GT(p_top1, check.p_min) << check.path;
    EXPECT_LT(p_v15, p_top1 - 0.2) << check.path;
  }
}

// train --arch resnet50-v1 --pretrained --norm imagenet: one step at 64 px,
// the model file records the architecture and the per-channel normalisation
// (format 2), and predict runs on it.
TEST(PretrainedCli, TrainResNet50V1WithImageNetNormThenPredict) {
  PNEUMOSCAN_REQUIRE_SHARED(weights, "pretrained/resnet50_imagenet.pt");
  PNEUMOSCAN_REQUIRE_SHARED(data, "data/chest_xray");
  PNEUMOSCAN_REQUIRE_SHARED(xray, "data/chest_xray/val/PNEUMONIA/person1946_bacteria_4874.jpeg");
  test::TempDir dir;
  const std::string model = dir / "r50.psmodel";
  const std::string common = "train --arch resnet50-v1 --pretrained " + weights + " --data " + data + " --val " +
                             data + " --limit 8 --batch-size 8 --epochs 1 --image-size 64 --no-progress --out ";
  const test::CommandResult refused = test::run_cli(common + model + " --norm imagenet --channels 1");
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("need 3 input channels"), std::string::npos) << refused.output;

  const test::CommandResult train = test::run_cli(common + model + " --norm imagenet");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  EXPECT_NE(train.output.find("2 shape mismatch"), std::string::npos) << train.output;  // fc: 1000 -> 2 classes

  const ModelMetadata metadata = read_model_metadata(model);
  EXPECT_EQ(metadata.spec.architecture, "resnet50-v1");
  EXPECT_EQ(metadata.spec.in_channels, 3);
  EXPECT_EQ(metadata.preprocess.normalization, Normalization::kFixed);
  EXPECT_EQ(metadata.preprocess.mean, (std::vector<float>{0.485f, 0.456f, 0.406f}));
  EXPECT_EQ(metadata.preprocess.std, (std::vector<float>{0.229f, 0.224f, 0.225f}));
  EXPECT_EQ(metadata.format_version, 2);
  LoadedModel loaded = load_model(model);
  using Strides = std::vector<std::pair<int64_t, int64_t>>;
  EXPECT_EQ(first_block_strides(*loaded.net), (Strides{{2, 1}, {2, 1}, {2, 1}}));

  const test::CommandResult predict = test::run_cli("predict --model " + model + " " + xray);
  EXPECT_EQ(predict.exit_code, 0) << predict.output;
  EXPECT_NE(predict.output.find("person1946_bacteria_4874.jpeg\t"), std::string::npos) << predict.output;
}
