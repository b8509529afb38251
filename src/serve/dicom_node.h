#pragma once
// A DICOM node (Storage SCP) that triages chest X-rays as they arrive:
// C-ECHO, and C-STORE of CR / DX (for presentation and for processing)
// images, and of Secondary Captures of radiographs (Modality CR/DX, as in the
// RSNA challenge data), in the common transfer syntaxes. Each image is classified with a
// PneumoScan model; the verdict goes to OUT/results.jsonl (one JSON line per
// received object, no patient names or IDs), to the triage worklist
// (serve/worklist.h), and to two result objects in the source's study, a
// Secondary Capture OUT/<source SOP Instance UID>.sc.dcm and a Basic Text
// Structured Report OUT/<uid>.sr.dcm (serve/dicom_sr.h), which are optionally
// forwarded to another node by C-STORE. Every image goes through the one case
// analysis (case/case_analyzer.h): one the input gate refuses gets result
// objects saying why instead of a diagnosis.
//
// Objects of other storage SOP classes are accepted at negotiation but
// refused per object with C-STORE status 0x0122 (SOP class not supported), so
// that each one is reported with its UIDs; undecodable pixel data gets 0xC000.
// None of these stops the node.
//
// One association at a time; an image is analysed before its C-STORE response
// is sent (so the status is meaningful), forwarding happens after it.
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/precision.h"

namespace pneumoscan {

class Worklist;

// A remote DICOM application entity.
struct DicomPeer {
  std::string host;
  int port = 104;
  std::string ae_title;
};

// Parses "HOST:PORT:AET"; throws UsageError for anything else.
DicomPeer parse_dicom_peer(const std::string& spec);

struct DicomNodeOptions {
  std::string model_path;                     // "" = default_model_path()
  Precision precision = Precision::kFloat32;  // of inference (core/precision.h)
  std::string ae_title = "PNEUMOSCAN";
  int port = 11112;
  std::string out_dir = "dicom-node-out";
  std::optional<DicomPeer> forward;  // where result objects are sent on, if anywhere
  bool gradcam = true;               // Grad-CAM overlay in the result picture
  // Where every analysed study is appended (serve/worklist.h), with the case
  // view's pictures OUT/<uid>.xray.jpg and .overlay.jpg; nullptr = OUT/worklist.db.
  std::shared_ptr<Worklist> worklist;
  // Receives one line per event (startup, each object, forward outcome, refusals).
  // Default: a UTC timestamp + the line on stderr. Never given patient names or IDs.
  std::function<void(const std::string&)> log;
};

class DicomNode {
 public:
  // Loads the model and creates the output folder. Throws UsageError /
  // ModelFileError / IoError.
  explicit DicomNode(DicomNodeOptions options);
  ~DicomNode();
  DicomNode(const DicomNode&) = delete;
  DicomNode& operator=(const DicomNode&) = delete;

  // Opens the port and serves associations until stop(); returns after the
  // association in progress has finished. Throws IoError when the port cannot
  // be opened or the network layer fails.
  void run();

  // Asks run() to return; async-signal-safe (only sets an atomic flag). The
  // listen loop checks it at least once a second.
  void stop() noexcept;

  struct Impl;  // opaque; named here so that the SCP in dicom_node.cpp can reach it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace pneumoscan
