// core/pickle_bounds: the pickle walk run before LibTorch's unpickler.
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <vector>

#include "archive_support.h"
#include "core/pickle_bounds.h"

using namespace pneumoscan;

namespace {

std::string problem_of(const std::vector<char>& pickle) {
  return pickle_bounds_problem(reinterpret_cast<const unsigned char*>(pickle.data()), pickle.size());
}

}  // namespace

using test::find;
using test::put_u32;
using test::raw_pickle;

TEST(PickleBounds, LibTorchPicklesAreSound) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  for (int i = 0; i < 600; ++i)  // past 256 memo slots: LONG_BINPUT
    dict.insert("key" + std::to_string(i), c10::IValue(std::vector<double>{1.0 * i, 2.5}));
  EXPECT_EQ(problem_of(raw_pickle(c10::IValue(dict))), "");
  EXPECT_EQ(problem_of(raw_pickle(c10::IValue(std::string(70000, 'x')))), "");
}

TEST(PickleBounds, AStringClaimingMoreThanTheRecordIsFound) {
  std::vector<char> pickle = raw_pickle(c10::IValue(std::string("pneumoscan_metadata")));
  const size_t at = find(pickle, "pneumoscan_metadata");
  ASSERT_EQ(pickle[at - 5], 'X');  // BINUNICODE, then a 4-byte length
  put_u32(&pickle[at - 4], 0xffffffffu);
  EXPECT_NE(problem_of(pickle).find("claims 4294967295 bytes"), std::string::npos) << problem_of(pickle);
}

TEST(PickleBounds, MemoSlotsOutOfOrderCutShortAndUnknownOpcodesAreFound) {
  // PROTO 2, EMPTY_DICT, LONG_BINPUT 1000000000, STOP: LibTorch's reader
  // would reserve room for two billion values.
  const std::vector<char> far_slot = {'\x80', '\x02', '}', 'r', '\x00', '\xca', '\x9a', '\x3b', '.'};
  EXPECT_NE(problem_of(far_slot).find("memo slot 1000000000"), std::string::npos) << problem_of(far_slot);
  const std::vector<char> in_order = {'\x80', '\x02', '}', 'r', '\x00', '\x00', '\x00', '\x00', '.'};
  EXPECT_EQ(problem_of(in_order), "");
  EXPECT_NE(problem_of({'\x80', '\x02', '}'}).find("no STOP"), std::string::npos);
  EXPECT_NE(problem_of({'\x80', '\x02', 'X', '\x01'}).find("cut short"), std::string::npos);
  EXPECT_NE(problem_of({'\x80', '\x02', '\xff', '.'}).find("unknown pickle opcode 255"), std::string::npos);
}

// LibTorch's unpickler pops without looking: a mutated torch.save file whose
// pickle popped an empty stack made it read address -24 (fuzz/fuzz_state_dict).
TEST(PickleBounds, OpcodesTakingValuesTheStackDoesNotHoldAreFound) {
  auto expect = [](const std::vector<char>& pickle, const std::string& words) {
    EXPECT_NE(problem_of(pickle).find(words), std::string::npos) << problem_of(pickle);
  };
  expect({'\x80', '\x02', 'R', '.'}, "takes more values than the stack holds");  // REDUCE on nothing
  expect({'\x80', '\x02', 'N', '(', '0', '.'},
         "takes more values than the stack holds");                        // POP across a mark
  expect({'\x80', '\x02', 'N', 't', '.'}, "needs a mark");                 // TUPLE without MARK
  expect({'\x80', '\x02', '}', '(', 'N', 'u', '.'}, "without its value");  // SETITEMS, odd
  expect({'\x80', '\x02', '(', 'N', 'e', '.'}, "not there");               // APPENDS onto nothing
  EXPECT_EQ(problem_of({'\x80', '\x02', '}', '(', 'N', 'N', 'u', '.'}), "");
}
