// Singular value decomposition of a small dense matrix (a layer's kernel: up to a few thousand
// rows and columns), for low-rank factorization.
//
// One-sided Jacobi (Hestenes): plane rotations orthogonalize the columns of A (of its
// transpose when it has more columns than rows) until every pair of columns is orthogonal to
// working precision; the column norms are then the singular values, the normalized columns the
// left singular vectors, and the accumulated rotations the right ones. It is accurate for small
// singular values too (relative accuracy, unlike the eigenvalues of A^T A) and needs no library.
// Arithmetic in double; deterministic.
#ifndef EDGEOPT_SRC_PASSES_LOWRANK_SVD_H_
#define EDGEOPT_SRC_PASSES_LOWRANK_SVD_H_

#include <vector>

namespace edgeopt {
namespace lowrank {

// A = U diag(s) Vt with k = min(rows, cols): U is rows x k, Vt is k x cols (row-major), s is
// sorted in decreasing order and non-negative. Singular vectors of zero singular values are
// zero vectors (they do not contribute to any truncation).
struct Svd {
  int rows = 0, cols = 0, k = 0;
  std::vector<double> u, s, vt;
  int sweeps = 0;  // Jacobi sweeps run
};

// `a`: rows x cols, row-major (rows, cols >= 1).
Svd ComputeSvd(const float* a, int rows, int cols);

}  // namespace lowrank
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_PASSES_LOWRANK_SVD_H_
