// The x86 VNNI int8 IGEMM microkernels (AVX-512 VNNI, AVX-VNNI) called directly against scalar
// models of the reference arithmetic (igemm_test_util.h): every row count up to MR, channel
// counts around the block, sentinels around the tile. The interpreter-level tests
// (optimized_conv_test.cc) run the same kernels through CONV_2D and FULLY_CONNECTED.
#include <gtest/gtest.h>

#include "src/runtime/cpu_info.h"
#include "src/runtime/kernels/ukernels/igemm_test_util.h"
#if defined(EDGEOPT_HAVE_AVX512)
#include "src/runtime/kernels/ukernels/avx512/avx512_ukernels.h"
#endif
#if defined(EDGEOPT_HAVE_AVXVNNI)
#include "src/runtime/kernels/ukernels/avx2/avx2_ukernels.h"
#endif

namespace edgeopt {
namespace rt {
namespace uk {
namespace {

using testing::CheckQD8IGemm;
using testing::CheckQS8IGemm;

#if defined(EDGEOPT_HAVE_AVX512)
TEST(X86IGemm, Avx512Vnni) {
  const CpuInfo& cpu = GetCpuInfo();
  if (!cpu.UseAvx512() || !cpu.avx512vnni) GTEST_SKIP() << "no AVX-512 VNNI";
  CheckQS8IGemm(avx512::qs8_igemm_minmax_ukernel_16x16c4__avx512vnni, 16, 1);
  CheckQS8IGemm(avx512::qs8_igemm_minmax_ukernel_1x16c4__avx512vnni, 1, 2);
  CheckQD8IGemm(avx512::qd8_f32_igemm_minmax_ukernel_16x16c4__avx512vnni, 16, 3);
  CheckQD8IGemm(avx512::qd8_f32_igemm_minmax_ukernel_1x16c4__avx512vnni, 1, 4);
}

// Two rows per vector, at most 8 channels: odd row counts must not write the row after the
// tile.
TEST(X86IGemm, Avx512VnniPairedRows) {
  const CpuInfo& cpu = GetCpuInfo();
  if (!cpu.UseAvx512() || !cpu.avx512vnni) GTEST_SKIP() << "no AVX-512 VNNI";
  CheckQS8IGemm(avx512::qs8_igemm_minmax_ukernel_16x8c4__avx512vnni, 16, 5, /*max_nc=*/8);
}
#endif

#if defined(EDGEOPT_HAVE_AVXVNNI)
TEST(X86IGemm, AvxVnni) {
  if (!GetCpuInfo().avxvnni) GTEST_SKIP() << "no AVX-VNNI";
  CheckQS8IGemm(avx2::qs8_igemm_minmax_ukernel_6x16c4__avxvnni, 6, 7);
  CheckQS8IGemm(avx2::qs8_igemm_minmax_ukernel_1x16c4__avxvnni, 1, 8);
  CheckQD8IGemm(avx2::qd8_f32_igemm_minmax_ukernel_6x16c4__avxvnni, 6, 9);
  CheckQD8IGemm(avx2::qd8_f32_igemm_minmax_ukernel_1x16c4__avxvnni, 1, 10);
}
#endif

}  // namespace
}  // namespace uk
}  // namespace rt
}  // namespace edgeopt
