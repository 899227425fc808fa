#include "src/passes/lowrank/svd.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace edgeopt {
namespace lowrank {
namespace {

constexpr int kMaxSweeps = 60;
constexpr double kTolerance = 1e-15;

// Four running sums (which the compiler keeps in vector registers), added at the end.
double Dot(const double* x, const double* y, int n) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += x[i] * y[i];
    s1 += x[i + 1] * y[i + 1];
    s2 += x[i + 2] * y[i + 2];
    s3 += x[i + 3] * y[i + 3];
  }
  for (; i < n; ++i) s0 += x[i] * y[i];
  return (s0 + s1) + (s2 + s3);
}

// x, y <- c x - s y, s x + c y.
void Rotate(double* x, double* y, int n, double c, double s) {
  for (int i = 0; i < n; ++i) {
    const double a = x[i], b = y[i];
    x[i] = c * a - s * b;
    y[i] = s * a + c * b;
  }
}

}  // namespace

Svd ComputeSvd(const float* a, int rows, int cols) {
  Svd out;
  out.rows = rows;
  out.cols = cols;
  // B (m x n, m >= n) = A or A^T, held as n columns of length m; V (n x n) as n columns.
  const bool transposed = cols > rows;
  const int m = transposed ? cols : rows;
  const int n = transposed ? rows : cols;
  out.k = n;
  std::vector<double> b(static_cast<size_t>(m) * n), v(static_cast<size_t>(n) * n, 0.0);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      const double x = a[static_cast<size_t>(r) * cols + c];
      if (transposed) {
        b[static_cast<size_t>(r) * m + c] = x;  // column r of B = row r of A
      } else {
        b[static_cast<size_t>(c) * m + r] = x;
      }
    }
  }
  for (int j = 0; j < n; ++j) v[static_cast<size_t>(j) * n + j] = 1.0;

  std::vector<double> norm2(static_cast<size_t>(n));
  for (int sweep = 0; sweep < kMaxSweeps; ++sweep) {
    out.sweeps = sweep + 1;
    for (int j = 0; j < n; ++j) {
      const double* col = &b[static_cast<size_t>(j) * m];
      norm2[j] = Dot(col, col, m);
    }
    bool rotated = false;
    for (int p = 0; p + 1 < n; ++p) {
      double* bp = &b[static_cast<size_t>(p) * m];
      for (int q = p + 1; q < n; ++q) {
        double* bq = &b[static_cast<size_t>(q) * m];
        const double gamma = Dot(bp, bq, m);
        const double alpha = norm2[p], beta = norm2[q];
        if (gamma == 0.0 || std::fabs(gamma) <= kTolerance * std::sqrt(alpha * beta)) continue;
        rotated = true;
        // The rotation that zeroes the (p, q) entry of B^T B.
        const double zeta = (beta - alpha) / (2.0 * gamma);
        const double t =
            (zeta >= 0.0 ? 1.0 : -1.0) / (std::fabs(zeta) + std::sqrt(1.0 + zeta * zeta));
        const double c = 1.0 / std::sqrt(1.0 + t * t);
        const double s = c * t;
        Rotate(bp, bq, m, c, s);
        Rotate(&v[static_cast<size_t>(p) * n], &v[static_cast<size_t>(q) * n], n, c, s);
        norm2[p] = alpha - t * gamma;
        norm2[q] = beta + t * gamma;
      }
    }
    if (!rotated) break;
  }

  // Singular values in decreasing order, with their vectors.
  std::vector<double> sigma(static_cast<size_t>(n));
  for (int j = 0; j < n; ++j) {
    const double* col = &b[static_cast<size_t>(j) * m];
    sigma[j] = std::sqrt(Dot(col, col, m));
  }
  std::vector<int> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return sigma[x] > sigma[y]; });

  // Left vectors of B (length m) and right vectors of B (length n), in order.
  std::vector<double> left(static_cast<size_t>(n) * m, 0.0), right(static_cast<size_t>(n) * n);
  out.s.resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const int j = order[i];
    out.s[i] = sigma[j];
    const double* col = &b[static_cast<size_t>(j) * m];
    if (sigma[j] > 0.0) {
      for (int r = 0; r < m; ++r) left[static_cast<size_t>(i) * m + r] = col[r] / sigma[j];
      std::copy_n(&v[static_cast<size_t>(j) * n], n, &right[static_cast<size_t>(i) * n]);
    } else {
      std::fill_n(&right[static_cast<size_t>(i) * n], n, 0.0);
    }
  }
  // A = B (U = left, V = right) or A = B^T (U = right, V = left); U is rows x k, Vt k x cols.
  const std::vector<double>& u_cols = transposed ? right : left;  // k vectors of length rows
  const std::vector<double>& v_cols = transposed ? left : right;  // k vectors of length cols
  out.u.resize(static_cast<size_t>(rows) * n);
  for (int i = 0; i < n; ++i) {
    for (int r = 0; r < rows; ++r) {
      out.u[static_cast<size_t>(r) * n + i] = u_cols[static_cast<size_t>(i) * rows + r];
    }
  }
  out.vt.assign(v_cols.begin(), v_cols.begin() + static_cast<size_t>(n) * cols);
  return out;
}

}  // namespace lowrank
}  // namespace edgeopt
