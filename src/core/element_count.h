// A shape's element count against a limit, for every reader of untrusted shapes (the .tflite
// loader and importer, .npy, IDX, RESHAPE's new shape): the product of the nonzero dimensions
// is checked before each multiply, so a product that wraps around 2^64 to 0 (2^30 x 64 x
// 2^28), or a zero dimension beside huge ones, cannot pass, and every partial product of an
// accepted shape, in any order, is at most the limit.
#ifndef EDGEOPT_SRC_CORE_ELEMENT_COUNT_H_
#define EDGEOPT_SRC_CORE_ELEMENT_COUNT_H_

#include <cstdint>

namespace edgeopt {

class ElementCount {
 public:
  explicit ElementCount(uint64_t limit) : limit_(limit) {}

  // Counts one dimension in; false (and no change) when the shape would pass the limit.
  bool Add(uint64_t dim) {
    if (dim != 0) {
      if (nonzero_ > limit_ / dim) return false;
      nonzero_ *= dim;
    }
    elements_ *= dim;
    return true;
  }
  uint64_t elements() const { return elements_; }

 private:
  uint64_t limit_;
  uint64_t elements_ = 1, nonzero_ = 1;
};

}  // namespace edgeopt

#endif  // EDGEOPT_SRC_CORE_ELEMENT_COUNT_H_
