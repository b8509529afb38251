#include "serve/dicom_node.h"

#include <dcmtk/config/osconfig.h>  // must come first among DCMTK headers
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmnet/diutil.h>
#include <dcmtk/dcmnet/scp.h>
#include <dcmtk/dcmnet/scu.h>
#include <dcmtk/oflog/oflog.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <optional>
#include <vector>

#include "case/case_analyzer.h"
#include "case/gate.h"
#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/json_text.h"
#include "core/text.h"
#include "core/timing.h"
#include "explain/heatmap.h"
#include "explain/overlay.h"
#include "image/dicom_dataset.h"
#include "image/encode.h"
#include "infer/predictor.h"
#include "serve/dicom_result.h"
#include "serve/dicom_sr.h"
#include "serve/worklist.h"

namespace pneumoscan {
namespace fs = std::filesystem;
namespace {

const char* const kXraySopClasses[] = {UID_ComputedRadiographyImageStorage,
                                       UID_DigitalXRayImageStorageForPresentation,
                                       UID_DigitalXRayImageStorageForProcessing};

// Preferred first when an SCU offers several in one presentation context.
const char* const kTransferSyntaxes[] = {
    UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax,
    UID_BigEndianExplicitTransferSyntax,    UID_DeflatedExplicitVRLittleEndianTransferSyntax,
    UID_JPEGProcess1TransferSyntax,         UID_JPEGProcess2_4TransferSyntax,
    UID_JPEGProcess14TransferSyntax,        UID_JPEGProcess14SV1TransferSyntax,
    UID_JPEGLSLosslessTransferSyntax,       UID_JPEGLSLossyTransferSyntax,
    UID_RLELosslessTransferSyntax};

std::string get(DcmItem& item, const DcmTagKey& key) {
  OFString value;
  return item.findAndGetOFString(key, value).good() ? value.c_str() : "";
}

std::string sop_class_name(const std::string& uid) { return dcmFindNameOfUID(uid.c_str(), uid.c_str()); }

std::string to_jpeg(const cv::Mat& image, const std::string& name) {
  const std::vector<uint8_t> bytes = encode_image(image, ".jpg", name, {cv::IMWRITE_JPEG_QUALITY, 90});
  return std::string(bytes.begin(), bytes.end());
}

bool is_xray_modality(const std::string& modality) {
  const std::vector<std::string>& xray = default_xray_modalities();  // the input gate's list
  return std::find(xray.begin(), xray.end(), modality) != xray.end();
}

// "" when objects of this SOP class (and Modality) are triaged, else why not.
// Secondary Capture is taken when it holds a radiograph (Modality CR/DX):
// that is how the RSNA Pneumonia Detection Challenge distributes its X-rays.
// Our own result objects (Modality OT) are refused, so no forwarding loop.
std::string sop_class_refusal(const std::string& sop_class, const std::string& modality) {
  for (const char* xray : kXraySopClasses)
    if (sop_class == xray) return "";
  if (sop_class == UID_SecondaryCaptureImageStorage && is_xray_modality(modality)) return "";
  std::string refusal = "SOP class " + sop_class_name(sop_class);
  if (sop_class == UID_SecondaryCaptureImageStorage)
    refusal += " with Modality " + (modality.empty() ? std::string("(none)") : modality);
  return refusal + " is not a chest X-ray (accepted: CR, DX, and Secondary Capture of a CR/DX radiograph)";
}

// A UID as the standard defines it (digits and dots, at most 64 characters).
// The SOP Instance UID names the result file, so nothing else may pass.
bool is_valid_uid(const std::string& uid) {
  if (uid.empty() || uid.size() > 64) return false;
  for (char c : uid)
    if ((c < '0' || c > '9') && c != '.') return false;
  return true;
}

void default_log(const std::string& line) {
  std::cerr << utc_now(UtcFormat::kIsoMillis) << " " << line << std::endl;
}

}  // namespace

DicomPeer parse_dicom_peer(const std::string& spec) {
  const auto first = spec.find(':');
  const auto last = spec.rfind(':');
  const std::string usage = "expected HOST:PORT:AET for a DICOM peer, got '" + spec + "'";
  if (first == std::string::npos || first == last) throw UsageError(usage);
  DicomPeer peer;
  peer.host = spec.substr(0, first);
  const std::string port = spec.substr(first + 1, last - first - 1);
  peer.ae_title = spec.substr(last + 1);
  if (peer.host.empty() || port.empty() || port.size() > 5 || peer.ae_title.empty() ||
      peer.ae_title.size() > 16)
    throw UsageError(usage);
  for (char c : port)
    if (c < '0' || c > '9') throw UsageError(usage);
  peer.port = std::stoi(port);
  if (peer.port < 1 || peer.port > 65535) throw UsageError(usage);
  return peer;
}

// What happened to one received object.
struct StoreOutcome {
  Uint16 status = STATUS_Success;
  nlohmann::json record;                  // the results.jsonl line
  std::unique_ptr<DcmFileFormat> result;  // the Secondary Capture, when analysed
  std::unique_ptr<DcmFileFormat> report;  // the Structured Report, when analysed
  std::optional<CaseResult> analysed;     // for the worklist
  std::string summary;                    // the log line
};

CaseAnalyzerOptions analyzer_options(const DicomNodeOptions& options) {
  CaseAnalyzerOptions analyzer;
  analyzer.model_path = options.model_path;
  analyzer.precision = options.precision;
  return analyzer;
}

struct DicomNode::Impl {
  DicomNodeOptions options;
  CaseAnalyzer analyzer;
  std::string results_path;
  std::atomic<bool> stop_requested{false};

  explicit Impl(DicomNodeOptions opts) : options(std::move(opts)), analyzer(analyzer_options(options)) {
    if (!options.log) options.log = default_log;
    std::error_code ec;
    fs::create_directories(options.out_dir, ec);
    if (ec || !fs::is_directory(options.out_dir))
      throw IoError(options.out_dir, "cannot create output folder");
    results_path = (fs::path(options.out_dir) / "results.jsonl").string();
    if (!options.worklist)
      options.worklist = std::make_shared<Worklist>((fs::path(options.out_dir) / "worklist.db").string());
  }

  StoreOutcome analyse(DcmDataset& dataset, const std::string& sop_class, const std::string& sop_instance,
                       const std::string& calling_ae, const std::string& received_at);
  void append_record(const nlohmann::json& record);
  void add_to_worklist(const StoreOutcome& outcome);
  std::string forward(const std::vector<DcmFileFormat*>& objects);
};

StoreOutcome DicomNode::Impl::analyse(DcmDataset& dataset, const std::string& sop_class,
                                      const std::string& sop_instance, const std::string& calling_ae,
                                      const std::string& received_at) {
  StoreOutcome outcome;
  nlohmann::json& record = outcome.record;
  record["received_at"] = received_at;
  record["calling_ae"] = calling_ae;
  record["sop_class_uid"] = sop_class;
  record["sop_instance_uid"] = sop_instance;
  record["study_instance_uid"] = get(dataset, DCM_StudyInstanceUID);
  record["series_instance_uid"] = get(dataset, DCM_SeriesInstanceUID);
  const bool valid_uid = is_valid_uid(sop_instance);
  const std::string what =
      "SOP instance " + (valid_uid ? sop_instance : "(invalid UID)") + " from " + calling_ae;
  auto fail = [&](Uint16 status, const std::string& error) {
    outcome.status = status;
    record["error"] = error;
    char code[8];
    std::snprintf(code, sizeof code, "%04X", status);
    record["status"] = code;
    outcome.summary = "refused " + what + ": " + error + " (C-STORE status " + code + ")";
    return std::move(outcome);
  };

  if (!valid_uid) return fail(STATUS_STORE_Error_CannotUnderstand, "invalid SOP Instance UID in the request");
  if (const std::string refusal = sop_class_refusal(sop_class, get(dataset, DCM_Modality)); !refusal.empty())
    return fail(STATUS_STORE_Refused_SOPClassNotSupported, refusal);
  try {
    const Stopwatch stopwatch;
    const Image image = decode_dicom_dataset(dataset, "SOP instance " + sop_instance);
    CaseRequest request;
    request.name = "SOP instance " + sop_instance;
    // The map always shows the evidence for the predicted class.
    if (options.gradcam) request.explain = ExplainMethod::kGradCam;
    const CaseResult result = analyzer.analyse(image, request);
    const double analysis_ms = stopwatch.milliseconds();

    TriageVerdict verdict;
    verdict.model_name = result.provenance.model_name;
    if (result.prediction) {
      verdict.probability = result.prediction->probability;
      verdict.label = result.prediction->label;
      verdict.threshold = result.prediction->threshold;
      verdict.explanation = result.heatmap ? "gradcam" : "";
      std::string caveat = result.gate.status == GateStatus::kWarn ? result.gate.summary() : "";
      if (result.uncertainty && result.uncertainty->uncertain)
        caveat += std::string(caveat.empty() ? "" : "; ") + "uncertain (the " + result.uncertainty->method +
                  " interval straddles the threshold)";
      verdict.caveat = caveat;
    } else {
      verdict.refusal = result.gate.summary();
    }
    outcome.result = make_secondary_capture(
        dataset, render_verdict_picture(image, result.heatmap ? result.heatmap->map : cv::Mat(), verdict),
        verdict);
    const std::string result_path = (fs::path(options.out_dir) / (sop_instance + ".sc.dcm")).string();
    save_dicom_file(*outcome.result, result_path);
    outcome.report = make_structured_report(dataset, result);
    // The case view's pictures: the X-ray and, beside it, the overlay.
    const fs::path stem = fs::path(options.out_dir) / sop_instance;
    write_file_atomically(stem.string() + ".xray.jpg", to_jpeg(to_u8(image), stem.string() + ".xray.jpg"));
    record["xray_image"] = stem.string() + ".xray.jpg";
    if (result.heatmap) {
      write_file_atomically(stem.string() + ".overlay.jpg",
                            to_jpeg(overlay(image, result.heatmap->map), stem.string() + ".overlay.jpg"));
      record["overlay_image"] = stem.string() + ".overlay.jpg";
    }
    const std::string report_path = (fs::path(options.out_dir) / (sop_instance + ".sr.dcm")).string();
    save_dicom_file(*outcome.report, report_path);

    // The case result's own JSON, without the file name (the UIDs say which object it is).
    nlohmann::json analysed = to_json(result);
    analysed.erase("file");
    record.update(analysed);
    record["model"] = verdict.model_name;
    record["analysis_ms"] = analysis_ms;
    record["result_file"] = result_path;
    record["result_sop_instance_uid"] = get(*outcome.result->getDataset(), DCM_SOPInstanceUID);
    record["report_file"] = report_path;
    record["report_sop_instance_uid"] = get(*outcome.report->getDataset(), DCM_SOPInstanceUID);
    outcome.analysed = result;
    const std::string line =
        result.prediction
            ? format_string(": P(pneumonia)=%.4f %s in %.0f ms -> ", result.prediction->probability,
                            result.prediction->label.c_str(), analysis_ms)
            : ": refused by the input check (" + result.gate.summary() + ") -> ";
    outcome.summary = "analysed " + what + line + result_path;
    return outcome;
  } catch (const InputError& e) {
    return fail(STATUS_STORE_Error_CannotUnderstand, e.what());
  } catch (const std::exception& e) {
    // Our side failed (disk full, ...): the sender may retry later.
    return fail(STATUS_STORE_Refused_OutOfResources, std::string("cannot analyse or save: ") + e.what());
  }
}

void DicomNode::Impl::add_to_worklist(const StoreOutcome& outcome) {
  const nlohmann::json& r = outcome.record;
  WorklistEntry entry;
  entry.received_at = r.value("received_at", "");
  entry.study_instance_uid = r.value("study_instance_uid", "");
  entry.series_instance_uid = r.value("series_instance_uid", "");
  entry.sop_instance_uid = r.value("sop_instance_uid", "");
  entry.xray_image = r.value("xray_image", "");
  entry.overlay_image = r.value("overlay_image", "");
  entry.result = r;
  if (const auto& c = outcome.analysed) {
    entry.status = c->prediction ? "diagnosed" : "refused";
    entry.gate_status = to_string(c->gate.status);
    for (const GateReason& reason : c->gate.reasons) entry.gate_reasons.push_back(reason.message);
    if (c->prediction) {
      entry.probability = c->prediction->probability;
      entry.label = c->prediction->label;
      entry.pneumonia_type = c->prediction->pneumonia_type;
    }
    if (c->uncertainty) {
      entry.uncertain = c->uncertainty->uncertain;
      entry.low = c->uncertainty->low;
      entry.high = c->uncertainty->high;
    }
  } else {
    entry.status = "failed";
    entry.gate_reasons.push_back(r.value("error", "not analysed"));
  }
  try {
    options.worklist->add(entry);
  } catch (const Error& e) {
    options.log(std::string("error: ") + e.what());
  }
}

// One write(2) per line on an O_APPEND descriptor: lines never interleave or
// tear, even with another process appending to the same file.
void DicomNode::Impl::append_record(const nlohmann::json& record) {
  const std::string line = json_text(record) + "\n";
  const int fd = ::open(results_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  bool ok = fd >= 0 && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  if (fd >= 0) ok = (::close(fd) == 0) && ok;
  if (!ok) options.log("error: " + results_path + ": cannot append the result line");
}

// Sends the result objects on in one association; returns "" on success, else the problem.
std::string DicomNode::Impl::forward(const std::vector<DcmFileFormat*>& objects) {
  const DicomPeer& peer = *options.forward;
  DcmSCU scu;
  scu.setAETitle(options.ae_title.c_str());
  scu.setPeerHostName(peer.host.c_str());
  scu.setPeerPort(static_cast<Uint16>(peer.port));
  scu.setPeerAETitle(peer.ae_title.c_str());
  // A dead peer must not hold up the node for long.
  scu.setConnectionTimeout(10);
  scu.setACSETimeout(10);
  scu.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  scu.setDIMSETimeout(60);
  OFList<OFString> syntaxes;
  syntaxes.push_back(UID_LittleEndianExplicitTransferSyntax);
  syntaxes.push_back(UID_LittleEndianImplicitTransferSyntax);
  scu.addPresentationContext(UID_SecondaryCaptureImageStorage, syntaxes);
  scu.addPresentationContext(UID_BasicTextSRStorage, syntaxes);
  OFCondition status = scu.initNetwork();
  if (status.good()) status = scu.negotiateAssociation();
  if (status.bad()) return std::string("cannot associate: ") + status.text();
  std::string problem;
  for (DcmFileFormat* object : objects) {
    const std::string sop_class = get(*object->getDataset(), DCM_SOPClassUID);
    const T_ASC_PresentationContextID context = scu.findPresentationContextID(sop_class.c_str(), "");
    if (context == 0) {
      problem = "the peer does not accept " + sop_class_name(sop_class);
      break;
    }
    Uint16 response = 0;
    status = scu.sendSTORERequest(context, "", object->getDataset(), response);
    if (status.bad()) {
      problem = std::string("C-STORE failed: ") + status.text();
      break;
    }
    if (response != STATUS_Success) {
      problem = format_string("C-STORE status %04X", response);
      break;
    }
  }
  scu.releaseAssociation();
  return problem;
}

namespace {

// The Storage SCP. Runs the association loop of DcmSCP; everything about an
// object is delegated to DicomNode::Impl.
class TriageScp : public DcmSCP {
 public:
  explicit TriageScp(DicomNode::Impl& node) : node_(node) {}

  OFCondition handleIncomingCommand(T_DIMSE_Message* message,
                                    const DcmPresentationContextInfo& context) override {
    if (message->CommandField != DIMSE_C_STORE_RQ) return DcmSCP::handleIncomingCommand(message, context);
    T_DIMSE_C_StoreRQ& request = message->msg.CStoreRQ;
    const std::string received_at = utc_now(UtcFormat::kIsoMillis);
    DcmDataset* received = nullptr;
    OFCondition status = receiveSTORERequest(request, context.presentationContextID, received);
    std::unique_ptr<DcmDataset> dataset(received);
    const std::string calling_ae = getPeerAETitle().c_str();
    if (status.bad()) {
      node_.options.log("error: receiving an object from " + calling_ae + " failed: " + status.text());
      return status;
    }
    StoreOutcome outcome = node_.analyse(*dataset, request.AffectedSOPClassUID,
                                         request.AffectedSOPInstanceUID, calling_ae, received_at);
    status = sendSTOREResponse(context.presentationContextID, request, outcome.status);
    if (outcome.result && node_.options.forward) {
      const std::string problem = node_.forward({outcome.result.get(), outcome.report.get()});
      const DicomPeer& peer = *node_.options.forward;
      const std::string target = peer.ae_title + "@" + peer.host + ":" + std::to_string(peer.port);
      outcome.record["forwarded_to"] = target;
      outcome.record["forwarded"] = problem.empty();
      if (!problem.empty()) outcome.record["forward_error"] = problem;
      outcome.summary += problem.empty()
                             ? "; forwarded to " + target
                             : "; forwarding to " + target + " failed: " + problem + " (result file kept)";
    }
    node_.append_record(outcome.record);
    // Objects of other SOP classes are not studies to triage; unreadable X-rays are.
    if (outcome.analysed || outcome.status != STATUS_STORE_Refused_SOPClassNotSupported)
      node_.add_to_worklist(outcome);
    node_.options.log(outcome.summary);
    return status;
  }

  OFBool checkCalledAETitleAccepted(const OFString& called) override {
    const bool accepted = called == node_.options.ae_title.c_str();
    if (!accepted)
      node_.options.log("refused an association called '" + std::string(called.c_str()) +
                        "' (this node is '" + node_.options.ae_title + "')");
    return accepted;
  }

  OFBool stopAfterCurrentAssociation() override { return node_.stop_requested.load(); }
  OFBool stopAfterConnectionTimeout() override { return node_.stop_requested.load(); }

 private:
  DicomNode::Impl& node_;
};

}  // namespace

DicomNode::DicomNode(DicomNodeOptions options) {
  if (options.port < 1 || options.port > 65535)
    throw UsageError("DICOM port must be 1..65535, got " + std::to_string(options.port));
  if (options.ae_title.empty() || options.ae_title.size() > 16)
    throw UsageError("AE title must be 1..16 characters, got '" + options.ae_title + "'");
  impl_ = std::make_unique<Impl>(std::move(options));
}

DicomNode::~DicomNode() = default;

void DicomNode::stop() noexcept { impl_->stop_requested.store(true); }

void DicomNode::run() {
  // The decoders' setup switches DCMTK's logger off (dcmdata warnings can quote
  // element values); the network layer's warnings carry no header contents
  // and say why an association failed, so they stay on.
  init_dcmtk_decoders();
  OFLog::getLogger("dcmtk.dcmnet").setLogLevel(OFLogger::WARN_LOG_LEVEL);

  TriageScp scp(*impl_);
  const DicomNodeOptions& options = impl_->options;
  scp.setAETitle(options.ae_title.c_str());
  scp.setPort(static_cast<Uint16>(options.port));
  scp.setHostLookupEnabled(OFFalse);
  // Non-blocking with a 1 s connection timeout: the listen loop wakes up once
  // a second to look at stop_requested.
  scp.setConnectionBlockingMode(DUL_NOBLOCK);
  scp.setConnectionTimeout(1);
  scp.setACSETimeout(30);
  scp.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  scp.setDIMSETimeout(60);

  OFList<OFString> syntaxes;
  for (const char* syntax : kTransferSyntaxes) syntaxes.push_back(syntax);
  OFList<OFString> verification_syntaxes;
  for (const char* syntax : {UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax,
                             UID_BigEndianExplicitTransferSyntax})
    verification_syntaxes.push_back(syntax);
  scp.addPresentationContext(UID_VerificationSOPClass, verification_syntaxes);
  // Every storage class is accepted so that a misrouted object is refused with
  // a per-object status and reported, rather than invisibly at negotiation.
  for (int i = 0; i < numberOfDcmAllStorageSOPClassUIDs; ++i)
    scp.addPresentationContext(dcmAllStorageSOPClassUIDs[i], syntaxes);

  OFCondition status = scp.openListenPort();
  if (status.bad())
    throw IoError("port " + std::to_string(options.port), std::string("cannot listen: ") + status.text());
  options.log("listening on port " + std::to_string(options.port) + " as AE " + options.ae_title +
              ", model " + impl_->analyzer.metadata().name + ", results in " + impl_->results_path);
  status = scp.acceptAssociations();
  const bool stopped = status == NET_EC_StopAfterConnectionTimeout || status == NET_EC_StopAfterAssociation;
  if (!stopped && status.bad()) throw IoError("port " + std::to_string(options.port), status.text());
  options.log("stopped");
}

}  // namespace pneumoscan
