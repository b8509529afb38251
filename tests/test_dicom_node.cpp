// End-to-end tests of `pneumoscan dicom-node` with DCMTK's own tools as the
// peers: echoscu, storescu (the RSNA files in ../shared, plus objects the node
// must refuse or cannot decode) and storescp (the --forward target).
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "serve/dicom_node.h"
#include "serve_process.h"
#include "test_support.h"

using namespace pneumoscan;
namespace fs = std::filesystem;

namespace {

// A child process whose stdout and stderr go to a file; killed if still running at the end.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& args, std::string log_path) : log_path_(std::move(log_path)) {
    std::vector<char*> argv;
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      const int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~ChildProcess() {
    if (pid_ > 0 && running_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  void signal(int number) const { kill(pid_, number); }
  // The exit code, or -1 when it did not exit normally within `seconds`.
  int wait(double seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (running_ && std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        running_ = false;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    return running_ ? -1 : exit_code_;
  }
  std::string output() const { return fs::exists(log_path_) ? read_file(log_path_) : ""; }

 private:
  std::string log_path_;
  pid_t pid_ = -1;
  bool running_ = true;
  int exit_code_ = -1;
};

bool wait_for(const std::function<bool()>& done, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

std::vector<nlohmann::json> read_records(const std::string& path) {
  std::vector<nlohmann::json> records;
  if (!fs::exists(path)) return records;
  std::istringstream lines(read_file(path));
  for (std::string line; std::getline(lines, line);) records.push_back(nlohmann::json::parse(line));
  return records;
}

std::string attribute(DcmDataset& dataset, const DcmTagKey& key) {
  OFString value;
  return dataset.findAndGetOFString(key, value).good() ? value.c_str() : "";
}

std::string attribute(const std::string& path, const DcmTagKey& key) {
  DcmFileFormat file;
  if (file.loadFile(path.c_str()).bad()) return "";
  return attribute(*file.getDataset(), key);
}

// Starts the node on a free port and waits until it listens.
std::unique_ptr<ChildProcess> start_node(const test::TempDir& dir, int port, const std::string& extra) {
  std::vector<std::string> args = {PNEUMOSCAN_CLI_PATH,  "--threads", "1",        "dicom-node", "--port",
                                   std::to_string(port), "--out",     dir / "out"};
  std::istringstream words(extra);
  for (std::string word; words >> word;) args.push_back(word);
  auto node = std::make_unique<ChildProcess>(args, dir / "node.log");
  const bool listening =
      wait_for([&] { return node->output().find("listening on port") != std::string::npos; }, 60);
  EXPECT_TRUE(listening) << node->output();
  return node;
}

test::CommandResult storescu(int port, const std::vector<std::string>& files) {
  // -xy: also propose JPEG baseline, the RSNA files' transfer syntax (storescu
  // cannot decompress them to offer them uncompressed); -nh: go on after a refusal.
  std::string command = "storescu -xy -nh -aec PNEUMOSCAN localhost " + std::to_string(port);
  for (const std::string& file : files) command += " " + file;
  return test::run_command(command);
}

// A small uncompressed image of the given SOP class and modality, with a
// recognisable patient name and ID.
std::string write_test_object(const std::string& path, const char* sop_class, const char* modality,
                              const char* patient_id) {
  DcmFileFormat file;
  DcmDataset& ds = *file.getDataset();
  char uid[100];
  ds.putAndInsertString(DCM_SOPClassUID, sop_class);
  ds.putAndInsertString(DCM_SOPInstanceUID, dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT));
  ds.putAndInsertString(DCM_StudyInstanceUID, dcmGenerateUniqueIdentifier(uid, SITE_STUDY_UID_ROOT));
  ds.putAndInsertString(DCM_SeriesInstanceUID, dcmGenerateUniqueIdentifier(uid, SITE_SERIES_UID_ROOT));
  ds.putAndInsertString(DCM_Modality, modality);
  ds.putAndInsertString(DCM_PatientName, (std::string("Secretname^") + patient_id).c_str());
  ds.putAndInsertString(DCM_PatientID, patient_id);
  ds.putAndInsertUint16(DCM_SamplesPerPixel, 1);
  ds.putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
  ds.putAndInsertUint16(DCM_Rows, 32);
  ds.putAndInsertUint16(DCM_Columns, 32);
  ds.putAndInsertUint16(DCM_BitsAllocated, 16);
  ds.putAndInsertUint16(DCM_BitsStored, 12);
  ds.putAndInsertUint16(DCM_HighBit, 11);
  ds.putAndInsertUint16(DCM_PixelRepresentation, 0);
  std::vector<Uint16> pixels(32 * 32);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<Uint16>((i * 37) % 4096);
  ds.putAndInsertUint16Array(DCM_PixelData, pixels.data(), pixels.size());
  EXPECT_TRUE(file.saveFile(path.c_str(), EXS_LittleEndianExplicit).good()) << path;
  return attribute(ds, DCM_SOPInstanceUID);
}

// A copy of `source` under a new SOP Instance UID, with `change` applied.
std::string write_variant(const std::string& source, const std::string& path,
                          const std::function<void(DcmDataset&)>& change) {
  DcmFileFormat file;
  EXPECT_TRUE(file.loadFile(source.c_str()).good()) << source;
  DcmDataset& ds = *file.getDataset();
  char uid[100];
  ds.putAndInsertString(DCM_SOPInstanceUID, dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT));
  change(ds);
  EXPECT_TRUE(file.saveFile(path.c_str(), ds.getOriginalXfer()).good()) << path;
  return attribute(ds, DCM_SOPInstanceUID);
}

std::vector<std::string> rsna_files(const std::string& folder) {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.path().extension() == ".dcm") files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

void expect_no_patient_identifiers(const std::string& text, const std::vector<std::string>& files,
                                   const std::string& where) {
  for (const std::string& file : files)
    for (const DcmTagKey& key : {DCM_PatientName, DCM_PatientID}) {
      const std::string value = attribute(file, key);
      ASSERT_GE(value.size(), 3u) << file;  // the check is meaningful
      EXPECT_EQ(text.find(value), std::string::npos) << where << " contains " << value;
    }
}

}  // namespace

TEST(DicomNode, ParsesPeers) {
  const DicomPeer peer = parse_dicom_peer("pacs.local:104:ARCHIVE");
  EXPECT_EQ(peer.host, "pacs.local");
  EXPECT_EQ(peer.port, 104);
  EXPECT_EQ(peer.ae_title, "ARCHIVE");
  for (const char* bad :
       {"pacs:104", "pacs:x:AE", ":104:AE", "pacs:104:", "pacs:70000:AE", "pacs:104:AE_TITLE_TOO_LONG_"})
    EXPECT_THROW(parse_dicom_peer(bad), UsageError) << bad;
}

TEST(DicomNode, TriagesRsnaFilesForwardsResultsAndReportsBadObjects) {
  PNEUMOSCAN_REQUIRE_SHARED(rsna, "data/dicom/rsna");
  test::TempDir dir;
  const std::vector<std::string> xrays = rsna_files(rsna);
  ASSERT_EQ(xrays.size(), 16u);

  const int forward_port = test::free_port();
  fs::create_directories(dir / "forwarded");
  ChildProcess peer({"/usr/bin/storescp", "--output-directory", dir / "forwarded", "-aet", "FWD",
                     std::to_string(forward_port)},
                    dir / "storescp.log");
  const int port = test::free_port();
  auto node = start_node(dir, port, "--forward localhost:" + std::to_string(forward_port) + ":FWD");

  const auto echo = test::run_command("echoscu -aec PNEUMOSCAN localhost " + std::to_string(port));
  EXPECT_EQ(echo.exit_code, 0) << echo.output;

  const auto start = std::chrono::steady_clock::now();
  const auto sent = storescu(port, xrays);
  EXPECT_EQ(sent.exit_code, 0) << sent.output;
  const std::string results = dir / "out/results.jsonl";
  ASSERT_TRUE(wait_for([&] { return read_records(results).size() >= 16; }, 60)) << node->output();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::map<std::string, std::string> study_of;  // source SOP Instance UID -> Study Instance UID
  for (const std::string& file : xrays)
    study_of[attribute(file, DCM_SOPInstanceUID)] = attribute(file, DCM_StudyInstanceUID);
  std::set<std::string> result_uids;
  double analysis_ms = 0;
  std::set<std::string> report_uids;
  for (const auto& record : read_records(results)) {
    ASSERT_FALSE(record.contains("error")) << record.dump();
    const std::string sop = record.at("sop_instance_uid");
    ASSERT_EQ(study_of.count(sop), 1u) << sop;
    EXPECT_EQ(record.at("study_instance_uid"), study_of[sop]);
    EXPECT_EQ(record.at("calling_ae"), "STORESCU");
    // The bundled model is for children aged 1-5: every adult RSNA study is
    // refused by the input gate, with the reason, and gets result objects saying so.
    EXPECT_EQ(record.at("gate").at("status"), "refuse") << record.dump();
    EXPECT_NE(record.at("refused").get<std::string>().find("outside the model's population"),
              std::string::npos)
        << record.dump();
    EXPECT_FALSE(record.contains("probability")) << record.dump();
    EXPECT_FALSE(record.at("model").get<std::string>().empty());
    EXPECT_TRUE(record.at("forwarded").get<bool>()) << record.dump();
    analysis_ms += record.at("analysis_ms").get<double>();

    // The result object: a Secondary Capture in the same study, new series and instance.
    DcmFileFormat result;
    ASSERT_TRUE(result.loadFile(record.at("result_file").get<std::string>().c_str()).good()) << record.dump();
    DcmDataset& ds = *result.getDataset();
    EXPECT_EQ(attribute(ds, DCM_SOPClassUID), UID_SecondaryCaptureImageStorage);
    EXPECT_EQ(attribute(ds, DCM_StudyInstanceUID), study_of[sop]);
    EXPECT_EQ(attribute(ds, DCM_SOPInstanceUID), record.at("result_sop_instance_uid"));
    EXPECT_NE(attribute(ds, DCM_SOPInstanceUID), sop);
    EXPECT_EQ(attribute(ds, DCM_PhotometricInterpretation), "RGB");
    EXPECT_NE(attribute(ds, DCM_ImageComments).find("Not analysed: patient age"), std::string::npos);
    result_uids.insert(attribute(ds, DCM_SOPInstanceUID));
    // And a Structured Report beside it, which DCMTK's own dsrdump reads.
    const std::string report = record.at("report_file");
    EXPECT_EQ(attribute(report, DCM_SOPClassUID), UID_BasicTextSRStorage);
    EXPECT_EQ(attribute(report, DCM_StudyInstanceUID), study_of[sop]);
    const auto dump = test::run_command("dsrdump '" + report + "'");
    EXPECT_EQ(dump.exit_code, 0) << dump.output;
    EXPECT_NE(dump.output.find("Input check"), std::string::npos) << dump.output;
    EXPECT_NE(dump.output.find("Not analysed"), std::string::npos) << dump.output;
    report_uids.insert(record.at("report_sop_instance_uid").get<std::string>());
  }
  EXPECT_EQ(result_uids.size(), 16u);
  std::printf("[ measured ] 16 RSNA images stored and analysed in %.1f s; mean analysis %.0f ms per image\n",
              seconds, analysis_ms / 16);

  // What the forward peer received: the same 16 pictures and 16 reports.
  std::set<std::string> forwarded;
  for (const auto& entry : fs::directory_iterator(dir / "forwarded"))
    forwarded.insert(attribute(entry.path().string(), DCM_SOPInstanceUID));
  std::set<std::string> sent_on = result_uids;
  sent_on.insert(report_uids.begin(), report_uids.end());
  EXPECT_EQ(forwarded, sent_on) << peer.output();

  // Objects the node must refuse or cannot read; it reports each and goes on.
  // And the same X-ray relabelled as CR Image Storage, which it must analyse ("" = success).
  std::map<std::string, std::string> expected_status;  // SOP Instance UID -> C-STORE status
  const std::string ct = dir / "ct.dcm", photo = dir / "photo.dcm", mr = dir / "mr.dcm",
                    corrupt = dir / "corrupt.dcm", cr = dir / "cr.dcm";
  auto as_cr = [](const char* modality) {
    return [modality](DcmDataset& ds) {
      ds.putAndInsertString(DCM_SOPClassUID, UID_ComputedRadiographyImageStorage);
      ds.putAndInsertString(DCM_Modality, modality);
    };
  };
  expected_status[write_test_object(ct, UID_CTImageStorage, "CT", "CTSECRET123")] = "0122";
  expected_status[write_test_object(photo, UID_SecondaryCaptureImageStorage, "OT", "OTSECRET456")] = "0122";
  expected_status[write_variant(xrays[0], mr, as_cr("MR"))] = "";  // read, then refused by the gate
  expected_status[write_variant(xrays[2], cr, as_cr("CR"))] = "";
  expected_status[write_variant(xrays[1], corrupt, [](DcmDataset&) {})] = "C000";
  std::string bytes = read_file(corrupt);  // damage the JPEG stream itself, as on a bad disk
  const size_t soi = bytes.find("\xFF\xD8\xFF");
  ASSERT_NE(soi, std::string::npos);
  for (size_t i = soi + 2; i < soi + 400; ++i) bytes[i] = static_cast<char>(0x5A);
  write_file_atomically(corrupt, bytes);
  const auto refused = storescu(port, {ct, photo, mr, cr, corrupt});
  ASSERT_TRUE(wait_for([&] { return read_records(results).size() >= 21; }, 30))
      << refused.output << node->output();
  for (const auto& record : read_records(results)) {
    const std::string sop = record.at("sop_instance_uid");
    if (!expected_status.count(sop)) continue;
    EXPECT_EQ(record.contains("error"), !expected_status[sop].empty()) << record.dump();
    if (sop == attribute(mr, DCM_SOPInstanceUID))
      EXPECT_NE(record.value("refused", "").find("modality MR is not a radiograph"), std::string::npos)
          << record.dump();
    EXPECT_EQ(record.value("status", ""), expected_status[sop]) << record.dump();
    EXPECT_EQ(record.contains("result_file"), expected_status[sop].empty()) << record.dump();
    expected_status.erase(sop);
  }
  EXPECT_TRUE(expected_status.empty());
  const auto echo_after = test::run_command("echoscu -aec PNEUMOSCAN localhost " + std::to_string(port));
  EXPECT_EQ(echo_after.exit_code, 0) << echo_after.output;

  node->signal(SIGTERM);
  EXPECT_EQ(node->wait(15), 0) << node->output();
  const std::string log = node->output();
  EXPECT_NE(log.find("refused SOP instance"), std::string::npos) << log;
  EXPECT_NE(log.find("stopped"), std::string::npos) << log;
  std::vector<std::string> sent_files = xrays;
  sent_files.insert(sent_files.end(), {ct, photo});
  expect_no_patient_identifiers(log, sent_files, "node output");
  expect_no_patient_identifiers(read_file(results), sent_files, "results.jsonl");
}

TEST(DicomNode, SigtermLetsTheAssociationInProgressFinish) {
  PNEUMOSCAN_REQUIRE_SHARED(rsna, "data/dicom/rsna");
  test::TempDir dir;
  const std::vector<std::string> xrays = rsna_files(rsna);
  const int port = test::free_port();
  auto node = start_node(dir, port, "--explain none");
  std::vector<std::string> args = {"/usr/bin/storescu", "-xy",       "-aec",
                                   "PNEUMOSCAN",        "localhost", std::to_string(port)};
  args.insert(args.end(), xrays.begin(), xrays.end());
  ChildProcess sender(args, dir / "storescu.log");
  const std::string results = dir / "out/results.jsonl";
  ASSERT_TRUE(wait_for([&] { return !read_records(results).empty(); }, 60)) << node->output();
  node->signal(SIGTERM);
  EXPECT_EQ(sender.wait(60), 0) << sender.output();
  EXPECT_EQ(node->wait(30), 0) << node->output();
  EXPECT_EQ(read_records(results).size(), xrays.size()) << node->output();
  // And it no longer listens.
  EXPECT_NE(test::run_command("echoscu -aec PNEUMOSCAN localhost " + std::to_string(port)).exit_code, 0);
}

// `serve --dicom-port`: the HTTP service and the DICOM node in one process;
// an image stored over DICOM is triaged while the HTTP API answers, and
// SIGTERM stops both with exit 0.
// A paediatric-looking DICOM study: a Kermany JPEG wrapped by DCMTK's img2dcm
// as a CR Secondary Capture of a 3-year-old, with a patient name and ID that
// must never leave the DICOM objects.
std::string paediatric_dicom(const std::string& jpeg, const std::string& out) {
  const auto made =
      test::run_command("img2dcm '" + jpeg + "' '" + out +
                        "' -k Modality=CR -k PatientAge=003Y -k ViewPosition=AP -k BodyPartExamined=CHEST"
                        " -k PatientName=SECRET^CHILD -k PatientID=KIDSECRET77");
  EXPECT_EQ(made.exit_code, 0) << made.output;
  return out;
}

TEST(DicomNode, SameCaseFromEveryDoorAndTheWorklistSurvivesARestart) {
  PNEUMOSCAN_REQUIRE_SHARED(rsna, "data/dicom/rsna");
  PNEUMOSCAN_REQUIRE_SHARED(jpeg, "data/chest_xray/val/PNEUMONIA/person1946_bacteria_4874.jpeg");
  test::TempDir dir;
  const std::string child = paediatric_dicom(jpeg, dir / "child.dcm");
  const std::string adult = rsna_files(rsna).front();
  const int dicom_port = test::free_port();
  const std::vector<std::string> args = {"--dicom-port", std::to_string(dicom_port), "--dicom-out",
                                         dir / "triage"};
  std::map<std::string, nlohmann::json> by_door_http;
  {
    test::ServeProcess server(args);
    ASSERT_GT(server.port(), 0) << server.output();
    std::string echo_output;
    for (int attempt = 0; attempt < 50; ++attempt) {  // the node starts listening just after the HTTP port
      const auto echo = test::run_command("echoscu -aec PNEUMOSCAN localhost " + std::to_string(dicom_port));
      echo_output = echo.output;
      if (echo.exit_code == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const auto sent = storescu(dicom_port, {child, adult});
    EXPECT_EQ(sent.exit_code, 0) << sent.output << echo_output;
    httplib::Client client("127.0.0.1", server.port());
    ASSERT_TRUE(wait_for(
        [&] {
          const auto list = client.Get("/api/v1/worklist");
          return list && list->status == 200 && nlohmann::json::parse(list->body).at("entries").size() >= 2;
        },
        60))
        << server.output();
    for (const std::string& file : {child, adult}) {
      httplib::MultipartFormDataItems form = {
          {"file", read_file(file), fs::path(file).filename(), "application/dicom"}};
      const auto posted = client.Post("/api/v1/predict", form);
      ASSERT_TRUE(posted);
      by_door_http[file] = nlohmann::json::parse(posted->body);
      EXPECT_EQ(posted->status, file == adult ? 422 : 200) << posted->body;
    }
    EXPECT_EQ(server.signal_and_wait(SIGTERM), 0);
  }
  // The CLI's verdicts on the same two files.
  const auto cli = test::run_cli("predict --json '" + child + "' '" + adult + "' 2>/dev/null");
  EXPECT_EQ(cli.exit_code, 3) << cli.output;  // the adult is refused
  const nlohmann::json cli_json = nlohmann::json::parse(cli.output);

  // After a restart the worklist still holds both studies, most urgent first (the refused adult).
  test::ServeProcess restarted(args);
  ASSERT_GT(restarted.port(), 0) << restarted.output();
  httplib::Client client("127.0.0.1", restarted.port());
  const auto list = client.Get("/api/v1/worklist");
  ASSERT_TRUE(list);
  const nlohmann::json entries = nlohmann::json::parse(list->body).at("entries");
  ASSERT_EQ(entries.size(), 2u) << list->body;
  EXPECT_EQ(entries[0].at("status"), "refused");
  EXPECT_EQ(entries[1].at("status"), "diagnosed");
  EXPECT_EQ(entries[0].at("study_instance_uid"), attribute(adult, DCM_StudyInstanceUID));
  const auto view = client.Get("/api/v1/worklist/" + std::to_string(entries[1].at("id").get<int>()));
  ASSERT_TRUE(view);
  const nlohmann::json node_result = nlohmann::json::parse(view->body).at("result");
  const auto picture =
      client.Get("/api/v1/worklist/" + std::to_string(entries[1].at("id").get<int>()) + "/xray.jpg");
  ASSERT_TRUE(picture);
  EXPECT_EQ(picture->status, 200);
  EXPECT_EQ(picture->get_header_value("Content-Type"), "image/jpeg");
  EXPECT_EQ(client.Get("/api/v1/worklist/999")->status, 404);

  // Same probability, gate and interval from the CLI, the HTTP service and the DICOM node.
  const nlohmann::json& cli_child = cli_json.at("predictions").at(0);
  const nlohmann::json& http_child = by_door_http[child];
  ASSERT_TRUE(cli_child.contains("probability")) << cli_child.dump();
  EXPECT_NEAR(cli_child.at("probability").get<double>(), http_child.at("probability").get<double>(), 1e-6);
  EXPECT_NEAR(cli_child.at("probability").get<double>(), node_result.at("probability").get<double>(), 1e-6);
  EXPECT_NEAR(cli_child.at("uncertainty").at("low").get<double>(),
              node_result.at("uncertainty").at("low").get<double>(), 1e-6);
  for (const nlohmann::json* other : {&http_child, &node_result}) {
    EXPECT_EQ(cli_child.at("gate").at("status"), other->at("gate").at("status"));
    EXPECT_EQ(cli_child.at("gate").at("reasons"), other->at("gate").at("reasons"));
    EXPECT_EQ(cli_child.at("label"), other->at("label"));
    EXPECT_EQ(cli_child.at("provenance").at("checksum"), other->at("provenance").at("checksum"));
  }
  const nlohmann::json& cli_adult = cli_json.at("predictions").at(1);
  EXPECT_EQ(cli_adult.at("gate"), by_door_http[adult].at("gate"));
  EXPECT_EQ(cli_adult.at("gate").at("status"), "refuse");
  EXPECT_EQ(entries[0].at("gate_reasons").at(0), cli_adult.at("gate").at("reasons").at(0).at("message"));
  EXPECT_EQ(restarted.signal_and_wait(SIGTERM), 0);

  // No patient name or ID anywhere a person or a log reads. (The RSNA files are
  // named after their PatientID, so the adult's ID is checked only where no file
  // name is echoed: the node's records, the worklist and the logs.)
  const std::string node_side =
      list->body + view->body + read_file(dir / "triage/results.jsonl") + restarted.output();
  const std::string everything = node_side + cli.output + by_door_http[child].dump();
  for (const char* secret : {"SECRET^CHILD", "KIDSECRET77", "SECRET"})
    EXPECT_EQ(everything.find(secret), std::string::npos) << secret;
  expect_no_patient_identifiers(node_side, {adult}, "worklist and results");
}
