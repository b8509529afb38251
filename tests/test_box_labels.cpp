// explain/box_labels: boxes drawn on X-rays, read from RSNA-style CSV files.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "core/errors.h"
#include "explain/box_labels.h"
#include "test_support.h"

using namespace pneumoscan;

namespace {

std::string labels_error(const test::TempDir& dir, const std::string& text) {
  const std::string path = dir / "boxes.csv";
  std::ofstream(path) << text;
  try {
    read_box_labels(path);
  } catch (const InputError& e) {
    const std::string message = e.what();
    return message.rfind(path + ": ", 0) == 0 ? message.substr(path.size() + 2) : message;
  }
  return "";
}

}  // namespace

TEST(BoxLabels, RsnaRowsGroupByImageAndTargetZeroMeansNoBox) {
  test::TempDir dir;
  const std::string path = dir / "labels.csv";
  std::ofstream(path) << "patientId,x,y,width,height,Target\r\n"
                         "a,10,20,30,40,1\r\n"
                         "b,,,,,0\r\n"
                         "a,1.5,2,3,4.25,1\r\n"
                         "c,5,5,5,5,0\r\n";
  const BoxLabels labels = read_box_labels(path);
  ASSERT_EQ(labels.size(), 3u);
  ASSERT_EQ(labels.at("a").size(), 2u);
  EXPECT_EQ(labels.at("a")[0], cv::Rect2d(10, 20, 30, 40));
  EXPECT_EQ(labels.at("a")[1], cv::Rect2d(1.5, 2, 3, 4.25));
  EXPECT_TRUE(labels.at("b").empty());
  EXPECT_TRUE(labels.at("c").empty()) << "Target 0: listed, no box";
}

TEST(BoxLabels, FileColumnsMatchByStemAndTargetIsOptional) {
  test::TempDir dir;
  const std::string path = dir / "labels.csv";
  std::ofstream(path) << "File, X ,y,Width,height\n\"scans/IM-0001.dcm\",0,0,8,8\n";
  const BoxLabels labels = read_box_labels(path);
  ASSERT_EQ(labels.count("IM-0001"), 1u);
  EXPECT_EQ(image_stem("a/b/IM-0001.dcm"), "IM-0001");
}

TEST(BoxLabels, BadRowsNameTheLineAndTheProblem) {
  test::TempDir dir;
  EXPECT_EQ(labels_error(dir, ""), "empty box file (expected a header with patientId,x,y,width,height)");
  EXPECT_EQ(labels_error(dir, "id,x,y,width,height\n"),
            "missing image column in the header (patientId, file, image or path)");
  EXPECT_EQ(labels_error(dir, "patientId,x,y,width\n"), "missing column 'height' in the header");
  EXPECT_EQ(labels_error(dir, "patientId,x,y,width,height\na,1,2,3\n"), "line 2: expected 5 fields, found 4");
  EXPECT_EQ(labels_error(dir, "patientId,x,y,width,height\na,1,2,3,4\na,nan,2,3,4\n"),
            "line 3: x 'nan' is not a number");
  EXPECT_EQ(labels_error(dir, "patientId,x,y,width,height\na,1,2,3,4px\n"),
            "line 2: height '4px' is not a number");
  EXPECT_EQ(labels_error(dir, "patientId,x,y,width,height\na,-1,2,3,4\n"),
            "line 2: the box starts left of or above the image");
  EXPECT_EQ(labels_error(dir, "patientId,x,y,width,height\na,1,2,0,4\n"),
            "line 2: the box's width and height must be positive");
  EXPECT_EQ(labels_error(dir, "patientId,x,y,width,height\n,1,2,3,4\n"), "line 2: empty image name");
  EXPECT_EQ(labels_error(dir, "patientId,x,x,width,height\n"), "line 1: column 'x' twice");
}
