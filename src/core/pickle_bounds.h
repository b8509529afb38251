#pragma once
// The pickle records of a LibTorch archive, walked before LibTorch's
// unpickler reads them (core/archive_bounds.h runs it on each): the unpickler
// trusts every length a pickle declares (it reserved a 4 GB string), reserves
// memo slots by the number named, and pops its stack without looking.
#include <cstddef>
#include <string>

namespace pneumoscan {

// "" when `data` is a walk of standard pickle opcodes (protocols 0-5) to a
// STOP in which no declared length runs past the end, no LONG_BINPUT memo
// slot is named ahead of the ones filled, and no opcode takes more values
// than the stack holds above its top mark (Python's pickletools' stack
// effects); else the problem in a few words ("a value claims 4294967295
// bytes, 23 remain").
std::string pickle_bounds_problem(const unsigned char* data, size_t size);

}  // namespace pneumoscan
