// libFuzzer target: what the DICOM node does with a dataset a stranger sent
// by C-STORE, short of running the network: DCMTK parses the bytes as a
// dataset in the transfer syntax the first byte picks (the node receives
// datasets without a Part 10 header), then the node's path runs on it:
// decode the pixels, the input gate's DICOM-attribute and pixel checks, the
// Secondary Capture and the Structured Report that copy the source's patient
// and study modules, each written to a memory buffer. The diagnosis itself is
// a fixed one (the network's output is not what a stranger controls).
#include <dcmtk/config/osconfig.h>  // must come first among DCMTK headers
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcostrmb.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "case/case_analyzer.h"
#include "case/gate.h"
#include "core/errors.h"
#include "image/dicom_dataset.h"
#include "image/image.h"
#include "node_transfer_syntaxes.h"
#include "serve/dicom_result.h"
#include "serve/dicom_sr.h"

namespace {

void write_to_memory(DcmFileFormat& file) {
  std::vector<char> buffer(1u << 20);
  DcmOutputBufferStream out(buffer.data(), buffer.size());
  file.transferInit();
  (void)file.write(out, EXS_LittleEndianExplicit, EET_ExplicitLength, nullptr);
  file.transferEnd();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  DcmDataset dataset;
  DcmInputBufferStream in;
  in.setBuffer(data + 1, static_cast<offile_off_t>(size - 1));
  in.setEos();
  dataset.transferInit();
  const OFCondition read =
      dataset.read(in, pneumoscan::fuzz::node_transfer_syntax(data[0]), EGL_noChange, 1u << 20);
  dataset.transferEnd();
  if (read.bad()) return 0;  // the node answers a dataset DCMTK cannot parse at the network layer
  try {
    const pneumoscan::Image image = pneumoscan::decode_dicom_dataset(dataset, "SOP instance fuzz");
    pneumoscan::CaseResult result;
    result.name = "SOP instance fuzz";
    pneumoscan::Population population;
    population.age_years = std::make_pair(1, 5);
    population.modalities = {"CR", "DX"};
    population.views = {"AP", "PA"};
    population.body_parts = {"CHEST"};
    pneumoscan::check_dicom_attributes(image, population, result.gate);
    pneumoscan::check_pixels(image, result.gate);
    pneumoscan::TriageVerdict verdict;
    verdict.model_name = "fuzz";
    if (result.refused()) {
      verdict.refusal = result.gate.summary();
    } else {
      pneumoscan::Prediction prediction;
      prediction.probability = 0.75;
      prediction.label = "PNEUMONIA";
      result.prediction = prediction;
      verdict.probability = 0.75;
      verdict.label = "PNEUMONIA";
    }
    auto capture = pneumoscan::make_secondary_capture(
        dataset, pneumoscan::render_verdict_picture(image, cv::Mat(), verdict), verdict);
    write_to_memory(*capture);
    auto report = pneumoscan::make_structured_report(dataset, result);
    write_to_memory(*report);
  } catch (const pneumoscan::Error&) {
  }
  return 0;
}
