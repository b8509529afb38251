#include "core/pickle_bounds.h"

#include <cstring>
#include <string>
#include <vector>

namespace pneumoscan {
namespace {

// ---- pickle -----------------------------------------------------------------

// How an opcode's argument is laid out (Python's pickletools names them).
enum class Arg {
  kNone,
  kFixed,     // `width` bytes
  kCounted,   // a `width`-byte little-endian length, then that many bytes
  kLine,      // text up to a newline
  kTwoLines,  // GLOBAL and INST: module and name, each up to a newline
  kMemoPut,   // LONG_BINPUT: a 4-byte memo slot
};

struct Opcode {
  Arg arg = Arg::kNone;
  int width = 0;
  bool known = false;
};

// Every opcode of pickle protocols 0-5.
const Opcode* opcode_table() {
  static const auto table = [] {
    static Opcode t[256];
    auto set = [](const char* codes, Arg arg, int width) {
      for (const char* c = codes; *c; ++c) t[static_cast<unsigned char>(*c)] = {arg, width, true};
    };
    // No argument: MARK STOP POP POP_MARK DUP NONE BINPERSID REDUCE APPEND BUILD
    // DICT EMPTY_DICT APPENDS LIST EMPTY_LIST OBJ SETITEM TUPLE EMPTY_TUPLE
    // SETITEMS, then NEWOBJ TUPLE1-3 NEWTRUE NEWFALSE EMPTY_SET ADDITEMS
    // FROZENSET NEWOBJ_EX STACK_GLOBAL MEMOIZE NEXT_BUFFER READONLY_BUFFER.
    set("(.012NQRabd}el]ostu)", Arg::kNone, 0);
    set("\x81\x85\x86\x87\x88\x89\x8f\x90\x91\x92\x93\x94\x97\x98", Arg::kNone, 0);
    set("Khq\x80\x82", Arg::kFixed, 1);     // BININT1 BINGET BINPUT PROTO EXT1
    set("M\x83", Arg::kFixed, 2);           // BININT2 EXT2
    set("Jj\x84", Arg::kFixed, 4);          // BININT LONG_BINGET EXT4
    set("G\x95", Arg::kFixed, 8);           // BINFLOAT FRAME
    set("UC\x8c\x8a", Arg::kCounted, 1);    // SHORT_BINSTRING SHORT_BINBYTES SHORT_BINUNICODE LONG1
    set("TXB\x8b", Arg::kCounted, 4);       // BINSTRING BINUNICODE BINBYTES LONG4
    set("\x8d\x8e\x96", Arg::kCounted, 8);  // BINUNICODE8 BINBYTES8 BYTEARRAY8
    set("ILFSVPgp", Arg::kLine, 0);         // INT LONG FLOAT STRING UNICODE PERSID GET PUT
    set("ci", Arg::kTwoLines, 0);           // GLOBAL INST
    t[static_cast<unsigned char>('r')] = {Arg::kMemoPut, 4, true};  // LONG_BINPUT
    return t;
  }();
  return table;
}

// The pickle machine's stack as far as its depth goes: LibTorch's unpickler
// pops without looking (a mutated torch.save file whose pickle popped an
// empty stack made it read address -24: SIGSEGV), so every opcode's stack
// effect is checked here the way Python's pickletools states it, marks too.
class StackDepth {
 public:
  // "" when `code` can run on the stack as it is; else the problem.
  std::string apply(unsigned char code) {
    switch (code) {
      case '(':
        marks_.push_back(depth_);
        return "";
      case '.':
        return pop(1);  // STOP: the result
      case '0':
        return pop(1);  // POP
      case '1':
        return to_mark(0, 0);  // POP_MARK
      case '2':
        return pop_push(1, 2);  // DUP
      case 'Q':
      case 'q':
      case 'r':
      case 'p':
      case 0x94:
      case 0x98:  // BINPERSID, puts, READONLY_BUFFER
        return pop_push(1, 1);
      case 'R':
      case 'b':
      case 0x81:
      case 0x93:
        return pop_push(2, 1);  // REDUCE BUILD NEWOBJ STACK_GLOBAL
      case 0x92:
        return pop_push(3, 1);  // NEWOBJ_EX
      case 'a':
        return pop_push(2, 1);  // APPEND
      case 's':
        return pop_push(3, 1);  // SETITEM
      case 0x85:
        return pop_push(1, 1);  // TUPLE1
      case 0x86:
        return pop_push(2, 1);  // TUPLE2
      case 0x87:
        return pop_push(3, 1);  // TUPLE3
      case 'd':
      case 'l':
      case 't':
      case 0x91:
      case 'i':
        return to_mark(0, 1);  // DICT LIST TUPLE FROZENSET INST
      case 'o':
        return to_mark(1, 1);  // OBJ: class and arguments
      case 'e':
      case 0x90:
        return onto_container(false);  // APPENDS ADDITEMS
      case 'u':
        return onto_container(true);  // SETITEMS
      case 0x80:
      case 0x95:
        return "";  // PROTO FRAME
      default:
        ++depth_;
        return "";  // every other opcode pushes one value
    }
  }

 private:
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }

  std::string pop(size_t n) {
    if (depth_ < floor() + n) return "an opcode takes more values than the stack holds";
    depth_ -= n;
    return "";
  }

  std::string pop_push(size_t n, size_t pushed) {
    std::string problem = pop(n);
    depth_ += pushed;
    return problem;
  }

  // Pops the values above the top mark (at least `at_least`) and the mark.
  std::string to_mark(size_t at_least, size_t pushed) {
    if (marks_.empty()) return "an opcode needs a mark there is none of";
    if (depth_ < marks_.back() + at_least) return "an opcode takes more values than the stack holds";
    depth_ = marks_.back() + pushed;
    marks_.pop_back();
    return "";
  }

  // APPENDS, ADDITEMS, SETITEMS: the values above the mark go into the
  // container just below it (key-value pairs for SETITEMS).
  std::string onto_container(bool pairs) {
    if (marks_.empty()) return "an opcode needs a mark there is none of";
    const size_t mark = marks_.back();
    if (mark < 1 || (marks_.size() > 1 && mark <= marks_[marks_.size() - 2]))
      return "an opcode adds to a container that is not there";
    if (pairs && (depth_ - mark) % 2 != 0) return "a dictionary item without its value";
    depth_ = mark;
    marks_.pop_back();
    return "";
  }

  size_t depth_ = 0;
  std::vector<size_t> marks_;
};

uint64_t little_endian(const unsigned char* p, int width) {
  uint64_t value = 0;
  for (int i = width - 1; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

}  // namespace

std::string pickle_bounds_problem(const unsigned char* data, size_t size) {
  const Opcode* table = opcode_table();
  uint64_t memo_slots = 0;  // LONG_BINPUT may name a slot up to this one (picklers number them in order)
  StackDepth stack;
  size_t at = 0;
  while (at < size) {
    const unsigned char code = data[at++];
    const Opcode& op = table[code];
    if (!op.known)
      return "unknown pickle opcode " + std::to_string(code) + " at byte " + std::to_string(at - 1);
    const std::string stack_problem = stack.apply(code);
    if (!stack_problem.empty()) return stack_problem + " (byte " + std::to_string(at - 1) + ")";
    const uint64_t remaining = size - at;
    switch (op.arg) {
      case Arg::kNone:
        if (code == '.') return "";
        if (code == 0x94) ++memo_slots;  // MEMOIZE
        break;
      case Arg::kFixed:
        if (remaining < static_cast<uint64_t>(op.width)) return "cut short";
        if (code == 'q') ++memo_slots;  // BINPUT: one byte, at most slot 255
        at += op.width;
        break;
      case Arg::kMemoPut: {
        if (remaining < 4) return "cut short";
        const uint64_t slot = little_endian(data + at, 4);
        if (slot > memo_slots)
          return "memo slot " + std::to_string(slot) + " named after only " + std::to_string(memo_slots);
        ++memo_slots;
        at += 4;
        break;
      }
      case Arg::kCounted: {
        if (remaining < static_cast<uint64_t>(op.width)) return "cut short";
        uint64_t length = little_endian(data + at, op.width);
        // BINSTRING and LONG4 lengths are signed.
        if ((code == 'T' || code == 0x8b) && length > 0x7fffffffu) return "a negative length";
        at += op.width;
        if (length > size - at)
          return "a value claims " + std::to_string(length) + " bytes, " + std::to_string(size - at) +
                 " remain";
        at += static_cast<size_t>(length);
        break;
      }
      case Arg::kLine:
      case Arg::kTwoLines: {
        for (int line = 0; line < (op.arg == Arg::kTwoLines ? 2 : 1); ++line) {
          const unsigned char* end =
              static_cast<const unsigned char*>(std::memchr(data + at, '\n', size - at));
          if (end == nullptr) return "cut short";
          at = static_cast<size_t>(end - data) + 1;
        }
        if (code == 'p') ++memo_slots;  // PUT
        break;
      }
    }
  }
  return "cut short (no STOP)";
}

}  // namespace pneumoscan
