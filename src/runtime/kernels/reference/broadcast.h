// Numpy-style broadcasting for binary elementwise ops: the output index space is walked in order,
// and each input is read through strides that are 0 on its broadcast dimensions. Adjacent
// dimensions with the same broadcast pattern are merged first, so the common cases (same shape,
// scalar, per-channel vector) become one or two flat loops.
#ifndef EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_BROADCAST_H_
#define EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_BROADCAST_H_

#include <cstdint>

#include "src/runtime/tensor.h"

namespace edgeopt {
namespace rt {
namespace ref {

struct BroadcastPlan {
  int rank = 0;                 // merged rank (>= 1)
  int64_t dims[kMaxDims] = {};  // merged output dims
  int64_t stride_a[kMaxDims] = {};
  int64_t stride_b[kMaxDims] = {};
  int64_t size = 0;  // output elements
};

// `out` must be the broadcast of `a` and `b` (BroadcastDims in kernel_util.h).
inline BroadcastPlan MakeBroadcastPlan(const Dims& a, const Dims& b, const Dims& out) {
  BroadcastPlan p;
  // Per output dim: size and whether a / b are broadcast (size 1 against a larger size).
  int64_t d[kMaxDims];
  bool ba[kMaxDims], bb[kMaxDims];
  int n = 0;
  p.size = 1;
  for (int i = 0; i < out.size; ++i) {
    const int ia = a.size - out.size + i;
    const int ib = b.size - out.size + i;
    const int64_t da = ia >= 0 ? a.data[ia] : 1;
    const int64_t db = ib >= 0 ? b.data[ib] : 1;
    const int64_t od = out.data[i];
    p.size *= od;
    if (od == 1) continue;  // size-1 output dims do not move any index
    const bool xa = da == 1, xb = db == 1;
    if (n > 0 && ba[n - 1] == xa && bb[n - 1] == xb) {
      d[n - 1] *= od;
    } else {
      d[n] = od;
      ba[n] = xa;
      bb[n] = xb;
      ++n;
    }
  }
  if (n == 0) {
    d[0] = 1;
    ba[0] = bb[0] = false;
    n = 1;
  }
  p.rank = n;
  int64_t ra = 1, rb = 1;
  for (int i = n - 1; i >= 0; --i) {
    p.dims[i] = d[i];
    p.stride_a[i] = ba[i] ? 0 : ra;
    p.stride_b[i] = bb[i] ? 0 : rb;
    if (!ba[i]) ra *= d[i];
    if (!bb[i]) rb *= d[i];
  }
  return p;
}

// out[k] = op(a[ia(k)], b[ib(k)]) over the output in row-major order.
template <typename TA, typename TB, typename TO, typename Op>
void BroadcastBinary(const BroadcastPlan& p, const TA* a, const TB* b, TO* out, Op op) {
  if (p.size == 0) return;
  const int last = p.rank - 1;
  const int64_t inner = p.dims[last];
  const int64_t sa = p.stride_a[last], sb = p.stride_b[last];
  const int64_t rows = p.size / inner;
  int64_t index[kMaxDims] = {};
  int64_t oa = 0, ob = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const TA* pa = a + oa;
    const TB* pb = b + ob;
    TO* po = out + r * inner;
    if (sa == 1 && sb == 1) {
      for (int64_t i = 0; i < inner; ++i) po[i] = op(pa[i], pb[i]);
    } else if (sa == 0 && sb == 1) {
      const TA va = pa[0];
      for (int64_t i = 0; i < inner; ++i) po[i] = op(va, pb[i]);
    } else if (sa == 1 && sb == 0) {
      const TB vb = pb[0];
      for (int64_t i = 0; i < inner; ++i) po[i] = op(pa[i], vb);
    } else {
      for (int64_t i = 0; i < inner; ++i) po[i] = op(pa[i * sa], pb[i * sb]);
    }
    // Advance the outer index (dims [0, last)).
    for (int dim = last - 1; dim >= 0; --dim) {
      ++index[dim];
      oa += p.stride_a[dim];
      ob += p.stride_b[dim];
      if (index[dim] < p.dims[dim]) break;
      oa -= p.stride_a[dim] * p.dims[dim];
      ob -= p.stride_b[dim] * p.dims[dim];
      index[dim] = 0;
    }
  }
}

// Element strides of `in` over the index space of `out` (0 on broadcast dimensions).
inline void BroadcastStrides(const Dims& in, const Dims& out, int64_t* strides) {
  int64_t s = 1;
  for (int i = out.size - 1; i >= 0; --i) {
    const int ii = in.size - out.size + i;
    const int64_t d = ii >= 0 ? in.data[ii] : 1;
    strides[i] = d == 1 ? 0 : s;
    s *= d;
  }
}

// out[k] = op(a[ia(k)], b[ib(k)], c[ic(k)]) with numpy broadcasting of three inputs.
template <typename TA, typename TB, typename TC, typename TO, typename Op>
void BroadcastTernary(const Dims& da, const TA* a, const Dims& db, const TB* b, const Dims& dc,
                      const TC* c, const Dims& dout, TO* out, Op op) {
  const int64_t n = dout.NumElements();
  if (n == 0) return;
  int64_t sa[kMaxDims], sb[kMaxDims], sc[kMaxDims];
  BroadcastStrides(da, dout, sa);
  BroadcastStrides(db, dout, sb);
  BroadcastStrides(dc, dout, sc);
  int64_t index[kMaxDims] = {};
  int64_t oa = 0, ob = 0, oc = 0;
  for (int64_t k = 0; k < n; ++k) {
    out[k] = op(a[oa], b[ob], c[oc]);
    for (int d = dout.size - 1; d >= 0; --d) {
      ++index[d];
      oa += sa[d];
      ob += sb[d];
      oc += sc[d];
      if (index[d] < dout.data[d]) break;
      oa -= sa[d] * dout.data[d];
      ob -= sb[d] * dout.data[d];
      oc -= sc[d] * dout.data[d];
      index[d] = 0;
    }
  }
}

}  // namespace ref
}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_KERNELS_REFERENCE_BROADCAST_H_
