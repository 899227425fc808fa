#include "src/passes/prune/sparse_encode.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <numeric>

namespace edgeopt {
namespace prune {
namespace {

// The level structure of a layout: for each level, the expanded dimension it walks and its size.
struct Levels {
  int rank = 0;
  std::vector<int32_t> order;       // expanded dimension per level
  std::vector<int32_t> block_map;   // original dimension per block dimension
  std::vector<int32_t> block_size;  // per block dimension
  std::vector<int64_t> size;        // per level
  std::vector<int32_t> shape;       // original shape

  Status Init(const std::vector<int32_t>& shape_in, const std::vector<int32_t>& traversal,
              const std::vector<int32_t>& bmap, const std::vector<int32_t>& bsize) {
    shape = shape_in;
    rank = static_cast<int>(shape.size());
    order = traversal;
    block_map = bmap;
    block_size = bsize;
    const int levels = rank + static_cast<int>(block_map.size());
    EDGEOPT_ENSURE(
        static_cast<int>(order.size()) == levels && block_size.size() == block_map.size(),
        StatusCode::kInvalidArgument, "sparse layout: %zu levels for rank %d + %zu blocks",
        order.size(), rank, block_map.size());
    std::vector<int64_t> blocked(static_cast<size_t>(rank), 1);
    for (size_t j = 0; j < block_map.size(); ++j) {
      EDGEOPT_ENSURE(block_map[j] >= 0 && block_map[j] < rank && block_size[j] > 0,
                     StatusCode::kInvalidArgument, "sparse layout: bad block %zu", j);
      blocked[block_map[j]] *= block_size[j];
    }
    for (int d = 0; d < rank; ++d) {
      EDGEOPT_ENSURE(shape[d] % blocked[d] == 0, StatusCode::kInvalidArgument,
                     "sparse layout: dimension %d (%d) is not a multiple of its block %lld", d,
                     shape[d], static_cast<long long>(blocked[d]));
    }
    std::vector<bool> seen(static_cast<size_t>(levels), false);
    size.clear();
    for (int l = 0; l < levels; ++l) {
      const int d = order[l];
      EDGEOPT_ENSURE(d >= 0 && d < levels && !seen[d], StatusCode::kInvalidArgument,
                     "sparse layout: traversal order is not a permutation");
      seen[d] = true;
      size.push_back(d < rank ? shape[d] / blocked[d] : block_size[d - rank]);
    }
    return Status::Ok();
  }

  int levels() const { return static_cast<int>(order.size()); }

  // Flat dense index of the element at per-level coordinates.
  int64_t Flat(const std::vector<int64_t>& coord) const {
    std::vector<int64_t> index(static_cast<size_t>(rank), 0);
    // Outer coordinates first, then each block coordinate refines its dimension.
    for (int l = 0; l < levels(); ++l) {
      if (order[l] < rank) index[order[l]] = coord[l];
    }
    for (size_t j = 0; j < block_map.size(); ++j) {
      int l = 0;
      while (order[l] != rank + static_cast<int>(j)) ++l;
      index[block_map[j]] = index[block_map[j]] * block_size[j] + coord[l];
    }
    int64_t flat = 0;
    for (int d = 0; d < rank; ++d) flat = flat * shape[d] + index[d];
    return flat;
  }
};

// A zero element: all bytes zero, or a float -0.0 (what masking a negative weight gives; the
// sign bit is the top bit of the last byte, little-endian).
bool IsZero(const uint8_t* p, size_t elem, bool is_float) {
  for (size_t i = 0; i < elem; ++i) {
    const uint8_t mask = is_float && i + 1 == elem ? 0x7f : 0xff;
    if ((p[i] & mask) != 0) return false;
  }
  return true;
}

class Encoder {
 public:
  Encoder(const Levels& lv, const std::vector<bool>& csr, const std::vector<uint8_t>& dense,
          size_t elem, bool is_float)
      : segments_(lv.levels()),
        indices_(lv.levels()),
        lv_(lv),
        csr_(csr),
        dense_(dense),
        elem_(elem),
        is_float_(is_float),
        coord_(lv.levels(), 0) {
    for (int l = 0; l < lv.levels(); ++l) {
      if (csr_[l]) segments_[l].push_back(0);
    }
  }

  void Walk(int level) {
    if (level == lv_.levels()) {
      const size_t at = static_cast<size_t>(lv_.Flat(coord_)) * elem_;
      values_.insert(values_.end(), dense_.begin() + at, dense_.begin() + at + elem_);
      return;
    }
    for (int64_t i = 0; i < lv_.size[level]; ++i) {
      coord_[level] = i;
      if (csr_[level]) {
        if (!AnyNonZero(level + 1)) continue;
        indices_[level].push_back(static_cast<int32_t>(i));
      }
      Walk(level + 1);
    }
    if (csr_[level]) segments_[level].push_back(static_cast<int32_t>(indices_[level].size()));
  }

  std::vector<uint8_t> values_;
  std::vector<std::vector<int32_t>> segments_, indices_;

 private:
  bool AnyNonZero(int level) {
    if (level == lv_.levels()) {
      return !IsZero(dense_.data() + static_cast<size_t>(lv_.Flat(coord_)) * elem_, elem_,
                     is_float_);
    }
    for (int64_t i = 0; i < lv_.size[level]; ++i) {
      coord_[level] = i;
      if (AnyNonZero(level + 1)) return true;
    }
    return false;
  }

  const Levels& lv_;
  const std::vector<bool>& csr_;
  const std::vector<uint8_t>& dense_;
  size_t elem_;
  bool is_float_;
  std::vector<int64_t> coord_;
};

int64_t IndexBytes(const std::vector<int32_t>& v) {
  int32_t max = 0;
  for (int32_t x : v) max = std::max(max, x);
  const int64_t width = max <= 0xff ? 1 : (max <= 0xffff ? 2 : 4);
  return width * static_cast<int64_t>(v.size());
}

std::vector<uint8_t> DenseBytes(const ir::Tensor& t) { return t.data; }

struct Candidate {
  ir::Tensor tensor;  // encoded
  std::string layout;
  bool densify = false;
  int64_t bytes = 0;
};

// The fully dense-but-one-CSR-level layouts (CSR dimension last in traversal order).
std::vector<Candidate> DensifyCandidates(const ir::Tensor& t) {
  std::vector<Candidate> out;
  const int rank = static_cast<int>(t.shape.size());
  for (int d = 0; d < rank; ++d) {
    if (t.shape[d] <= 1) continue;
    std::vector<int32_t> order;
    for (int k = 0; k < rank; ++k) {
      if (k != d) order.push_back(k);
    }
    order.push_back(d);
    std::vector<bool> formats(static_cast<size_t>(rank), false);
    formats.back() = true;
    Candidate c;
    c.tensor = t;
    if (!EncodeTensor(&c.tensor, t.data, order, {}, {}, formats).ok()) continue;
    c.layout = "densify csr(dim " + std::to_string(d) + ")";
    c.densify = true;
    c.bytes = SparseBytes(c.tensor);
    out.push_back(std::move(c));
  }
  // 1xB blocks along the last dimension (block-pruned weights): DENSE outer dimensions, CSR
  // over the blocks, DENSE B.
  for (int32_t block : {4, 16}) {
    if (rank < 1 || t.shape.back() % block != 0 || t.shape.back() == block) continue;
    std::vector<int32_t> order;
    for (int k = 0; k <= rank; ++k) order.push_back(k);
    std::vector<bool> formats(static_cast<size_t>(rank) + 1, false);
    formats[rank - 1] = true;
    Candidate c;
    c.tensor = t;
    if (!EncodeTensor(&c.tensor, t.data, order, {rank - 1}, {block}, formats).ok()) continue;
    c.layout = "densify block 1x" + std::to_string(block);
    c.densify = true;
    c.bytes = SparseBytes(c.tensor);
    out.push_back(std::move(c));
  }
  return out;
}

bool NativeFcCandidate(const ir::Tensor& t, int block, Candidate* c) {
  if (t.shape.size() != 2) return false;
  c->tensor = t;
  Status s;
  if (block == 1) {
    s = EncodeTensor(&c->tensor, t.data, {0, 1}, {}, {}, {false, true});
    c->layout = "random";
  } else {
    if (t.shape[1] % block != 0) return false;
    s = EncodeTensor(&c->tensor, t.data, {0, 1, 2}, {1}, {block}, {false, true, false});
    c->layout = "block 1x" + std::to_string(block);
  }
  if (!s.ok()) return false;
  c->bytes = SparseBytes(c->tensor);
  return true;
}

}  // namespace

Status EncodeTensor(ir::Tensor* t, const std::vector<uint8_t>& dense,
                    const std::vector<int32_t>& traversal_order,
                    const std::vector<int32_t>& block_map, const std::vector<int32_t>& block_sizes,
                    const std::vector<bool>& formats) {
  const size_t elem = DTypeSize(t->dtype);
  EDGEOPT_ENSURE(elem > 0 && dense.size() == static_cast<size_t>(t->NumElements()) * elem,
                 StatusCode::kInvalidArgument, "%s: %zu bytes for %lld elements of %s",
                 t->name.c_str(), dense.size(), static_cast<long long>(t->NumElements()),
                 DTypeName(t->dtype));
  Levels lv;
  EDGEOPT_RETURN_IF_ERROR(lv.Init(t->shape, traversal_order, block_map, block_sizes));
  EDGEOPT_ENSURE(static_cast<int>(formats.size()) == lv.levels(), StatusCode::kInvalidArgument,
                 "sparse layout: %zu formats for %d levels", formats.size(), lv.levels());
  for (int l = 0; l < lv.levels(); ++l) {
    EDGEOPT_ENSURE(!formats[l] || lv.order[l] < lv.rank, StatusCode::kInvalidArgument,
                   "sparse layout: block dimensions are dense");
  }
  Encoder enc(lv, formats, dense, elem, t->dtype == DType::kFloat32 || t->dtype == DType::kFloat16);
  enc.Walk(0);
  ir::SparsityInfo sp;
  sp.traversal_order = traversal_order;
  sp.block_map = block_map;
  for (int l = 0; l < lv.levels(); ++l) {
    ir::SparsityInfo::DimMeta m;
    m.sparse = formats[l];
    m.dense_size = formats[l] ? 0 : static_cast<int32_t>(lv.size[l]);
    if (formats[l]) {
      m.segments = enc.segments_[l];
      m.indices = enc.indices_[l];
    }
    sp.dim_metadata.push_back(std::move(m));
  }
  t->sparsity = std::move(sp);
  t->has_sparsity = true;
  t->data = std::move(enc.values_);
  t->is_constant = true;
  return Status::Ok();
}

int64_t SparseBytes(const ir::Tensor& t) {
  int64_t bytes = static_cast<int64_t>(t.data.size());
  if (!t.has_sparsity) return bytes;
  for (const ir::SparsityInfo::DimMeta& m : t.sparsity.dim_metadata) {
    if (m.sparse) bytes += IndexBytes(m.segments) + IndexBytes(m.indices);
  }
  return bytes;
}

StatusOr<std::vector<uint8_t>> DecodeSparseTensor(const ir::Tensor& t) {
  if (!t.has_sparsity) return DenseBytes(t);
  const size_t elem = DTypeSize(t.dtype);
  EDGEOPT_ENSURE(elem > 0, StatusCode::kUnsupported, "%s: sparse %s", t.name.c_str(),
                 DTypeName(t.dtype));
  const ir::SparsityInfo& sp = t.sparsity;
  const int rank = static_cast<int>(t.shape.size());
  std::vector<int32_t> block_sizes;
  for (size_t j = 0; j < sp.block_map.size(); ++j) {
    // The block size is the dense size of the level that walks block dimension j.
    int32_t size = 0;
    for (size_t l = 0; l < sp.traversal_order.size() && l < sp.dim_metadata.size(); ++l) {
      if (sp.traversal_order[l] == rank + static_cast<int>(j)) size = sp.dim_metadata[l].dense_size;
    }
    block_sizes.push_back(size);
  }
  Levels lv;
  EDGEOPT_RETURN_IF_ERROR(lv.Init(t.shape, sp.traversal_order, sp.block_map, block_sizes));
  EDGEOPT_ENSURE(static_cast<int>(sp.dim_metadata.size()) == lv.levels(), StatusCode::kInvalidModel,
                 "%s: %zu dimension metadata for %d levels", t.name.c_str(), sp.dim_metadata.size(),
                 lv.levels());
  std::vector<uint8_t> dense(static_cast<size_t>(t.NumElements()) * elem, 0);
  std::vector<int64_t> coord(static_cast<size_t>(lv.levels()), 0);
  size_t consumed = 0;
  std::function<Status(int, int64_t)> walk = [&](int level, int64_t prev) -> Status {
    if (level == lv.levels()) {
      EDGEOPT_ENSURE((consumed + 1) * elem <= t.data.size(), StatusCode::kInvalidModel,
                     "%s: the metadata addresses more values than stored", t.name.c_str());
      std::memcpy(dense.data() + static_cast<size_t>(lv.Flat(coord)) * elem,
                  t.data.data() + consumed * elem, elem);
      ++consumed;
      return Status::Ok();
    }
    const ir::SparsityInfo::DimMeta& m = sp.dim_metadata[level];
    if (!m.sparse) {
      for (int64_t i = 0; i < lv.size[level]; ++i) {
        coord[level] = i;
        EDGEOPT_RETURN_IF_ERROR(walk(level + 1, prev * lv.size[level] + i));
      }
      return Status::Ok();
    }
    EDGEOPT_ENSURE(prev >= 0 && prev + 1 < static_cast<int64_t>(m.segments.size()),
                   StatusCode::kInvalidModel, "%s: too few segments at level %d", t.name.c_str(),
                   level);
    const int64_t b = m.segments[prev], e = m.segments[prev + 1];
    EDGEOPT_ENSURE(b >= 0 && b <= e && e <= static_cast<int64_t>(m.indices.size()),
                   StatusCode::kInvalidModel, "%s: bad segment at level %d", t.name.c_str(), level);
    for (int64_t k = b; k < e; ++k) {
      EDGEOPT_ENSURE(m.indices[k] >= 0 && m.indices[k] < lv.size[level], StatusCode::kInvalidModel,
                     "%s: index out of range at level %d", t.name.c_str(), level);
      coord[level] = m.indices[k];
      EDGEOPT_RETURN_IF_ERROR(walk(level + 1, k));
    }
    return Status::Ok();
  };
  EDGEOPT_RETURN_IF_ERROR(walk(0, 0));
  EDGEOPT_ENSURE(consumed * elem == t.data.size(), StatusCode::kInvalidModel,
                 "%s: %zu values stored, the metadata addresses %zu", t.name.c_str(),
                 t.data.size() / elem, consumed);
  return dense;
}

StatusOr<std::vector<EncodedWeight>> EncodeSparseWeights(ir::Graph* graph,
                                                         const SparseEncodeOptions& options) {
  std::vector<EncodedWeight> report;
  std::vector<ir::Node> densify_nodes;
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    const ir::Node node = graph->nodes[i];
    const bool fc = node.op == "FULLY_CONNECTED";
    if (!fc && node.op != "CONV_2D" && node.op != "DEPTHWISE_CONV_2D") continue;
    if (node.inputs.size() < 2 || node.inputs[1] < 0) continue;
    const int w = node.inputs[1];
    const ir::Tensor& t = graph->tensors[w];
    if (!t.is_constant || t.has_sparsity || t.data.empty()) continue;
    if (t.dtype != DType::kFloat32 && t.dtype != DType::kInt8) continue;
    if (graph->Consumers(w).size() != 1 || graph->IsGraphOutput(w)) continue;
    const int64_t dense_bytes = static_cast<int64_t>(t.data.size());
    // Quick reject: a weight with few zeros never gets smaller.
    const size_t elem = DTypeSize(t.dtype);
    int64_t zeros = 0;
    for (int64_t k = 0; k < t.NumElements(); ++k) {
      zeros += IsZero(t.data.data() + k * elem, elem, t.dtype == DType::kFloat32);
    }
    if (static_cast<double>(zeros) < 0.1 * static_cast<double>(t.NumElements())) continue;

    std::vector<Candidate> candidates;
    Candidate native;
    bool have_native = false;
    if (fc && t.dtype == DType::kFloat32) {
      for (int block : {1, 4}) {
        Candidate c;
        if (NativeFcCandidate(t, block, &c)) candidates.push_back(std::move(c));
      }
    } else {
      candidates = DensifyCandidates(t);
      const bool per_tensor_symmetric =
          t.quant.scale.size() == 1 && (t.quant.zero_point.empty() || t.quant.zero_point[0] == 0);
      if (fc && per_tensor_symmetric && options.int8_fc_blocks) {
        have_native = NativeFcCandidate(t, 16, &native);
      }
    }
    if (candidates.empty() && !have_native) continue;
    const Candidate* best = nullptr;
    for (const Candidate& c : candidates) {
      if (best == nullptr || c.bytes < best->bytes) best = &c;
    }
    if (have_native && (best == nullptr || static_cast<double>(native.bytes) <=
                                               1.15 * static_cast<double>(best->bytes))) {
      best = &native;
    }
    if (static_cast<double>(best->bytes) > options.max_ratio * static_cast<double>(dense_bytes)) {
      continue;
    }
    EncodedWeight e;
    e.tensor = t.name;
    e.op = node.op;
    e.layout = best->layout;
    e.dense_bytes = dense_bytes;
    e.sparse_bytes = best->bytes;
    e.densify = best->densify;
    report.push_back(e);
    if (!best->densify) {
      graph->tensors[w] = best->tensor;
      continue;
    }
    // A sparse constant and DENSIFY writing the dense weight the op reads.
    ir::Tensor sparse = best->tensor;
    sparse.name = t.name + "_sparse";
    sparse.origin.clear();
    ir::Tensor& dense = graph->tensors[w];
    dense.is_constant = false;
    dense.data.clear();
    const int sparse_id = graph->AddTensor(std::move(sparse));
    ir::Node densify;
    densify.op = "DENSIFY";
    densify.name = node.name;
    densify.inputs = {sparse_id};
    densify.outputs = {w};
    densify_nodes.push_back(std::move(densify));
  }
  // DENSIFY nodes read constants only: they go first, in weight order (as TFLite's converter
  // places them).
  graph->nodes.insert(graph->nodes.begin(), densify_nodes.begin(), densify_nodes.end());
  EDGEOPT_RETURN_IF_ERROR(graph->Validate());
  return report;
}

}  // namespace prune
}  // namespace edgeopt
