#include "src/passes/prune/mask.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace edgeopt {
namespace prune {
namespace {

// TFMOT's threshold rule on `scores`: keep the k largest, k = max(round(n (1 - s)), 1); every
// score >= the k-th largest is kept.
std::vector<uint8_t> KeepLargest(const std::vector<float>& scores, double sparsity) {
  const int64_t n = static_cast<int64_t>(scores.size());
  std::vector<uint8_t> keep(scores.size(), 1);
  if (n == 0) return keep;
  const int64_t k =
      std::max<int64_t>(std::llround(static_cast<double>(n) * (1.0 - sparsity)), int64_t{1});
  if (k >= n) return keep;
  std::vector<float> sorted = scores;
  std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end(), std::greater<float>());
  const float threshold = sorted[static_cast<size_t>(k - 1)];
  for (int64_t i = 0; i < n; ++i) keep[i] = scores[i] >= threshold ? 1 : 0;
  return keep;
}

bool ParsePositive(const std::string& s, int* out) {
  if (s.empty() || s.size() > 6) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  *out = std::atoi(s.c_str());
  return *out > 0;
}

}  // namespace

double Granularity::ImpliedSparsity() const {
  return kind == Kind::kNM ? 1.0 - static_cast<double>(n) / m : -1.0;
}

std::string Granularity::ToString() const {
  switch (kind) {
    case Kind::kUnstructured:
      return "unstructured";
    case Kind::kBlock:
      return "block:" + std::to_string(block_rows) + "x" + std::to_string(block_cols);
    case Kind::kNM:
      return std::to_string(n) + ":" + std::to_string(m);
    case Kind::kChannel:
      return "channel";
  }
  return "?";
}

StatusOr<Granularity> ParseStructure(const std::string& text) {
  Granularity g;
  if (text == "unstructured" || text.empty()) return g;
  if (text == "channel" || text == "filter") {
    g.kind = Granularity::Kind::kChannel;
    return g;
  }
  if (text.rfind("block:", 0) == 0) {
    const std::string spec = text.substr(6);
    const size_t x = spec.find('x');
    if (x != std::string::npos && ParsePositive(spec.substr(0, x), &g.block_rows) &&
        ParsePositive(spec.substr(x + 1), &g.block_cols) && g.block_rows * g.block_cols > 1 &&
        g.block_rows <= 256 && g.block_cols <= 256) {
      g.kind = Granularity::Kind::kBlock;
      return g;
    }
    return MakeStatus(StatusCode::kInvalidArgument,
                      "bad block structure '%s' (expected block:RxC, e.g. block:1x4, with R*C > 1 "
                      "and R, C <= 256)",
                      text.c_str());
  }
  const size_t colon = text.find(':');
  if (colon != std::string::npos) {
    if (ParsePositive(text.substr(0, colon), &g.n) && ParsePositive(text.substr(colon + 1), &g.m) &&
        g.n < g.m && g.m <= 64) {
      g.kind = Granularity::Kind::kNM;
      return g;
    }
    return MakeStatus(StatusCode::kInvalidArgument,
                      "bad N:M structure '%s' (expected N < M <= 64, e.g. 2:4)", text.c_str());
  }
  return MakeStatus(StatusCode::kInvalidArgument,
                    "unknown structure '%s' (expected unstructured, block:RxC, N:M or channel)",
                    text.c_str());
}

Status ComputeMask(const float* w, int64_t rows, int64_t cols, const Granularity& g,
                   double sparsity, std::vector<float>* mask) {
  EDGEOPT_ENSURE(rows > 0 && cols > 0, StatusCode::kInvalidArgument, "empty weight");
  const int64_t n = rows * cols;
  mask->assign(static_cast<size_t>(n), 1.0f);
  switch (g.kind) {
    case Granularity::Kind::kUnstructured: {
      std::vector<float> scores(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) scores[i] = std::fabs(w[i]);
      const std::vector<uint8_t> keep = KeepLargest(scores, sparsity);
      for (int64_t i = 0; i < n; ++i) (*mask)[i] = keep[i];
      return Status::Ok();
    }
    case Granularity::Kind::kBlock: {
      const int64_t br = g.block_rows, bc = g.block_cols;
      const int64_t nr = (rows + br - 1) / br, nc = (cols + bc - 1) / bc;
      std::vector<float> pooled(static_cast<size_t>(nr * nc));
      for (int64_t i = 0; i < nr; ++i) {
        for (int64_t j = 0; j < nc; ++j) {
          double sum = 0.0;
          int64_t count = 0;
          for (int64_t r = i * br; r < std::min(rows, (i + 1) * br); ++r) {
            for (int64_t c = j * bc; c < std::min(cols, (j + 1) * bc); ++c) {
              sum += std::fabs(w[r * cols + c]);
              ++count;
            }
          }
          pooled[i * nc + j] = static_cast<float>(sum / static_cast<double>(count));
        }
      }
      const std::vector<uint8_t> keep = KeepLargest(pooled, sparsity);
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) (*mask)[r * cols + c] = keep[(r / br) * nc + c / bc];
      }
      return Status::Ok();
    }
    case Granularity::Kind::kNM: {
      EDGEOPT_ENSURE(cols % g.m == 0, StatusCode::kInvalidArgument,
                     "%lld input values per output channel are not a multiple of %d",
                     static_cast<long long>(cols), g.m);
      std::vector<int> order(static_cast<size_t>(g.m));
      for (int64_t base = 0; base < n; base += g.m) {
        for (int i = 0; i < g.m; ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
          return std::fabs(w[base + a]) > std::fabs(w[base + b]);
        });
        for (int i = g.n; i < g.m; ++i) (*mask)[base + order[i]] = 0.0f;
      }
      return Status::Ok();
    }
    case Granularity::Kind::kChannel:
      return MakeStatus(StatusCode::kInternal, "channel pruning has no mask");
  }
  return Status::Ok();
}

double ZeroFraction(const float* w, int64_t n) {
  if (n <= 0) return 0.0;
  int64_t zeros = 0;
  for (int64_t i = 0; i < n; ++i) zeros += w[i] == 0.0f;
  return static_cast<double>(zeros) / static_cast<double>(n);
}

}  // namespace prune
}  // namespace edgeopt
