// PNG decoding with libpng, reading from memory, with the transformations
// OpenCV's PNG decoder applies for IMREAD_UNCHANGED (16 bits kept, low bit
// depths and palettes expanded, BGR order) except that alpha is dropped here
// rather than converted later. libpng reports fatal errors by longjmp to
// `guarded`, whose frame (and libpng's in between) hold no object with a destructor.
#include <png.h>

#include <csetjmp>
#include <cstring>

#include "core/errors.h"
#include "image/codecs.h"
#include "image/image.h"

namespace pneumoscan::detail {
namespace {

struct Source {
  const uint8_t* data;
  size_t size;
  size_t position;
  char fatal[256];
  std::vector<std::string>* warnings;
};

void on_read(png_structp png, png_bytep out, size_t length) {
  auto* source = static_cast<Source*>(png_get_io_ptr(png));
  if (length > source->size - source->position) png_error(png, "file cut short");
  std::memcpy(out, source->data + source->position, length);
  source->position += length;
}

void on_error(png_structp png, png_const_charp message) {
  auto* source = static_cast<Source*>(png_get_error_ptr(png));
  std::snprintf(source->fatal, sizeof source->fatal, "%s", message);
  png_longjmp(png, 1);
}

void on_warning(png_structp png, png_const_charp message) {
  add_warning(*static_cast<Source*>(png_get_error_ptr(png))->warnings, std::string("libpng: ") + message);
}

template <typename Step>
bool guarded(png_structp png, Step&& step) {
  if (setjmp(png_jmpbuf(png)) != 0) return false;
  step();
  return true;
}

}  // namespace

cv::Mat decode_png(const std::vector<uint8_t>& bytes, const std::string& name,
                   std::vector<std::string>& warnings) {
  Source source{bytes.data(), bytes.size(), 0, {}, &warnings};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, on_error, on_warning);
  if (png == nullptr) throw InputError(name, "cannot decode png image (libpng could not start)");
  png_infop info = png_create_info_struct(png);
  struct Destroy {
    png_structp& png;
    png_infop& info;
    ~Destroy() { png_destroy_read_struct(&png, info ? &info : nullptr, nullptr); }
  } destroy{png, info};
  if (info == nullptr) throw InputError(name, "cannot decode png image (libpng could not start)");
  const auto fail = [&] {
    return InputError(name, std::string("cannot decode png image (") + source.fatal + ")");
  };

  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, colour_type = 0;
  bool ok = guarded(png, [&] {
    png_set_read_fn(png, &source, on_read);
    // libpng's own guard, in case a caller forgot the header check.
    png_set_user_limits(png, static_cast<png_uint_32>(kMaxImageSide),
                        static_cast<png_uint_32>(kMaxImageSide));
    png_read_info(png, info);
    png_get_IHDR(png, info, &width, &height, &bit_depth, &colour_type, nullptr, nullptr, nullptr);
  });
  if (!ok) throw fail();
  check_image_dimensions(width, height, name);

  const bool colour = (colour_type & PNG_COLOR_MASK_COLOR) != 0;
  ok = guarded(png, [&] {
    if (bit_depth == 16) png_set_swap(png);  // host (little-endian) order for CV_16U
    if (colour_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (!colour && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    png_set_strip_alpha(png);
    if (colour) png_set_bgr(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
  });
  if (!ok) throw fail();
  const int depth = png_get_bit_depth(png, info) == 16 ? CV_16U : CV_8U;
  const int channels = png_get_channels(png, info);
  if (channels != (colour ? 3 : 1))
    throw InputError(name, "cannot decode png image (unexpected colour layout)");
  cv::Mat image(static_cast<int>(height), static_cast<int>(width), CV_MAKETYPE(depth, channels));
  if (png_get_rowbytes(png, info) > image.step)
    throw InputError(name, "cannot decode png image (unexpected row size)");
  std::vector<png_bytep> rows(height);
  for (png_uint_32 y = 0; y < height; ++y) rows[y] = image.ptr<uint8_t>(static_cast<int>(y));
  png_bytepp row_pointers = rows.data();
  ok = guarded(png, [&] {
    png_read_image(png, row_pointers);
    png_read_end(png, nullptr);
  });
  if (!ok) throw fail();
  return image;
}

}  // namespace pneumoscan::detail
