// Writes seed inputs that ../shared does not hold, for scripts/fuzz.sh:
//   fuzz_seeds DIR [DICOM...]  ->  DIR/model_file/tiny.psmodel and
//   small_archive.psmodel (the model file layout around a 2-weight module:
//   refused at the architecture check, but its zip and pickle are mutated at
//   hundreds of executions per second, not the 2.2 MB seed's 30),
//   DIR/state_dict/small.pt (a few tensors as torch.save writes them),
//   DIR/checkpoint/small.ckpt (checkpoint_parts.h),
//   DIR/model_metadata/{weights,no_weights,ood,ensemble,mixed_ensemble}.seed (its metadata
//   text, a 2-member ensemble's and one whose members differ, behind
//   fuzz_model_metadata's layout byte),
//   DIR/case_index/{flat,hnsw}.psindex, DIR/worklist/worklist.db,
//   DIR/tensorboard/events.out.tfevents.*, DIR/dicom_node/<name> (each DICOM
//   file's dataset as the node receives it: its transfer syntax's selector
//   byte, then the dataset without its Part 10 header), and for each JPEG or
//   PNG given, DIR/image/small-<name>.{jpeg,png,bmp,tiff} (the X-ray shrunk
//   to 96 px: the same formats' structure, decoded a hundred times faster),
//   and from the first JPEG given, DIR/{image,dicom}/small-*.dcm and
//   DIR/dicom_node/small-* (a 64 px X-ray in a new dataset without
//   identifiers, 8- and 12-bit, in each transfer syntax the node accepts: the
//   full-size DICOMs of ../shared decode at a few per second under ASan)
// (a small untrained network, indexes over random unit vectors, a made-up
// worklist and training log: the fuzzers need the formats' structure, not
// meaningful contents).
#include <dcmtk/config/osconfig.h>  // must come first among DCMTK headers
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcostrmb.h>
#include <dcmtk/dcmdata/dcrleerg.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmjpeg/djencode.h>
#include <dcmtk/dcmjpls/djencode.h>
#include <dcmtk/oflog/oflog.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <tuple>

#include "checkpoint_parts.h"
#include "core/atomic_file.h"
#include "image/image.h"
#include "model_file/archive.h"
#include "model_file/model_file.h"
#include "monitor/event_writer.h"
#include "node_transfer_syntaxes.h"
#include "search/case_index.h"
#include "serve/worklist.h"
#include "train/checkpoint.h"

namespace {

void write_worklist(const std::filesystem::path& path) {
  pneumoscan::Worklist worklist(path.string());
  for (int i = 0; i < 4; ++i) {
    pneumoscan::WorklistEntry entry;
    entry.received_at = "2026-12-02T10:0" + std::to_string(i) + ":00Z";
    entry.study_instance_uid = "1.2.3." + std::to_string(i);
    entry.sop_instance_uid = "1.2.3." + std::to_string(i) + ".1";
    entry.status = i == 3 ? "refused" : "diagnosed";
    if (i < 3) {
      entry.probability = 0.3 * i;
      entry.label = i == 2 ? "PNEUMONIA" : "NORMAL";
      entry.low = 0.25 * i;
      entry.high = 0.35 * i;
      entry.uncertain = i == 1;
    }
    entry.gate_status = i == 3 ? "refuse" : "ok";
    if (i == 3) entry.gate_reasons = {"patient age 47 years is outside the model's population"};
    entry.xray_image = "x.jpg";
    entry.result = {{"status", "0000"}, {"probability", 0.3 * i}};
    worklist.add(entry);
  }
}

void write_training_log(const std::filesystem::path& dir) {
  pneumoscan::EventWriter writer(dir.string());
  const float values[] = {0.1f, 0.5f, -0.2f, 2.0f};
  for (int step = 1; step <= 3; ++step) {
    writer.add_scalar("train/loss", 1.0 / step, step);
    writer.add_scalar("val/roc_auc", 0.8 + 0.05 * step, step);
  }
  writer.add_histogram("weights/conv1", values, 4, 3);
  writer.add_text("config", "arch: small-cnn", 3);
  // A 4x4 gray PNG.
  std::vector<uchar> png;
  cv::imencode(".png", cv::Mat(4, 4, CV_8UC1, cv::Scalar(128)), png);
  writer.add_image("val/gradcam", std::string(png.begin(), png.end()), 4, 4, 1, 3);
  writer.flush();
}

// The dataset alone in its own transfer syntax, after that syntax's selector
// byte (fuzz_dicom_node.cpp); false for a syntax the node does not accept.
bool write_node_dataset(const std::string& dicom, const std::filesystem::path& out) {
  DcmFileFormat file;
  if (file.loadFile(dicom.c_str()).bad()) return false;
  DcmDataset* dataset = file.getDataset();
  const E_TransferSyntax xfer = dataset->getOriginalXfer();
  size_t selector = 0;
  while (selector < pneumoscan::fuzz::kNodeTransferSyntaxCount &&
         pneumoscan::fuzz::kNodeTransferSyntaxes[selector] != xfer)
    ++selector;
  if (selector == pneumoscan::fuzz::kNodeTransferSyntaxCount) return false;
  std::vector<char> buffer(64u << 20);
  DcmOutputBufferStream stream(buffer.data(), buffer.size());
  dataset->transferInit();
  const bool ok = dataset->write(stream, xfer, EET_ExplicitLength, nullptr).good();
  dataset->transferEnd();
  stream.flush();  // the deflated syntax's compression filter holds the tail
  if (!ok) return false;
  void* bytes = nullptr;
  offile_off_t length = 0;
  stream.flushBuffer(bytes, length);
  if (length <= 0) return false;
  std::ofstream(out, std::ios::binary)
      .put(static_cast<char>(selector))
      .write(static_cast<const char*>(bytes), length);
  return true;
}

// The X-ray as 8-bit gray, shrunk to `side` px on its longer side; empty when unreadable.
cv::Mat read_shrunk(const std::filesystem::path& source, int side) {
  const cv::Mat image = cv::imread(source.string(), cv::IMREAD_GRAYSCALE);
  return image.empty() ? image : pneumoscan::shrink_to_fit(image, side);
}

// The X-ray shrunk to 96 px on its longer side, in each format the decoders take.
void write_small_images(const std::filesystem::path& source, const std::filesystem::path& dir) {
  const cv::Mat small = read_shrunk(source, 96);
  if (small.empty()) return;
  const std::string stem = (dir / ("small-" + source.stem().string())).string();
  cv::imwrite(stem + ".jpeg", small);
  cv::imwrite(stem + ".progressive.jpeg", small, {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
  cv::imwrite(stem + ".png", small);
  cv::Mat wide;
  small.convertTo(wide, CV_16U, 257);
  cv::imwrite(stem + ".16bit.png", wide);
  cv::imwrite(stem + ".bmp", small);
  cv::imwrite(stem + ".tiff", small);
}

// A 64 px X-ray (gray8) as a Part 10 file in `xfer` with `bits` stored bits
// (8, or 12 in 16 allocated); false where DCMTK cannot encode that pairing
// (JPEG baseline takes 8 bits only).
bool write_small_dicom(const cv::Mat& gray8, int bits, E_TransferSyntax xfer,
                       const std::filesystem::path& out) {
  DcmFileFormat file;
  DcmDataset* dataset = file.getDataset();
  // Fixed UIDs and no patient attributes: reproducible seeds, nothing personal.
  dataset->putAndInsertString(DCM_SOPClassUID, UID_SecondaryCaptureImageStorage);
  dataset->putAndInsertString(DCM_SOPInstanceUID, "1.2.826.0.1.3680043.9.7777.1.1");
  dataset->putAndInsertString(DCM_StudyInstanceUID, "1.2.826.0.1.3680043.9.7777.1");
  dataset->putAndInsertString(DCM_SeriesInstanceUID, "1.2.826.0.1.3680043.9.7777.1.0");
  dataset->putAndInsertString(DCM_Modality, "CR");
  dataset->putAndInsertString(DCM_BodyPartExamined, "CHEST");
  dataset->putAndInsertString(DCM_ViewPosition, "PA");
  dataset->putAndInsertString(DCM_PatientAge, "005Y");
  dataset->putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
  dataset->putAndInsertUint16(DCM_SamplesPerPixel, 1);
  dataset->putAndInsertUint16(DCM_Rows, static_cast<Uint16>(gray8.rows));
  dataset->putAndInsertUint16(DCM_Columns, static_cast<Uint16>(gray8.cols));
  dataset->putAndInsertUint16(DCM_BitsAllocated, bits == 8 ? 8 : 16);
  dataset->putAndInsertUint16(DCM_BitsStored, static_cast<Uint16>(bits));
  dataset->putAndInsertUint16(DCM_HighBit, static_cast<Uint16>(bits - 1));
  dataset->putAndInsertUint16(DCM_PixelRepresentation, 0);
  const cv::Mat pixels = gray8.isContinuous() ? gray8 : gray8.clone();
  if (bits == 8) {
    dataset->putAndInsertUint8Array(DCM_PixelData, pixels.ptr<Uint8>(), pixels.total());
  } else {
    cv::Mat wide;
    pixels.convertTo(wide, CV_16U, ((1 << bits) - 1) / 255.0);
    dataset->putAndInsertUint16Array(DCM_PixelData, wide.ptr<Uint16>(), wide.total());
    dataset->putAndInsertString(DCM_WindowCenter, "2048");
    dataset->putAndInsertString(DCM_WindowWidth, "4096");
  }
  if (DcmXfer(xfer).isEncapsulated() &&
      (dataset->chooseRepresentation(xfer, nullptr).bad() || !dataset->canWriteXfer(xfer)))
    return false;
  return file.saveFile(out.string().c_str(), xfer).good();
}

// The small DICOM seeds, from one X-ray: Part 10 files for the image and
// dicom targets, the node's selector-prefixed datasets for dicom_node.
void write_small_dicoms(const std::filesystem::path& source, const std::filesystem::path& dir) {
  const cv::Mat small = read_shrunk(source, 64);
  if (small.empty()) return;
  OFLog::configure(OFLogger::WARN_LOG_LEVEL);  // the encoders' notes are not news
  DJEncoderRegistration::registerCodecs();
  DJLSEncoderRegistration::registerCodecs();
  DcmRLEEncoderRegistration::registerCodecs();
  std::filesystem::create_directories(dir / "dicom");
  for (size_t selector = 0; selector < pneumoscan::fuzz::kNodeTransferSyntaxCount; ++selector) {
    for (const int bits : {8, 12}) {
      const std::string name = "small-" + std::to_string(bits) + "bit-" + std::to_string(selector) + ".dcm";
      const std::filesystem::path file = dir / "image" / name;
      if (!write_small_dicom(small, bits, pneumoscan::fuzz::kNodeTransferSyntaxes[selector], file)) {
        std::filesystem::remove(file);
        continue;
      }
      std::filesystem::copy_file(file, dir / "dicom" / name,
                                 std::filesystem::copy_options::overwrite_existing);
      write_node_dataset(file.string(), dir / "dicom_node" / name);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pneumoscan;
  if (argc < 2) {
    std::fprintf(stderr, "usage: fuzz_seeds DIR [DICOM...]\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir / "model_file");
  std::filesystem::create_directories(dir / "case_index");
  torch::manual_seed(1);
  ModelMetadata metadata;
  metadata.name = "fuzz-seed";
  metadata.spec = {"small-cnn", 32, 1, 1};
  metadata.preprocess.input_size = 32;
  Classifier net = create_model(metadata.spec);
  const std::string tiny_model = (dir / "model_file" / "tiny.psmodel").string();
  save_model(tiny_model, metadata, *net);
  std::filesystem::create_directories(dir / "model_metadata");
  const std::string metadata_text = read_network_metadata(tiny_model);
  torch::nn::Linear two_weights(2, 1);
  write_network_archive((dir / "model_file" / "small_archive.psmodel").string(), metadata_text, *two_weights);
  std::filesystem::create_directories(dir / "state_dict");
  c10::Dict<std::string, torch::Tensor> state;
  state.insert("features.0.weight", torch::randn({4, 1, 3, 3}));
  state.insert("features.1.running_mean", torch::zeros({4}));
  state.insert("features.1.num_batches_tracked", torch::tensor(int64_t{3}));
  const std::vector<char> state_bytes = torch::pickle_save(c10::IValue(state));
  write_file_atomically((dir / "state_dict" / "small.pt").string(),
                        std::string(state_bytes.begin(), state_bytes.end()));
  // A checkpoint after two Adam steps (fuzz_checkpoint reads it back).
  std::filesystem::create_directories(dir / "checkpoint");
  fuzz::SmallCheckpoint checkpoint;
  checkpoint.step();
  checkpoint.step();
  checkpoint.best = snapshot(*checkpoint.first);
  const std::string checkpoint_file = (dir / "checkpoint" / "small.ckpt").string();
  save_parts(checkpoint_file, {{"settings", checkpoint.settings}}, checkpoint.parts());
  fuzz::SmallCheckpoint resumed;  // a seed the reader refuses would keep the fuzzer at its door
  (void)load_parts(checkpoint_file, resumed.settings, resumed.parts());
  // An ensemble's metadata too: a 64-member ResNet-50 claimed without weights
  // once made load_model build all 64 before refusing the file.
  nlohmann::json ensemble = nlohmann::json::parse(metadata_text);
  ensemble["ensemble_size"] = 2;
  // And one whose members differ (format 4): each described, the second fed
  // through an input adapter from the first's fixed normalisation.
  ModelMetadata mixed = metadata;
  mixed.preprocess.normalization = Normalization::kFixed;
  mixed.preprocess.mean = {0.5f};
  mixed.preprocess.std = {0.5f};
  mixed.ensemble_size = 2;
  EnsembleMember rgb{{"small-cnn", 32, 3, 1}, mixed.preprocess};
  rgb.preprocess.channels = 3;
  rgb.preprocess.mean = {0.485f, 0.456f, 0.406f};
  rgb.preprocess.std = {0.229f, 0.224f, 0.225f};
  mixed.members = {{mixed.spec, mixed.preprocess}, rgb};
  mixed.checksum_algorithm = "fnv1a64";
  (void)metadata_from_json(to_json(mixed), "the mixed-ensemble seed");  // a refused seed would stop at the door
  for (const auto& [name, layout, text] :
       {std::tuple<const char*, char, std::string>{"weights", 1, metadata_text},
        {"no_weights", 0, metadata_text},
        {"ood", 3, metadata_text},
        {"ensemble", 1, ensemble.dump()},
        {"mixed_ensemble", 1, to_json(mixed).dump()}})
    write_file_atomically((dir / "model_metadata" / (std::string(name) + ".seed")).string(),
                          std::string(1, layout) + text);

  const torch::Tensor embeddings = torch::nn::functional::normalize(
      torch::randn({12, 8}), torch::nn::functional::NormalizeFuncOptions().dim(1));
  std::vector<IndexedCase> cases;
  for (int i = 0; i < 12; ++i)
    cases.push_back({"case" + std::to_string(i) + ".png", i % 2, "p" + std::to_string(i / 2)});
  const ModelIdentity model{"0123456789abcdef", "fuzz-seed", "small-cnn"};
  CaseIndex(embeddings, cases, IndexKind::kFlat, model).save((dir / "case_index" / "flat.psindex").string());
  CaseIndex(embeddings, cases, IndexKind::kHnsw, model).save((dir / "case_index" / "hnsw.psindex").string());

  std::filesystem::create_directories(dir / "worklist");
  std::filesystem::remove(dir / "worklist" / "worklist.db");
  write_worklist(dir / "worklist" / "worklist.db");
  write_training_log(dir / "tensorboard");
  std::filesystem::create_directories(dir / "dicom_node");
  std::filesystem::create_directories(dir / "image");
  bool small_dicoms = false;
  for (int i = 2; i < argc; ++i) {
    const std::filesystem::path source = argv[i];
    if (source.extension() != ".dcm") {
      write_small_images(source, dir / "image");
      if (!small_dicoms) write_small_dicoms(source, dir);
      small_dicoms = true;
      continue;
    }
    if (!write_node_dataset(source.string(), dir / "dicom_node" / source.filename()))
      std::fprintf(stderr, "fuzz_seeds: %s: not a DICOM file DCMTK can rewrite; skipped\n", argv[i]);
  }
  return 0;
}
