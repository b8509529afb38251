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

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/json_text.h"
#include "core/timing.h"
#include "explain/heatmap.h"
#include "image/dicom_dataset.h"
#include "infer/predictor.h"
#include "serve/dicom_result.h"

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

const char* const kXrayModalities[] = {"CR", "DX", "RG", "DR"};

std::string get(DcmItem& item, const DcmTagKey& key) {
  OFString value;
  return item.findAndGetOFString(key, value).good() ? value.c_str() : "";
}

std::string sop_class_name(const std::string& uid) { return dcmFindNameOfUID(uid.c_str(), uid.c_str()); }

bool is_xray_modality(const std::string& modality) {
  for (const char* xray : kXrayModalities)
    if (modality == xray) return true;
  return false;
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

// "" when the decoded image can be a radiograph, else why not.
std::string why_not_an_xray(const Image& image) {
  const DicomInfo& info = *image.dicom;
  if (!info.modality.empty() && !is_xray_modality(info.modality))
    return "not an X-ray (Modality " + info.modality + ")";
  if (info.photometric != "MONOCHROME1" && info.photometric != "MONOCHROME2")
    return "not an X-ray (photometric interpretation " + info.photometric + ", expected monochrome)";
  return "";
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
  std::string summary;                    // the log line
};

struct DicomNode::Impl {
  DicomNodeOptions options;
  Predictor predictor;
  std::string results_path;
  std::atomic<bool> stop_requested{false};

  explicit Impl(DicomNodeOptions opts)
      : options(std::move(opts)), predictor(model_or_default(options.model_path)) {
    if (!options.log) options.log = default_log;
    std::error_code ec;
    fs::create_directories(options.out_dir, ec);
    if (ec || !fs::is_directory(options.out_dir))
      throw IoError(options.out_dir, "cannot create output folder");
    results_path = (fs::path(options.out_dir) / "results.jsonl").string();
  }

  StoreOutcome analyse(DcmDataset& dataset, const std::string& sop_class, const std::string& sop_instance,
                       const std::string& calling_ae, const std::string& received_at);
  void append_record(const nlohmann::json& record);
  std::string forward(DcmFileFormat& result);
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
    if (const std::string why = why_not_an_xray(image); !why.empty())
      return fail(STATUS_STORE_Error_DataSetDoesNotMatchSOPClass, why);
    const Prediction prediction = predictor.predict_image(image, sop_instance);
    cv::Mat heatmap;
    // The map always shows the pneumonia evidence: the question the node triages for.
    if (options.gradcam)
      heatmap = explain(predictor.net(), predictor.input_tensor(image), ExplainMethod::kGradCam).map;
    const double analysis_ms = stopwatch.milliseconds();

    TriageVerdict verdict;
    verdict.probability = prediction.probability;
    verdict.label = prediction.label;
    verdict.threshold = prediction.threshold;
    verdict.model_name = predictor.metadata().name;
    verdict.explanation = options.gradcam ? "gradcam" : "";
    outcome.result =
        make_secondary_capture(dataset, render_verdict_picture(image, heatmap, verdict), verdict);
    const std::string result_path = (fs::path(options.out_dir) / (sop_instance + ".sc.dcm")).string();
    save_dicom_file(*outcome.result, result_path);

    record["probability"] = prediction.probability;
    record["label"] = prediction.label;
    record["threshold"] = prediction.threshold;
    record["model"] = verdict.model_name;
    record["analysis_ms"] = analysis_ms;
    record["result_file"] = result_path;
    record["result_sop_instance_uid"] = get(*outcome.result->getDataset(), DCM_SOPInstanceUID);
    char line[160];
    std::snprintf(line, sizeof line, ": P(pneumonia)=%.4f %s in %.0f ms -> ", prediction.probability,
                  prediction.label.c_str(), analysis_ms);
    outcome.summary = "analysed " + what + line + result_path;
    return outcome;
  } catch (const InputError& e) {
    return fail(STATUS_STORE_Error_CannotUnderstand, e.what());
  } catch (const std::exception& e) {
    // Our side failed (disk full, ...): the sender may retry later.
    return fail(STATUS_STORE_Refused_OutOfResources, std::string("cannot analyse or save: ") + e.what());
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

// Sends the result object on; returns "" on success, else the problem.
std::string DicomNode::Impl::forward(DcmFileFormat& result) {
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
  OFCondition status = scu.initNetwork();
  if (status.good()) status = scu.negotiateAssociation();
  if (status.bad()) return std::string("cannot associate: ") + status.text();
  const T_ASC_PresentationContextID context =
      scu.findPresentationContextID(UID_SecondaryCaptureImageStorage, "");
  if (context == 0) {
    scu.releaseAssociation();
    return "the peer does not accept Secondary Capture Image Storage";
  }
  Uint16 response = 0;
  status = scu.sendSTORERequest(context, "", result.getDataset(), response);
  scu.releaseAssociation();
  if (status.bad()) return std::string("C-STORE failed: ") + status.text();
  if (response != STATUS_Success) {
    char code[48];
    std::snprintf(code, sizeof code, "C-STORE status %04X", response);
    return code;
  }
  return "";
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
      const std::string problem = node_.forward(*outcome.result);
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
              ", model " + impl_->predictor.metadata().name + ", results in " + impl_->results_path);
  status = scp.acceptAssociations();
  const bool stopped = status == NET_EC_StopAfterConnectionTimeout || status == NET_EC_StopAfterAssociation;
  if (!stopped && status.bad()) throw IoError("port " + std::to_string(options.port), status.text());
  options.log("stopped");
}

}  // namespace pneumoscan
