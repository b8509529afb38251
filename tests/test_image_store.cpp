// data/image_store: prepared images kept on disk between runs, memory-mapped,
// used only while every file is unchanged and the pack intact.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include <cstdlib>
#include <filesystem>

#include "core/atomic_file.h"
#include "data/image_store.h"
#include "data/loader.h"
#include "generative_support.h"
#include "test_support.h"

namespace pneumoscan {
namespace {

// Sets $PNEUMOSCAN_CACHE_DIR for one test.
struct StoreDir {
  explicit StoreDir(const std::string& dir) { setenv("PNEUMOSCAN_CACHE_DIR", dir.c_str(), 1); }
  ~StoreDir() { unsetenv("PNEUMOSCAN_CACHE_DIR"); }
};

bool same_pixels(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::countNonZero(a != b) == 0;
}

TEST(ImageStore, SecondRunReadsThePackInsteadOfDecoding) {
  test::TempDir dir;
  std::vector<Sample> samples = test::tiny_xrays(dir, 6);
  Sample broken;
  broken.path = dir / "broken.png";
  write_file_atomically(broken.path, "not a png");
  samples.insert(samples.begin() + 2, broken);
  PreprocessConfig config;
  config.input_size = 32;

  const ImageCache plain(samples, config, 1);  // no store
  const std::string store = dir / "store";
  const StoreDir env(store);
  const std::string pack = image_store_path(store, samples, config);
  EXPECT_FALSE(std::filesystem::exists(pack));
  const ImageCache first(samples, config, 1);
  ASSERT_TRUE(std::filesystem::exists(pack));
  EXPECT_EQ(std::filesystem::file_size(pack) % (32 * 32), 0u);  // pixels after a page-aligned header

  const std::optional<StoredImages> stored = load_stored_images(store, samples, config);
  ASSERT_TRUE(stored.has_value());
  ASSERT_EQ(stored->images.size(), samples.size());
  EXPECT_TRUE(stored->images[2].empty());
  EXPECT_NE(stored->failures[2].find("broken.png"), std::string::npos) << stored->failures[2];
  const ImageCache second(samples, config, 1);
  for (const ImageCache* cache : {&first, &second}) {
    ASSERT_EQ(cache->size(), plain.size());
    EXPECT_EQ(cache->failures(), plain.failures());
    for (size_t i = 0; i < plain.size(); ++i) {
      EXPECT_EQ(cache->sample(i).path, plain.sample(i).path);
      EXPECT_TRUE(same_pixels(cache->image(i), plain.image(i))) << i;
    }
  }
  // The batches built from the mapped images are those of decoded ones.
  BatchOptions options;
  options.batch_size = 6;
  const Batch a = make_batch(plain, {0, 1, 2, 3, 4, 5}, options, 0),
              b = make_batch(second, {0, 1, 2, 3, 4, 5}, options, 0);
  EXPECT_TRUE(torch::equal(a.images, b.images));
}

TEST(ImageStore, ChangedFilesOrSizeMakeANewPackAndDamageIsNeverUsed) {
  test::TempDir dir;
  const std::vector<Sample> samples = test::tiny_xrays(dir, 4);
  PreprocessConfig config;
  config.input_size = 32;
  const std::string store = dir / "store";
  const StoreDir env(store);
  const ImageCache first(samples, config, 1);
  const std::string pack = image_store_path(store, samples, config);
  ASSERT_TRUE(std::filesystem::exists(pack));

  PreprocessConfig bigger = config;
  bigger.input_size = 48;
  EXPECT_NE(image_store_path(store, samples, bigger), pack);
  EXPECT_FALSE(load_stored_images(store, samples, bigger).has_value());
  // A file written again (new modification time) is another file.
  const std::string moved_in = samples[1].path;
  struct utimbuf times {};
  times.actime = times.modtime = 1000000000;
  ASSERT_EQ(utime(moved_in.c_str(), &times), 0);
  EXPECT_NE(image_store_path(store, samples, config), pack);
  // A damaged pack is ignored (then decoded and written again, intact).
  const ImageCache rewritten(samples, config, 1);
  const std::string current = image_store_path(store, samples, config);
  std::string bytes = read_file(current);
  bytes[bytes.size() - 10] ^= 0x40;
  write_file_atomically(current, bytes);
  EXPECT_FALSE(load_stored_images(store, samples, config).has_value());
  write_file_atomically(current, bytes.substr(0, bytes.size() - 1024));
  EXPECT_FALSE(load_stored_images(store, samples, config).has_value());
  const ImageCache again(samples, config, 1);
  EXPECT_TRUE(load_stored_images(store, samples, config).has_value());
  for (size_t i = 0; i < again.size(); ++i) EXPECT_TRUE(same_pixels(again.image(i), rewritten.image(i)));
}

TEST(ImageStore, AStoreThatCannotBeWrittenDoesNotStopTheRun) {
  test::TempDir dir;
  const std::vector<Sample> samples = test::tiny_xrays(dir, 3);
  PreprocessConfig config;
  config.input_size = 32;
  write_file_atomically(dir / "file", "a file, not a folder");
  const StoreDir env(dir / "file/store");
  const ImageCache cache(samples, config, 1);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(store_images(dir / "file/store", samples, config,
                            {cache.image(0), cache.image(1), cache.image(2)}, {"", "", ""}));
}

}  // namespace
}  // namespace pneumoscan
